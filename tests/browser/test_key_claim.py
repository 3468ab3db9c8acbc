"""A critical maintainer claims a security key code in Chromium, then registers the key.

The operator's side runs through the real ``bastion`` CLI against the live server: designate the
project (which mails the maintainer a link to the offer), import the codes, read the report. The
key is the DevTools virtual authenticator.
"""

import json
import re

import pytest

from tests.browser.conftest import Authenticator, log_in, outbox_link, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"
OFFER_LINK = re.compile(r"https?://\S+/manage/account/security-key/")
CODES = ["TITAN-DE-7Q2M-XK4P", "TITAN-DE-9R3N-LW8B", "YUBI-ANY-5T6Y-PZ1C"]


def _user(index, name: str, *extra: str) -> None:
    index.bastion(
        "users", "create", name, "--email", f"{name}@example.com", "--verified",
        "--password-stdin", *extra, input=PASSWORD + "\n",
    )  # fmt: skip


@pytest.fixture(scope="module")
def program(live_index, tmp_path_factory):
    """A critical project with one maintainer, an admin, and codes loaded from a CSV."""
    _user(live_index, "root", "--admin")
    _user(live_index, "maint")
    _user(live_index, "bystander")
    live_index.python(
        "from bastion.accounts.models import User\n"
        "from bastion.packaging.models import Project, Role, RoleName\n"
        "project = Project.objects.create(name='Requests', normalized_name='requests')\n"
        "Role.objects.create(project=project, user=User.objects.get(username='maint'),"
        " role_name=RoleName.OWNER)\n",
    )
    live_index.bastion(
        "critical", "add", "requests", "--admin", "root", "--note", "everyone depends on it"
    )
    csv = tmp_path_factory.mktemp("codes") / "codes.csv"
    csv.write_text(
        "code,vendor,country,batch\n"
        f"{CODES[0]},titan,DE,2026-07\n{CODES[1]},titan,DE,2026-07\n{CODES[2]},yubico,,2026-07\n"
    )
    imported = live_index.bastion("keys", "import-codes", str(csv))
    assert "Imported 3 code(s)." in imported.stdout
    live_index.python(
        "from bastion.keys.models import Vendor\n"
        "Vendor.objects.filter(slug='titan').update(name='Google Titan',"
        " instructions='Add two keys to your cart and enter the code at checkout.')\n",
    )
    return live_index


def _report(index) -> dict:
    return json.loads(index.bastion("keys", "report", "--json").stdout)


def test_a_critical_maintainer_claims_a_code_then_registers_the_key(program, new_page):
    page = new_page()
    key = Authenticator(page)
    log_in(page, "maint", PASSWORD)
    page.goto(outbox_link(program, "maint@example.com", OFFER_LINK))  # from the designation mail
    assert page.get_by_role("heading", name="Hardware security key", exact=True).is_visible()

    page.get_by_label("Country your key ships to").select_option("DE")
    page.get_by_role("button", name="Show available codes").click()
    page.wait_for_load_state()
    assert page.get_by_text("Codes that can be used in Germany").is_visible()
    screenshot(page, "keys-offer-stock")
    page.get_by_role("button", name="Claim a code from Google Titan").click()
    page.wait_for_load_state()

    shown = page.get_by_label(re.compile("^Promo code")).input_value()
    assert shown in CODES[:2]
    assert page.get_by_text("Add two keys to your cart").is_visible()
    screenshot(page, "keys-claimed-code")
    assert _report(program)["claimers_with_key"] == 0

    page.get_by_role("link", name="Register your security key").click()
    page.get_by_label("Name of this key").fill("Titan")
    page.get_by_role("button", name="Register security key").click()
    page.wait_for_url(lambda url: "/webauthn/" not in url)
    assert len(key.credentials()) == 1

    page.goto("/manage/account/security-key/")
    assert page.get_by_text("You registered “Titan”").is_visible()
    assert page.get_by_label(re.compile("^Promo code")).input_value() == shown
    report = _report(program)
    assert (report["claimers"], report["claimers_with_key"]) == (1, 1)
    assert report["registered_share"] == 1.0
    titan = next(row for row in report["codes"] if row["vendor"] == "titan")
    assert (titan["left"], titan["total"]) == (1, 2)

    mails = "".join(p.read_text(errors="replace") for p in (program.data_dir / "outbox").glob("*"))
    assert "You claimed a security key code" in mails
    assert not any(code in mails for code in CODES)


def test_refusals_are_shown_on_the_page(program, new_page):
    page = new_page()
    log_in(page, "bystander", PASSWORD)
    page.goto("/manage/account/security-key/")
    assert page.get_by_text("you do not maintain one").is_visible()
    assert page.get_by_label("Country your key ships to").count() == 0
    screenshot(page, "keys-not-eligible")
