"""One maintainer, end to end in Chromium: register, publish with tokens, share, yank, revoke.

Every step happens the way a person would do it: through the pages, the mail in the outbox and
the real twine. The security history must tell the whole story afterwards. Then every page the
maintainer uses is checked at a desktop and a phone width: axe-core finds no serious or critical
accessibility violation, nothing scrolls sideways on the phone, the keyboard reaches the content
through a skip link with a visible focus ring, and a screenshot of each is kept for review.
"""

import re
import time

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import log_in, outbox_link, register, screenshot
from tests.e2e.sample import build_project

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"
PROJECT = "maya-widget"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
TOKEN_MAIL = re.compile(r"\S+/manage/account/tokens/")

#: The pages the accessibility sweep visits, as (screenshot name, path), signed in as the
#: maintainer of PROJECT. One list, so a new page is one line.
PAGES = [
    ("home", "/"),
    ("search", "/?q=widget"),
    ("project", f"/project/{PROJECT}/"),
    ("project-old-release", f"/project/{PROJECT}/1.0/"),
    ("profile", "/user/maya/"),
    ("your-projects", "/manage/projects/"),
    ("account", "/manage/account/"),
    ("two-factor", "/manage/account/two-factor/"),
    ("tokens", "/manage/account/tokens/"),
    ("trusted-publishers", "/manage/account/publishing/"),
    ("security-history", "/manage/account/security/"),
    ("key-offer", "/manage/account/security-key/"),
    ("manage-releases", f"/manage/project/{PROJECT}/"),
    ("manage-release", f"/manage/project/{PROJECT}/release/1.1/"),
    ("manage-roles", f"/manage/project/{PROJECT}/roles/"),
    ("manage-settings", f"/manage/project/{PROJECT}/settings/"),
    ("manage-history", f"/manage/project/{PROJECT}/history/"),
    ("stats", "/stats/"),
    ("help", "/help/"),
]
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    root = tmp_path_factory.mktemp("walkthrough")
    return {
        version: build_project(root / version, PROJECT, version)
        for version in ("1.0", "1.1", "1.2")
    }


def create_token(page, name: str, scope: str) -> str:
    page.goto("/manage/account/tokens/")
    page.get_by_label("Token name").fill(name)
    page.get_by_label("Scope").select_option(label=scope)
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_role("button", name="Create token").click()
    page.get_by_text("It will not be shown again").wait_for()
    return page.locator("#new-token").input_value()


def yanked_reasons(index, until_yanked: str, timeout: float = 10) -> dict[str, object]:
    """Each file's ``yanked`` value on the JSON simple page, once ``until_yanked`` shows it."""
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(
            f"{index.url}/simple/{PROJECT}/", headers={"Accept": SIMPLE_JSON}, timeout=10
        )
        response.raise_for_status()
        reasons = {file["filename"]: file.get("yanked", False) for file in response.json()["files"]}
        if reasons.get(until_yanked) or time.monotonic() > deadline:
            return reasons
        time.sleep(0.2)


