"""The critical-project mandate against a live server, with twine, the CLI and the web UI.

One story, in order: two real uploads; PyPI-shaped download data makes one project critical by
rank and its dependency critical by the path; the maintainer (no 2FA) is refused upload, tokens,
role changes and yanking, with reasons; every evasion fails; after enrolling TOTP it all works.
"""

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import requests

from tests.downloads.conftest import export_row, write_jsonl
from tests.e2e.conftest import VENV_BIN
from tests.e2e.sample import build_project

pytestmark = pytest.mark.e2e

PASSWORD = "a long and unguessable passphrase 42"


class Browser:
    """A person in the web UI: a cookie jar, the CSRF token, no redirects followed."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base_url + path, allow_redirects=False, timeout=30)

    def post(self, path: str, data: dict) -> requests.Response:
        if "csrftoken" not in self.session.cookies:
            self.get("/account/login/")
        data = {**data, "csrfmiddlewaretoken": self.session.cookies["csrftoken"]}
        headers = {"Referer": self.base_url + path}
        return self.session.post(
            self.base_url + path, data=data, headers=headers, allow_redirects=False, timeout=30
        )

    def login(self, username: str) -> None:
        response = self.post("/account/login/", {"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.text


ENROLL_TOTP = """
import pyotp
from bastion.accounts.models import User
from bastion.events.services import CLI
from bastion.mfa.services import confirm_totp
secret = sys.argv[2]
confirm_totp(User.objects.get(username=sys.argv[1]), secret=secret,
             code=pyotp.TOTP(secret).now(), origin=CLI)
"""

APPROVE_DELETIONS = """
from bastion.accounts.models import User
from bastion.authz.deletions import decide
from bastion.critical.models import DeletionRequest
for waiting in DeletionRequest.objects.filter(approved__isnull=True):
    decide(admin=User.objects.get(username=sys.argv[1]), request=waiting, approve=True)
"""

REMOVE_TOTP = """
from bastion.accounts.models import User
from bastion.events.services import CLI
from bastion.authz.factors import remove_totp
from bastion.mfa.services import FactorError
try:
    remove_totp(User.objects.get(username=sys.argv[1]), origin=CLI)
except FactorError as error:
    print("refused:", error.message)
