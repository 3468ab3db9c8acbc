"""Chromium driven by Playwright, against the same live server the other end-to-end tests use.

Debian's ``chromium`` is used as installed (``playwright install`` is never run). The server is
``tests.e2e.conftest.live_index``: a real ``bastion serve`` at ``http://localhost:PORT``.
Fixtures here are meant for every browser test: ``browser`` (one per module), ``new_page``
(a fresh context, i.e. a separate person, per call) and ``page`` (the first such person).
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (  # noqa: F401 - live_index and client_env are shared fixtures
    VENV_BIN,
    LiveIndex,
    clean_client_env,
    client_env,
    live_index,
    run,
)
from tests.tools import missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
VERIFY_LINK = re.compile(r"https?://\S+/account/verify-email/\S+/")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        missing("Debian chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_index) -> Iterator:  # noqa: F811 - the imported fixture
    """Make pages for separate people: each call is a new browser context (its own cookies)."""
    contexts = []

    def make(viewport: dict | None = None):
        context = browser.new_context(
            base_url=live_index.url, viewport=viewport or {"width": 1100, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: _fail_on_csp(message))
        return page

    yield make
    for context in contexts:
        context.close()


def _fail_on_csp(message) -> None:
    """A page that trips the Content-Security-Policy is a bug, even if the test passes."""
    if message.type == "error" and "Content Security Policy" in message.text:
        raise AssertionError(f"CSP violation: {message.text}")


@pytest.fixture
def page(new_page):
    return new_page()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot to artifacts/screenshots/ for people to review the look."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def outbox_link(index: "LiveIndex", address: str, pattern: re.Pattern = VERIFY_LINK) -> str:
    """The newest link matching ``pattern`` in a mail the server wrote for ``address``."""
    for mail in sorted((index.data_dir / "outbox").glob("*"), key=lambda p: p.stat().st_mtime)[
        ::-1
    ]:
        text = mail.read_text(errors="replace")
        if f"To: {address}" in text and (found := pattern.findall(text)):
            return found[-1]
    raise AssertionError(f"no mail to {address} with a link matching {pattern.pattern}")


def register(page, username: str, password: str) -> None:
    page.goto("/account/register/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email address").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password (again)").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()


def log_in(page, username: str, password: str) -> None:
    page.goto("/account/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


class Authenticator:
    """A virtual CTAP2 authenticator attached to one page through the DevTools protocol."""

    def __init__(self, page):
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")
        self.id = self.cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "usb",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )["authenticatorId"]

    def credentials(self) -> list[dict]:
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"]

    def set_sign_count(self, credential: dict, sign_count: int) -> None:
        """Put the same private key back with another counter: what a cloned key looks like."""
        self.cdp.send(
            "WebAuthn.removeCredential",
            {"authenticatorId": self.id, "credentialId": credential["credentialId"]},
        )
        self.cdp.send(
            "WebAuthn.addCredential",
            {"authenticatorId": self.id, "credential": {**credential, "signCount": sign_count}},
        )