def test_a_maintainer_walks_through_the_whole_life_of_a_project(
    live_index, new_page, dists, tmp_path
):
    maya = new_page()

    # 1. Register, then verify the address with the link from the outbox.
    register(maya, "maya", PASSWORD)
    maya.goto(outbox_link(live_index, "maya@example.com"))
    assert "is verified" in maya.content()

    # 2. Log out and in again.
    maya.get_by_role("button", name="Log out").click()
    maya.goto("/account/login/")
    screenshot(maya, "login")
    log_in(maya, "maya", PASSWORD)
    maya.goto("/manage/projects/")
    assert maya.get_by_role("heading", name="Your projects").is_visible()

    # 3. A user-wide token creates the project; a project-scoped token replaces it.
    bootstrap = create_token(maya, "bootstrap", "All projects (user-wide)")
    maya.context.grant_permissions(["clipboard-read", "clipboard-write"])
    maya.get_by_role("button", name="Copy").click()
    maya.wait_for_function("document.getElementById('copy-status').textContent !== ''")
    first = live_index.twine_upload(bootstrap, dists["1.0"].wheel, dists["1.0"].sdist)
    assert first.returncode == 0, first.output
    scoped = create_token(maya, "ci", f"Only project {PROJECT}")
    screenshot(maya, "token-created")
    maya.get_by_role("button", name="Revoke bootstrap").click()
    assert "Revoked the token" in maya.content()
    second = live_index.twine_upload(scoped, dists["1.1"].wheel)
    assert second.returncode == 0, second.output
    refused = live_index.twine_upload(bootstrap, dists["1.2"].wheel)
    assert refused.returncode != 0
    maya.goto("/manage/account/tokens/")
    assert bootstrap not in maya.content() and scoped not in maya.content()
    screenshot(maya, "tokens")

    # 4. Invite a second user, who accepts.
    live_index.bastion(
        "users",
        "create",
        "bob",
        "--email",
        "bob@example.com",
        "--verified",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    maya.goto(f"/manage/project/{PROJECT}/roles/")
    maya.get_by_label("Username").fill("bob")
    maya.get_by_label("Role", exact=True).select_option("Maintainer")
    maya.get_by_role("button", name="Send invitation").click()
    assert "Invited bob as Maintainer" in maya.content()
    bob = new_page(viewport={"width": 390, "height": 844})  # a phone
    log_in(bob, "bob", PASSWORD)
    bob.goto("/manage/projects/")
    assert bob.get_by_text("Pending invitations").is_visible()
    screenshot(bob, "invitation-phone")
    bob.get_by_role("button", name="Accept").click()
    assert f"You are now Maintainer of {PROJECT}" in bob.content()
    maya.goto(f"/manage/project/{PROJECT}/roles/")
    assert maya.get_by_role("cell", name="bob", exact=True).is_visible()

    # 5. Yank 1.0 with a reason; the simple page marks it.
    maya.goto(f"/manage/project/{PROJECT}/release/1.0/")
    screenshot(maya, "manage-release")
    maya.get_by_label("Reason for yanking").fill("Broken build, use 1.1")
    maya.get_by_role("button", name="Yank 1.0").click()
    assert "Yanked" in maya.content()
    reasons = yanked_reasons(live_index, until_yanked=dists["1.0"].wheel.name)
    assert reasons[dists["1.0"].wheel.name] == "Broken build, use 1.1"
    assert reasons[dists["1.0"].sdist.name] == "Broken build, use 1.1"
    assert reasons[dists["1.1"].wheel.name] is False
    maya.goto(f"/project/{PROJECT}/")
    assert maya.locator(".releases .badge.yanked").count() == 1
    maya.get_by_role("button", name="Copy the pip command").click()  # what a visitor copies
    copied = maya.evaluate("navigator.clipboard.readText()")
    assert copied == f"pip install --index-url {live_index.simple_url} {PROJECT}"
    no_script = maya.context.browser.new_context(base_url=live_index.url, java_script_enabled=False)
    visitor = no_script.new_page()
    visitor.goto(f"/project/{PROJECT}/")  # without JavaScript: the text, and no dead button
    assert visitor.locator("#install-pip").inner_text() == copied
    assert not visitor.get_by_role("button", name="Copy the pip command").is_visible()
    no_script.close()
    screenshot(maya, "project")

    # 6. Revoke the scoped token: the next upload is refused.
    maya.goto("/manage/account/tokens/")
    maya.get_by_role("button", name="Revoke ci").click()
    after_revoke = live_index.twine_upload(scoped, dists["1.2"].wheel)
    assert after_revoke.returncode != 0
    assert "403" in after_revoke.output

    # 7. The security history tells each step, with address and browser.
    maya.goto("/manage/account/security/")
    history = maya.locator("table.events").inner_text()
    for line in [
        "API token created",
        "API token used",
        "API token revoked",
        "Role invitation sent",
        "Release yanked",
    ]:
        assert line in history, line
    assert "127.0.0.1" in history and "HeadlessChrome" in history
    assert "twine" in history  # the uploads were made by twine, and say so
    screenshot(maya, "security-history")
    maya.goto(f"/manage/project/{PROJECT}/history/")
    project_history = maya.locator("table.events").inner_text()
    assert "Role invitation accepted" in project_history and "bob" in project_history
    assert "Release yanked" in project_history
    assert outbox_link(live_index, "maya@example.com", TOKEN_MAIL)  # token changes are mailed

    # 8. Every page at both widths: no serious axe violation, no sideways scrolling on a phone,
    #    a skip link and a visible focus ring for the keyboard; screenshots for people to review.
    create_token(maya, "laptop", "All projects (user-wide)")  # an active one, with Revoke
    # A critical project shows its badge and reason, and makes maya eligible for the key offer.
    live_index.bastion("users", "create", "root", "--email", "root@example.com", "--admin")
    live_index.bastion("critical", "add", PROJECT, "--admin", "root", "--note", "widely used")
    problems = []
    for width_name, viewport in WIDTHS.items():
        maya.set_viewport_size(viewport)
        for name, path in PAGES:
            response = maya.goto(path)
            assert response.status == 200, f"{path}: HTTP {response.status}"
            maya.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
            problems += [f"{width_name} {path}: {problem}" for problem in page_problems(maya)]
            if width_name == "phone":
                problems += [f"phone {path}: {p}" for p in sideways_scrolling(maya)]
                problems += [f"phone {path}: {p}" for p in small_touch_targets(maya)]
                if check := PHONE_CHECKS.get(path):
                    problems += [f"phone {path}: {p}" for p in check(maya)]
            else:
                problems += [f"{path}: {problem}" for problem in keyboard_problems(maya)]
            screenshot(maya, f"{name}-{width_name}")
    assert not problems, "\n".join(problems)


def page_problems(page) -> list[str]:
    """axe-core's serious and critical violations, one line per rule with the elements it hit."""
    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in violations
        if v["impact"] in BLOCKING_IMPACTS
    ]


