"""Security events read as sentences people understand; the raw codes stay for admins."""

import re
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse

import bastion
from bastion.events import services as events
from bastion.events.describe import SENTENCES, describe
from bastion.events.models import SecurityEvent
from tests.manage.conftest import world  # noqa: F401 - a shared fixture

SOURCE = Path(bastion.__file__).parent
KINDS = "account|project|token|role|admin|release|file|require_2fa|publisher|upstream"
TAG = re.compile(rf"""["']((?:{KINDS}):[a-z0-9_:-]+)["']""")


def _is_url_name(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch as missing:
        text = str(missing)
        return "not a valid view function" not in text and "not a registered namespace" not in text
    return True


def recorded_tags() -> set[str]:
    """Every event tag written as a literal in the source (URL names such as admin:index aside)."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        found.update(TAG.findall(path.read_text(encoding="utf-8")))
    return {tag for tag in found if not _is_url_name(tag)}


@pytest.mark.django_db
def test_every_event_kind_the_code_records_has_a_sentence():
    tags = recorded_tags()
    assert {"account:login:failure", "file:upload", "role:change"} <= tags
    assert not tags - set(SENTENCES), f"no sentence for: {sorted(tags - set(SENTENCES))}"


@pytest.mark.parametrize(
    ("tag", "additional", "sentence"),
    [
        ("account:login:failure", {"reason": "invalid_password"}, "Wrong password"),
        ("account:login:failure", {"reason": "invalid_totp"}, "Wrong authenticator app code"),
        ("account:login:failure", {"reason": "burned_recovery_code"}, "Recovery code that was"),
        ("account:login:success", {"method": "webauthn:YubiKey"}, "Signed in with a security key"),
        ("account:login:success", {"method": "totp"}, "Signed in with an authenticator app"),
        ("account:login:success", {"method": "password"}, "Signed in with a password"),
        ("account:login:success", {"method": "recovery-code"}, "Signed in with a recovery code"),
        ("account:two_factor:method_added", {"method": "passkey"}, "Added a passkey"),
        ("account:password:disabled", {"reason": "breached"}, "appeared in a data breach"),
    ],
)
def test_codes_become_sentences_and_do_not_reappear_as_details(tag, additional, sentence):
    about = describe(tag, additional)
    assert sentence in about.sentence
    shown = about.sentence + " ".join(f"{label} {value}" for label, value in about.details)
    for code in additional.values():
        if re.search(r"[_:-]", code):  # a code, not a word
            assert code not in shown


@pytest.mark.parametrize(
    ("tag", "additional", "sentence"),
    [
        ("file:upload", {"token": "laptop"}, "File uploaded"),
        ("publisher:add", {"publisher": "GitHub Actions: o/r workflow r.yml", "publisher_id": 3},
         "Trusted publisher added: GitHub Actions: o/r workflow r.yml"),
        ("publisher:add", {"publisher": "P", "reified_from_pending": True},
         "Trusted publisher added: P (it created the project)"),
        ("publisher:remove", {"publisher": "P"}, "Trusted publisher removed: P"),
        ("publisher:add-pending", {"publisher": "P", "project_name": "new"},
         "Pending trusted publisher added: P"),
        ("publisher:remove-pending", {"publisher": "P"}, "Pending trusted publisher removed: P"),
        ("publisher:token", {"publisher": "P", "publisher_id": 3},
         "The trusted publisher P traded a CI job's OIDC token for an upload token"),
    ],
)  # fmt: skip
def test_publisher_events_name_the_publisher(tag, additional, sentence):
    about = describe(tag, additional)

    assert about.sentence == sentence
    assert "Publisher id" not in dict(about.details)


def test_a_publisher_upload_says_who_and_shows_its_ci_run_in_words():
    claims = {
        "repository": "octo/widget",
        "workflow": "release.yml",
        "ref": "refs/tags/v1.0",
        "sha": "0123abcd",
        "environment": "",
        "run_id": "987654",
        "run_url": "https://github.com/octo/widget/actions/runs/987654",
    }
    about = describe(
        "file:upload",
        {"filename": "w.whl", "publisher": "GitHub Actions: octo/widget", "claims": claims},
    )

    assert about.sentence == "File uploaded by the trusted publisher GitHub Actions: octo/widget"
    assert dict(about.details)["CI run"] == (
        "repository octo/widget, workflow release.yml, ref refs/tags/v1.0, sha 0123abcd, "
        "run id 987654, run url https://github.com/octo/widget/actions/runs/987654"
    )


def test_details_are_labelled_in_words():
    about = describe("token:create", {"token": "ci", "scope": "user", "notified": ["olivia"]})
    assert about.details == [("Told by mail", "olivia"), ("Scope", "all projects"), ("Token", "ci")]


def test_an_unknown_kind_still_reads_as_words():
    assert describe("keys:stock_low", {}).sentence == "Stock low"


@pytest.mark.django_db
def test_the_account_history_shows_sentences_and_the_code_only_to_staff(world):  # noqa: F811
    owner = world.owner
    events.record("account:login:failure", user=owner, reason="invalid_password")
    events.record("account:login:success", user=owner, method="webauthn:YubiKey")
    page = world.client_for(owner).get("/manage/account/security/").content.decode()
    assert "Wrong password" in page and "Signed in with a security key (YubiKey)" in page
    assert "invalid_password" not in page and "account:login" not in page
    owner.is_staff = True
    owner.save()
    page = world.client_for(owner).get("/manage/account/security/").content.decode()
    assert 'title="account:login:failure"' in page


@pytest.mark.django_db
def test_the_project_history_shows_sentences(world):  # noqa: F811
    events.record("require_2fa:enabled", user=world.owner, project=world.project)
    events.record(
        "role:change", user=world.owner, project=world.project, role="Owner", previous_role="X"
    )
    url = f"/manage/project/{world.project.normalized_name}/history/"
    page = world.client_for(world.owner).get(url).content.decode()
    assert "Two-factor authentication required of every maintainer" in page
    assert "Previous role:" in page
    assert "require_2fa" not in page and "previous_role" not in page


@pytest.mark.django_db
def test_the_admin_shows_the_raw_tag_beside_the_sentence(admin_client, world):  # noqa: F811
    events.record("account:login:failure", user=world.owner, reason="invalid_password")
    page = admin_client.get(reverse("admin:events_securityevent_changelist")).content.decode()
    assert "account:login:failure" in page and "Wrong password" in page
    event = SecurityEvent.objects.get(tag="account:login:failure")
    detail = admin_client.get(reverse("admin:events_securityevent_change", args=[event.pk]))
    assert "invalid_password" in detail.content.decode()
