"""Sudo mode: factor changes, tokens, role changes and deletions need a fresh confirmation."""

import json
import time

import pytest
from django.urls import reverse

from bastion.accounts.services import create_user
from bastion.mfa import reauth
from bastion.packaging.models import Project, Role, RoleName
from bastion.tokens.models import APIToken
from tests.mfa.conftest import code_at

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def dora(db, enrol_totp):
    """A user with 2FA whose session did not prove a factor (e.g. a remembered device)."""
    user = create_user(username="dora", email="dora@example.com", password=PASSWORD, verified=True)
    user.totp_secret = enrol_totp(user)
    return user


@pytest.fixture
def dora_client(client, dora):
    client.force_login(dora)
    return client


def _create_token(client):
    return client.post(
        "/manage/account/tokens/",
        {"name": "ci", "scope": "", "expires_days": "30"},
        HTTP_REFERER="http://testserver/manage/account/tokens/",
    )


def test_creating_a_token_without_reauthentication_is_refused(dora_client, dora):
    response = _create_token(dora_client)
    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa:reauthenticate"))
    assert "next=%2Fmanage%2Faccount%2Ftokens%2F" in response.url
    assert not APIToken.objects.filter(user=dora).exists()
    page = dora_client.get(response.url).content.decode()
    assert "Confirm it&#x27;s you" in page and "lasts 15 minutes" in page


def test_password_and_code_confirm_then_the_action_works(dora_client, dora):
    url = reverse("mfa:reauthenticate")
    wrong = dora_client.post(url, {"password": "nope", "code": "000000", "next": "/x/"})
    assert wrong.status_code == 400 and b"password is not correct" in wrong.content
    no_code = dora_client.post(url, {"password": PASSWORD, "code": "", "next": "/x/"})
    assert no_code.status_code == 400
    code = code_at(dora.totp_secret, time.time() + 30)
    ok = dora_client.post(
        url, {"password": PASSWORD, "code": code, "next": "/manage/account/tokens/"}
    )
    assert ok.status_code == 302 and ok.url == "/manage/account/tokens/"
    response = _create_token(dora_client)
    assert response.status_code == 200
    assert APIToken.objects.filter(user=dora).count() == 1


def test_the_confirmation_lasts_15_minutes(dora_client, dora, monkeypatch):
    code = code_at(dora.totp_secret, time.time() + 30)
    dora_client.post(reverse("mfa:reauthenticate"), {"password": PASSWORD, "code": code})
    later = time.time() + 15 * 60 + 5
    monkeypatch.setattr(reauth.time, "time", lambda: later)
    assert _create_token(dora_client).url.startswith(reverse("mfa:reauthenticate"))


@pytest.mark.parametrize(
    "path", ["/manage/account/two-factor/totp/", "/manage/account/two-factor/webauthn/"]
)
def test_adding_a_factor_needs_reauthentication(dora_client, path):
    response = dora_client.get(path)
    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa:reauthenticate"))


def test_removing_a_factor_and_regenerating_codes_need_reauthentication(dora_client, dora):
    for path in (
        "/manage/account/two-factor/totp/remove",
        "/manage/account/two-factor/recovery-codes/",
    ):
        response = dora_client.post(path)
        assert response.url.startswith(reverse("mfa:reauthenticate"))
    assert dora.totp_device is not None
    assert dora.recovery_codes.filter(used_at__isnull=True).count() == 10


def test_removing_a_role_needs_reauthentication(dora_client, dora, make_user):
    project = Project.objects.create(name="demo", normalized_name="demo")
    Role.objects.create(user=dora, project=project, role_name=RoleName.OWNER)
    other = Role.objects.create(
        user=make_user("eve"), project=project, role_name=RoleName.MAINTAINER
    )
    response = dora_client.post(f"/manage/project/demo/roles/{other.pk}/remove/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa:reauthenticate"))
    assert Role.objects.filter(pk=other.pk).exists()


def test_signing_in_with_a_second_factor_counts_as_confirmation(client, dora):
    client.post(reverse("accounts:login"), {"username": "dora", "password": PASSWORD})
    client.post(reverse("mfa:two-factor"), {"code": code_at(dora.totp_secret, time.time() + 30)})
    assert _create_token(client).status_code == 200


def test_a_password_only_account_is_confirmed_by_its_sign_in(client, make_user):
    user = create_user(username="finn", email="finn@example.com", password=PASSWORD, verified=True)
    client.post(reverse("accounts:login"), {"username": "finn", "password": PASSWORD})
    assert _create_token(client).status_code == 200
    assert APIToken.objects.filter(user=user).count() == 1


def test_a_security_key_and_the_password_confirm_through_the_json_endpoints(
    client, enrol_key, authenticator
):
    user = create_user(username="gus", email="gus@example.com", password=PASSWORD, verified=True)
    enrol_key(user, "yubikey")
    client.force_login(user)
    assert _create_token(client).url.startswith(reverse("mfa:reauthenticate"))

    def confirm(password):
        options = client.post(reverse("mfa:reauth-webauthn-options")).json()
        body = {"credential": authenticator.get(options), "fields": {"password": password}}
        return client.post(
            reverse("mfa:reauth-webauthn-verify"), json.dumps(body), content_type="application/json"
        )

    wrong = confirm("not the password")
    assert wrong.status_code == 400 and "password is not correct" in wrong.json()["error"]
    assert confirm(PASSWORD).json() == {"redirect": reverse("mfa:manage")}
    assert _create_token(client).status_code == 200