"""


def user(live_index, name: str, *extra: str) -> None:
    live_index.bastion(
        "users", "create", name, "--email", f"{name}@example.com", "--verified",
        "--password-stdin", *extra, input=PASSWORD + "\n",
    )  # fmt: skip


def downloads_export(path, yesterday: str):
    """critpkg leads 100 ranked names (top 1% = 1 name); 'mirrored' only has mirror traffic."""
    rows = [export_row(f"{yesterday} 10:00:00 UTC", "critpkg") for _ in range(5)]
    rows += [export_row(f"{yesterday} 11:00:00 UTC", f"other-{i:02d}") for i in range(99)]
    rows += [
        export_row(f"{yesterday} 12:00:00 UTC", "mirrored", installer="bandersnatch")
        for _ in range(50)
    ]
    return write_jsonl(path, rows)


def designate(live_index) -> dict:
    env = {**live_index.env, "BASTION_CRITICAL_GRACE_DAYS": "0"}
    done = subprocess.run(
        [str(VENV_BIN / "bastion"), "critical", "designate", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


def test_critical_project_mandate_end_to_end(live_index, tmp_path):
    built = tmp_path / "dists"
    first = build_project(built / "a", "critpkg", "1.0", dependencies=["critdep>=1"])
    second = build_project(built / "b", "critpkg", "1.1", dependencies=["critdep>=1"])
    dependency = build_project(built / "c", "critdep", "1.0")
    recreated = build_project(built / "e", "critdep", "2.0")
    respelled_dist = build_project(built / "d", "CritPkg", "1.2")

    user(live_index, "root", "--admin")
    user(live_index, "maint")
    user(live_index, "helper")
    token = live_index.token("maint")
    for dist in (first, dependency):  # the two real uploads, before any designation
        uploaded = live_index.twine_upload(token, dist.wheel, dist.sdist)
        assert uploaded.returncode == 0, uploaded.output
    browser = Browser(live_index.url)
    browser.login("maint")

    # The designation: rank by installer downloads, mirrors excluded, then the dependency path.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    export = downloads_export(tmp_path / "export.jsonl", yesterday)
    live_index.bastion("downloads", "import", str(export))
    live_index.bastion("downloads", "rollup")
    result = designate(live_index)
    added = {entry["name"]: entry for entry in result["added"]}
    assert set(added) == {"critpkg", "critdep"}
    assert added["critpkg"]["explanation"].startswith("rank 1 of 100 names")
    assert added["critdep"]["explanation"] == "required by critpkg → critdep"
    assert result["notified"] == 2
    assert designate(live_index)["notified"] == 0  # the notice goes out once
    # The file backend writes the mails of one connection into one file, each ended by a rule.
    outbox = "".join(p.read_text() for p in (live_index.data_dir / "outbox").glob("*.log"))
    mails = outbox.split("\n" + "-" * 79 + "\n")
    notices = [m for m in mails if "is now a critical project" in m]
    assert len(notices) == 2 and all("maint@example.com" in m for m in notices)
    explained = live_index.bastion("critical", "explain", "critpkg").stdout
    assert "critpkg is critical since" in explained and "enforced since" in explained

    # The maintainer without 2FA is refused, with the reason and the fix.
    refused = live_index.twine_upload(token, second.wheel)
    assert refused.returncode != 0
    assert "403" in refused.output and "'critpkg' is critical" in refused.output
    assert "/manage/account/two-factor/" in refused.output
    for scope in ([], ["--project", "critdep"]):
        minted = live_index.bastion("tokens", "create", "maint", *scope, check=False)
        assert minted.returncode == 1 and "No token can be created" in minted.stderr
    yank = browser.post("/manage/project/critpkg/release/1.0/yank/", {"reason": "bad"})
    assert yank.status_code == 403 and "two-factor" in yank.text
    invite = browser.post(
        "/manage/project/critpkg/roles/", {"username": "helper", "role_name": "Owner"}
    )
    assert invite.status_code == 403 and "is critical" in invite.text
    page = browser.get("/").text
    assert "critical-banner" in page and "critpkg" in page

    # Evasion: the same name spelled differently (it normalizes to the critical name).
    respelled = live_index.twine_upload(token, respelled_dist.wheel)
    assert respelled.returncode != 0 and "is critical" in respelled.output, respelled.output

    # Enrol TOTP through the mfa service: now everything works.
    secret = pyotp.random_base32()
    live_index.python(ENROLL_TOTP, "maint", secret)
    accepted = live_index.twine_upload(token, second.wheel, second.sdist)
    assert accepted.returncode == 0, accepted.output
    assert live_index.bastion("tokens", "create", "maint").stdout.startswith("bastion-")
    invite = browser.post(
        "/manage/project/critpkg/roles/", {"username": "helper", "role_name": "Owner"}
    )
    assert invite.status_code == 302, invite.text

    # Transfer ownership to an account without 2FA: the invitee cannot accept.
    helper = Browser(live_index.url)
    helper.login("helper")
    invitation = re.search(
        r"/manage/invitations/(\d+)/accept/", helper.get("/manage/projects/").text
    )
    accepted_role = helper.post(f"/manage/invitations/{invitation.group(1)}/accept/", {})
    assert accepted_role.status_code == 403 and "is critical" in accepted_role.text

    # Yank everything: allowed with 2FA, and the project stays critical.
    for version in ("1.0", "1.1"):
        yank = browser.post(f"/manage/project/critpkg/release/{version}/yank/", {"reason": "x"})
        assert yank.status_code == 302, yank.text
    designate(live_index)
    info = requests.get(f"{live_index.url}/pypi/critpkg/json", timeout=30).json()["info"]
    assert info["critical"] is True and info["critical_since"]

    # Delete the last release of the dependency: waits for an admin, says what would break.
    deletion = browser.post(
        "/manage/project/critdep/release/1.0/delete/", {"confirm": "1.0", "reason": "leaving"}
    )
    assert deletion.status_code == 403
    assert "administrator must approve" in deletion.text and "critpkg" in deletion.text
    live_index.python(APPROVE_DELETIONS, "root")
    deletion = browser.post(
        "/manage/project/critdep/release/1.0/delete/", {"confirm": "1.0", "reason": "leaving"}
    )
    assert deletion.status_code == 302, deletion.text
    # ...and re-uploading (atomicwrites, 2022) does not shed the label.
    reuploaded = live_index.twine_upload(token, recreated.wheel)
    assert reuploaded.returncode == 0, reuploaded.output
    info = requests.get(f"{live_index.url}/pypi/critdep/json", timeout=30).json()["info"]
    assert info["critical"] is True
    listed = json.loads(live_index.bastion("critical", "list", "--json").stdout)
    assert listed == ["critdep", "critpkg"]

    # Remove the last factor: refused while maintaining a critical project.
    assert "refused:" in live_index.python(REMOVE_TOTP, "maint")
