"""From the account page, a person finds two-factor set-up, tokens and history by clicking."""

import re

import pytest

from tests.browser.conftest import register, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"


def test_account_page_reaches_two_factor_tokens_history_in_one_click_and_setup_in_two(new_page):
    page = new_page()
    register(page, "nadia", PASSWORD)
    account = "/manage/account/"
    sidebar = page.get_by_role("navigation", name="Account")

    one_click = {
        "Two-factor authentication": "/manage/account/two-factor/",
        "API tokens": "/manage/account/tokens/",
        "Security history": "/manage/account/security/",
    }
    for label, path in one_click.items():
        page.goto(account)
        sidebar.get_by_role("link", name=label).click()
        page.wait_for_url(re.compile(re.escape(path) + "$"))
        assert page.get_by_role("heading", name=label, level=1).is_visible()

    two_clicks = {
        "Add an authenticator app": "/manage/account/two-factor/totp/",
        "Add a security key": "/manage/account/two-factor/webauthn/",
    }
    for label, path in two_clicks.items():
        page.goto(account)
        sidebar.get_by_role("link", name="Two-factor authentication").click()
        page.get_by_role("main").get_by_role("link", name=label, exact=True).click()
        page.wait_for_url(re.compile(re.escape(path) + "$"))
        assert page.get_by_role("heading", name=label, level=1).is_visible()
    screenshot(page, "account-security-key-setup")
    page.goto(account)
    screenshot(page, "account")