def sideways_scrolling(page) -> list[str]:
    """The page is wider than the phone: name the widest elements that stick out."""
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    if width <= inner:
        return []
    culprits = page.evaluate(
        """(inner) => [...document.querySelectorAll("main *, header *, footer *")]
            .filter((el) => el.getBoundingClientRect().right > inner + 1)
            .slice(0, 5)
            .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""))""",
        inner,
    )
    return [f"scrolls sideways: {width} px wide in {inner} px ({', '.join(culprits)})"]


def small_touch_targets(page) -> list[str]:
    """Controls smaller than 44 by 44 px (links inside running text are exempt, as in WCAG)."""
    small = page.evaluate(
        """() => [...document.querySelectorAll(
                "button, .button, select, summary, nav a, "
                + "input:not([type=hidden]):not([type=checkbox]):not([type=radio])")]
            .map((el) => [el, el.getBoundingClientRect()])
            .filter(([el, box]) => box.width > 1 && box.height > 1
                    && (box.width < 44 || box.height < 44))
            .slice(0, 5)
            .map(([el, box]) => `${el.tagName.toLowerCase()} "${el.textContent.trim()
                .slice(0, 30)}" ${Math.round(box.width)}x${Math.round(box.height)}`)"""
    )
    return [f"touch target under 44 px: {target}" for target in small]


def tokens_fit(page) -> list[str]:
    """The tokens table on a phone: the Status and the Revoke button are on screen, not cut off."""
    inner = page.evaluate("window.innerWidth")
    needed = {
        "status": page.locator("table.tokens td[data-label=Status]").first,
        "revoke": page.get_by_role("button", name="Revoke laptop"),
    }
    return [
        f"the {name} of the token is off-screen"
        for name, locator in needed.items()
        if not locator.is_visible()
        or locator.bounding_box()["x"] + locator.bounding_box()["width"] > inner
    ]


def history_is_compact(page) -> list[str]:
    """Security history on a phone: an event takes a few lines, not a column a few letters wide."""
    heights = page.evaluate(
        "[...document.querySelectorAll('table.events tbody tr')]"
        ".map((row) => row.getBoundingClientRect().height)"
    )
    average = sum(heights) / len(heights)
    return [] if average <= 130 else [f"an event is {average:.0f} px tall on average"]


PHONE_CHECKS = {
    "/manage/account/tokens/": tokens_fit,
    "/manage/account/security/": history_is_compact,
}


def keyboard_problems(page) -> list[str]:
    """The first Tab reaches a visible skip link with a focus ring; Enter moves focus to main."""
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => {
            const el = document.activeElement, box = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            return {cls: el.className, visible: box.top >= 0 && box.height > 0,
                    ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2};
        }"""
    )
    if focused["cls"] != "skip-link" or not focused["visible"]:
        return [f"the first Tab does not reach a visible skip link ({focused})"]
    problems = [] if focused["ring"] else ["the focused skip link has no visible focus ring"]
    page.keyboard.press("Enter")
    if page.evaluate("document.activeElement.id") != "main":
        problems.append("the skip link does not move focus to the main content")
    return problems
