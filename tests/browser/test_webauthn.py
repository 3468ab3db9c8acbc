"""Security keys and passkeys in headless Chromium, with the DevTools virtual authenticator.

The authenticator is CTAP2 with resident keys and user verification, as a modern FIDO2 key or
a phone is. Each test is a person at their own browser (a fresh context and authenticator).
"""

import re

import pytest

from tests.browser.conftest import Authenticator, log_in, outbox_link, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"
CLONE_MAIL = re.compile(r"may have been cloned[\s\S]*?(https?://\S+/two-factor/)")


def _user(live_index, name: str) -> None:
    live_index.bastion(
        "users",
        "create",
        name,
        "--email",
        f"{name}@example.com",
        "--verified",
        "--password-stdin",
        input=PASSWORD + "\n",
    )


def _register(page, label: str, *, passkey: bool = False) -> None:
    page.goto("/manage/account/two-factor/webauthn/" + ("?kind=passkey" if passkey else ""))
    page.get_by_label("Name of this key").fill(label)
    kind = "passkey" if passkey else "security key"
    page.get_by_role("button", name=f"Register {kind}").click()
    try:
        page.wait_for_url(lambda url: "/webauthn/" not in url)
    except Exception as error:
        status = page.locator("[data-webauthn-status]").text_content()
        raise AssertionError(f"registration did not finish: {status}") from error


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def _signed_in_as(page, name: str) -> bool:
    return page.get_by_role("button", name="Log out").count() == 1 and name in page.content()


def test_enrol_a_security_key_then_sign_in_with_it(live_index, new_page):
    _user(live_index, "keyholder")
    page = new_page()
    key = Authenticator(page)
    log_in(page, "keyholder", PASSWORD)
    _register(page, "YubiKey 5")
    assert page.get_by_role("heading", name="Your recovery codes").is_visible()
    assert page.locator(".recovery-codes li").count() == 10
    screenshot(page, "mfa-recovery-codes")
    page.goto("/manage/account/two-factor/")
    assert page.get_by_role("cell", name="YubiKey 5", exact=True).is_visible()
    assert len(key.credentials()) == 1
    assert not key.credentials()[0]["isResidentCredential"]

    # The same key again: the browser refuses it, and the page says why in words (UI review
    # finding: it said "the security key did not answer" and quoted the specification).
    page.goto("/manage/account/two-factor/webauthn/")
    page.get_by_label("Name of this key").fill("YubiKey 5 again")
    page.get_by_role("button", name="Register security key").click()
    status = page.locator("[data-webauthn-status]")
    status.filter(has_text="already registered to your account").wait_for()
    assert len(key.credentials()) == 1

    _log_out(page)
    log_in(page, "keyholder", PASSWORD)
    page.wait_for_url("**/account/two-factor/")
    screenshot(page, "mfa-second-step")
    page.get_by_role("button", name="Use a security key").click()
    page.wait_for_url(lambda url: "/account/two-factor/" not in url)
    page.goto("/manage/account/two-factor/")
    assert page.get_by_role("button", name="Log out").is_visible()
    assert page.get_by_role("heading", name="Two-factor authentication").is_visible()


def test_sign_in_with_a_passkey_and_no_password(live_index, new_page):
    _user(live_index, "passkeyholder")
    page = new_page()
    key = Authenticator(page)
    log_in(page, "passkeyholder", PASSWORD)
    _register(page, "Laptop", passkey=True)
    assert key.credentials()[0]["isResidentCredential"]
    _log_out(page)

    page.goto("/account/login/")
    screenshot(page, "mfa-login-with-passkey")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(lambda url: "/account/login/" not in url)
    page.goto("/manage/account/two-factor/")
    assert page.get_by_role("cell", name="Laptop", exact=True).is_visible()
    assert page.get_by_role("cell", name="Passkey", exact=True).is_visible()


def test_a_cloned_key_is_flagged_when_its_counter_goes_backwards(live_index, new_page):
    _user(live_index, "cloned")
    page = new_page()
    key = Authenticator(page)
    log_in(page, "cloned", PASSWORD)
    _register(page, "Old key")
    for _ in range(2):  # two sign-ins move the counter forward
        _log_out(page)
        log_in(page, "cloned", PASSWORD)
        page.get_by_role("button", name="Use a security key").click()
        page.wait_for_url(lambda url: "/account/two-factor/" not in url)
    credential = key.credentials()[0]
    assert credential["signCount"] >= 2
    key.set_sign_count(credential, credential["signCount"] - 2)

    _log_out(page)
    log_in(page, "cloned", PASSWORD)
    page.get_by_role("button", name="Use a security key").click()
    status = page.locator("[data-webauthn-status]")
    status.filter(has_text="may have been cloned").wait_for()
    screenshot(page, "mfa-cloned-key")
    assert "/account/two-factor/" in page.url  # not signed in
    link = outbox_link(live_index, "cloned@example.com", CLONE_MAIL)
    assert link.endswith("/manage/account/two-factor/")
    shown = live_index.bastion("users", "show", "cloned", "--json").stdout
    assert '"webauthn_keys": 1' in shown
