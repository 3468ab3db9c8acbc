"""The Django admin for operators: users, projects, tokens and the read-only security log."""

import json
import time

import pytest
from django.urls import reverse

from bastion import authz
from bastion.events.models import SecurityEvent
from bastion.mfa import reauth
from bastion.tokens.models import APIToken
from bastion.tokens.services import authenticate, create_token
from tests.mfa.conftest import code_at

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple 42"


def test_user_page_shows_emails_inline_and_events(admin_client, world):
    SecurityEvent.objects.create(
        tag="account:login:success", user=world.owner, ip_address="192.0.2.5"
    )
    page = admin_client.get(reverse("admin:accounts_user_change", args=[world.owner.pk]))
    content = page.content.decode()
    assert page.status_code == 200
    assert "olivia@example.com" in content and 'name="emails-0-verified"' in content
    assert "account:login:success" in content and "192.0.2.5" in content


def test_admin_verifies_an_email_inline(admin_client, world):
    email = world.stranger.emails.get()
    email.verified = False
    email.save()
    url = reverse("admin:accounts_user_change", args=[world.stranger.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update(
        {
            "username": "sam",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "is_active": "on",
            "emails-TOTAL_FORMS": "1",
            "emails-INITIAL_FORMS": "1",
            "emails-0-id": str(email.pk),
            "emails-0-user": str(world.stranger.pk),
            "emails-0-email": email.email,
            "emails-0-primary": "on",
            "emails-0-verified": "on",
            "security_events-TOTAL_FORMS": "0",
            "security_events-INITIAL_FORMS": "0",
        }
    )
    data.pop("password", None)
    data.pop("groups", None)
    data.pop("user_permissions", None)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    email.refresh_from_db()
    assert email.verified


def test_admin_disables_users(admin_client, world):
    url = reverse("admin:accounts_user_changelist")
    admin_client.post(url, {"action": "disable_users", "_selected_action": [world.stranger.pk]})
    world.stranger.refresh_from_db()
    assert not world.stranger.is_active


def test_project_page_shows_roles_status_and_2fa_setting(admin_client, world):
    content = admin_client.get(
        reverse("admin:packaging_project_change", args=[world.project.pk])
    ).content.decode()
    assert 'name="roles-0-role_name"' in content
    assert 'name="status"' in content and 'name="requires_two_factor"' in content


def test_token_admin_never_shows_the_digest_and_revokes(admin_client, world):
    minted = create_token(actor=authz.Actor(world.owner), name="ci")
    listing = admin_client.get(reverse("admin:tokens_apitoken_changelist")).content.decode()
    detail = admin_client.get(
        reverse("admin:tokens_apitoken_change", args=[minted.token.pk])
    ).content.decode()
    for page in (listing, detail):
        assert minted.token.digest not in page and minted.secret not in page
    assert admin_client.get(reverse("admin:tokens_apitoken_add")).status_code == 403
    admin_client.post(
        reverse("admin:tokens_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [minted.token.pk]},
    )
    assert authenticate(minted.secret) is None
    assert APIToken.objects.get().revoked is not None
    assert SecurityEvent.objects.filter(tag="token:revoke").exists()


def test_security_events_are_read_only(admin_client, world):
    event = SecurityEvent.objects.create(tag="token:use", user=world.owner)
    assert admin_client.get(reverse("admin:events_securityevent_changelist")).status_code == 200
    change = reverse("admin:events_securityevent_change", args=[event.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"tag": "forged"}).status_code == 403
    delete = reverse("admin:events_securityevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:events_securityevent_add")).status_code == 403
    event.refresh_from_db()
    assert event.tag == "token:use"


def change_form_data(page) -> dict:
    """Everything the admin's change form would post back unchanged, inlines included."""
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
        for form in formset.forms:
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if value is not None and value is not False:
                    data[form.add_prefix(name)] = getattr(value, "pk", value)
    return data


def test_removing_a_role_inline_is_a_security_event(admin_client, world):
    url = reverse("admin:packaging_project_change", args=[world.project.pk])
    data = change_form_data(admin_client.get(url))
    maintainer_form = next(
        key.removesuffix("-user") for key, value in data.items()
        if key.startswith("roles-") and key.endswith("-user") and value == world.maintainer.pk
    )  # fmt: skip
    data[f"{maintainer_form}-DELETE"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert not world.project.roles.filter(user=world.maintainer).exists()
    event = SecurityEvent.objects.get(tag="role:remove")  # the owners' service, by the admin
    assert event.project == world.project and event.user.is_superuser
    assert (event.additional["username"], event.additional["role"]) == ("mario", "Maintainer")


# ---------------------------------------------------------------------------------------------
# Signing in to the admin: the site's sign-in, a second factor, and a confirmation every 15 min


@pytest.fixture
def operator(make_user, enrol_totp):
    """Staff with a password and an authenticator app (its secret in ``operator.totp_secret``)."""
    user = make_user("root", admin=True, password=PASSWORD)
    user.totp_secret = enrol_totp(user)
    return user


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _admin_refusal(client, path: str = "/admin/") -> str:
    """Where the admin sends someone it does not open for, after its own login URL."""
    refused = client.get(path)
    assert refused.status_code == 302 and refused.url.startswith("/admin/login/")
    sent = client.get(refused.url)
    assert sent.status_code == 302
    return sent.url


def test_the_admin_login_url_checks_no_password(client, operator):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response.url == "/account/login/?next=%2Fadmin%2F"
    assert not _signed_in(client)
    assert client.get("/admin/").status_code == 302
    elsewhere = client.get("/admin/login/?next=https://evil.example/")
    assert elsewhere.url == "/account/login/?next=%2Fadmin%2F"


def test_wrong_admin_passwords_meet_the_sign_in_limits_and_are_recorded(client, operator):
    answers = []
    for _ in range(25):
        sent = client.post("/admin/login/", {"username": "root", "password": "guess"})
        assert sent.status_code == 302 and sent.url.startswith("/account/login/")
        answers.append(client.post(sent.url, {"username": "root", "password": "guess"}))
    assert [answer.status_code for answer in answers[:10]] == [200] * 10
    assert {answer.status_code for answer in answers[10:]} == {429}
    assert int(answers[-1]["Retry-After"]) > 0
    assert operator.security_events.filter(tag="account:login:failure").count() == 10
    assert not _signed_in(client)


def test_an_operator_signs_in_on_the_site_with_a_factor_and_opens_the_admin(client, operator):
    sign_in = _admin_refusal(client)
    assert sign_in == "/account/login/?next=%2Fadmin%2F"
    password = client.post(sign_in, {"username": "root", "password": PASSWORD})
    assert password.status_code == 302 and password.url == reverse("mfa:two-factor")
    assert client.get("/admin/").status_code == 302
    code = code_at(operator.totp_secret, time.time() + 30)
    factor = client.post(reverse("mfa:two-factor"), {"code": code})
    assert factor.status_code == 302 and factor.url == "/admin/"
    assert client.get("/admin/").status_code == 200
    event = operator.security_events.filter(tag="account:login:success").get()
    assert event.additional["method"] == "totp"


def test_staff_without_a_second_factor_is_sent_to_set_one_up(client, make_user):
    client.force_login(make_user("root", admin=True))
    assert _admin_refusal(client, "/admin/accounts/user/") == reverse("mfa:manage")
    page = client.get(reverse("mfa:manage")).content.decode()
    assert "The admin site needs a second factor" in page


def test_with_webauthn_required_totp_does_not_open_the_admin(
    client, operator, settings, enrol_key, authenticator
):
    settings.ADMIN_REQUIRE_WEBAUTHN = True  # BASTION_ADMIN_REQUIRE_WEBAUTHN=1
    client.post(reverse("accounts:login"), {"username": "root", "password": PASSWORD})
    client.post(reverse("mfa:two-factor"), {"code": code_at(operator.totp_secret, time.time())})
    assert _admin_refusal(client) == reverse("mfa:manage")
    page = client.get(reverse("mfa:manage")).content.decode()
    assert "security key or a passkey" in page

    # With a key added, a confirmation by TOTP still does not open it: only one by the key.
    enrol_key(operator)
    assert _admin_refusal(client) == reauth.reauth_url("/admin/")
    code = code_at(operator.totp_secret, time.time() + 30)
    client.post(reauth.reauth_url("/admin/"), {"password": PASSWORD, "code": code})
    assert _admin_refusal(client) == reauth.reauth_url("/admin/")
    options = client.post(reverse("mfa:reauth-webauthn-options")).json()
    body = {"credential": authenticator.get(options), "fields": {"password": PASSWORD}}
    client.post(
        reverse("mfa:reauth-webauthn-verify"), json.dumps(body), content_type="application/json"
    )
    assert client.get("/admin/").status_code == 200


def test_an_idle_admin_session_confirms_again_after_15_minutes(client, operator, monkeypatch):
    client.post(reverse("accounts:login"), {"username": "root", "password": PASSWORD})
    client.post(reverse("mfa:two-factor"), {"code": code_at(operator.totp_secret, time.time())})
    assert client.get("/admin/").status_code == 200
    later = time.time() + reauth.WINDOW_SECONDS + 60
    monkeypatch.setattr(reauth.time, "time", lambda: later)
    confirm = _admin_refusal(client, "/admin/accounts/user/")
    assert confirm == reauth.reauth_url("/admin/accounts/user/")
    again = client.post(
        confirm, {"password": PASSWORD, "code": code_at(operator.totp_secret, later)}
    )
    assert again.status_code == 302 and again.url == "/admin/accounts/user/"
    assert client.get("/admin/accounts/user/").status_code == 200


def test_the_admin_carries_bastions_name_and_links_back_to_the_site(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Bastion administration" in page and "Django administration" not in page
    assert "<title>Operate this index | Bastion admin</title>" in page
    assert '<a href="/">View site</a>' in page
