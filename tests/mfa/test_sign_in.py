"""Signing in through the pages: password, then the second factor; passkeys; remember-device."""

import json
import time

import pytest
from django.urls import reverse

from bastion.accounts.services import create_user
from bastion.mfa import login
from tests.mfa.conftest import code_at

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def carol(db):
    return create_user(
        username="carol", email="carol@example.com", password=PASSWORD, verified=True
    )


def _password(client, username="carol", next_url=None):
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("accounts:login"), data)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_without_factors_the_password_signs_in(client, carol):
    response = _password(client)
    assert response.status_code == 302
    assert _logged_in(client)


def test_with_a_factor_the_password_leads_to_the_second_step(client, carol, enrol_totp, enrol_key):
    secret = enrol_totp(carol)
    enrol_key(carol, "yubikey")
    response = _password(client, next_url="/manage/projects/")
    assert response.status_code == 302 and response.url == reverse("mfa:two-factor")
    assert not _logged_in(client)
    page = client.get(reverse("mfa:two-factor")).content.decode()
    assert "Use a security key" in page and "Authenticator app" in page and "Recovery code" in page
    response = client.post(reverse("mfa:two-factor"), {"code": code_at(secret, time.time() + 30)})
    assert response.status_code == 302 and response.url == "/manage/projects/"
    assert _logged_in(client)
    event = carol.security_events.filter(tag="account:login:success").first()
    assert event.additional["method"] == "totp"


def test_the_second_step_expires(client, carol, enrol_totp, monkeypatch):
    enrol_totp(carol)
    _password(client)
    monkeypatch.setattr(login, "PENDING_SECONDS", -1)
    response = client.get(reverse("mfa:two-factor"))
    assert response.status_code == 302 and response.url == reverse("accounts:login")


def test_the_sixth_wrong_code_in_the_window_gets_429(client, carol, enrol_totp):
    enrol_totp(carol)
    _password(client)
    for _ in range(5):
        response = client.post(reverse("mfa:two-factor"), {"code": "000000"})
        assert response.status_code == 400
        assert b"not correct" in response.content
    response = client.post(reverse("mfa:two-factor"), {"code": "000000"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"Too many failed two-factor attempts" in response.content
    assert not _logged_in(client)


def test_a_used_recovery_code_is_refused_with_a_clear_message(client, carol, enrol_key, mailoutbox):
    codes = enrol_key(carol)
    _password(client)
    response = client.post(reverse("mfa:two-factor"), {"recovery_code": codes[0]})
    assert response.status_code == 302 and _logged_in(client)
    assert any("recovery code" in m.subject for m in mailoutbox)
    client.logout()
    _password(client)
    response = client.post(reverse("mfa:two-factor"), {"recovery_code": codes[0]})
    assert response.status_code == 400
    assert b"already been used. Each code works only once." in response.content


def test_a_security_key_completes_the_second_step(client, carol, enrol_key, authenticator):
    enrol_key(carol, "yubikey")
    _password(client)
    options = client.post(reverse("mfa:two-factor-webauthn-options")).json()
    answer = client.post(
        reverse("mfa:two-factor-webauthn-verify"),
        json.dumps({"credential": authenticator.get(options), "fields": {}}),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    assert "redirect" in answer.json()
    assert _logged_in(client)


def test_remember_device_skips_the_second_step_for_30_days(client, carol, enrol_totp):
    secret = enrol_totp(carol)
    _password(client)
    response = client.post(
        reverse("mfa:two-factor"), {"code": code_at(secret, time.time() + 30), "remember": "on"}
    )
    cookie = response.cookies[login.REMEMBER_COOKIE]
    assert cookie["samesite"] == "Strict"
    assert cookie["httponly"]
    assert cookie["max-age"] == 30 * 86400
    assert carol.security_events.filter(tag="account:two_factor:device_remembered").exists()
    client.logout()  # the test client drops every cookie here; the browser keeps this one
    client.cookies[login.REMEMBER_COOKIE] = cookie.value
    response = _password(client)
    assert response.status_code == 302 and response.url != reverse("mfa:two-factor")
    assert _logged_in(client)
    event = carol.security_events.filter(tag="account:login:success").first()
    assert event.additional["method"] == "remembered-device"


def test_a_remembered_device_is_forgotten_when_the_password_changes(client, carol, enrol_totp):
    secret = enrol_totp(carol)
    _password(client)
    response = client.post(
        reverse("mfa:two-factor"), {"code": code_at(secret, time.time() + 30), "remember": "on"}
    )
    client.logout()
    client.cookies[login.REMEMBER_COOKIE] = response.cookies[login.REMEMBER_COOKIE].value
    carol.set_password(PASSWORD)  # a new salt: a new hash, as any password change gives
    carol.save()
    response = _password(client)
    assert response.url == reverse("mfa:two-factor")


def test_a_forged_remember_cookie_is_ignored(client, carol, enrol_totp):
    enrol_totp(carol)
    client.cookies[login.REMEMBER_COOKIE] = "forged"
    assert _password(client).url == reverse("mfa:two-factor")


def test_sign_in_with_a_passkey_and_no_password(client, carol, enrol_key, authenticator):
    enrol_key(carol, "phone", passkey=True)
    page = client.get(reverse("accounts:login")).content.decode()
    assert "Sign in with a passkey" in page
    assert reverse("mfa:recovery-request") in page
    options = client.post(reverse("mfa:passkey-options")).json()
    assert options["allowCredentials"] == []
    answer = client.post(
        reverse("mfa:passkey-verify"),
        json.dumps({"credential": authenticator.get(options), "fields": {"next": "/stats/"}}),
        content_type="application/json",
    )
    assert answer.json() == {"redirect": "/stats/"}
    assert _logged_in(client)


def test_a_passkey_answer_cannot_be_replayed(client, carol, enrol_key, authenticator):
    enrol_key(carol, "phone", passkey=True)
    options = client.post(reverse("mfa:passkey-options")).json()
    body = json.dumps({"credential": authenticator.get(options), "fields": {}})
    client.post(reverse("mfa:passkey-verify"), body, content_type="application/json")
    client.logout()
    again = client.post(reverse("mfa:passkey-verify"), body, content_type="application/json")
    assert again.status_code == 403 and not _logged_in(client)


def test_each_remember_box_of_the_second_step_has_its_own_label(client, carol, enrol_totp):
    """UI review finding: the authenticator and recovery code forms both rendered id_remember,
    so the recovery panel's label ticked the authenticator panel's box."""
    import re

    enrol_totp(carol)
    _password(client)
    page = client.get(reverse("mfa:two-factor")).content.decode()

    ids = re.findall(r'\bid="([^"]+)"', page)
    assert sorted(ids) == sorted(set(ids))
    boxes = re.findall(r'<input type="checkbox" name="remember"[^>]*id="([^"]+)"', page)
    assert len(boxes) >= 2
    assert all(page.count(f'for="{box}"') == 1 for box in boxes)
