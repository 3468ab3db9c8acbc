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


def twine_upload(index: "LiveIndex", token: str, *files: Path):
    """Upload with the real twine, in a clean environment, as a maintainer would."""
    command = [
        str(VENV_BIN / "twine"),
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        index.upload_url,
        "-u",
        "__token__",
        "-p",
        token,
        *map(str, files),
    ]
    return run(command, env=clean_client_env())
