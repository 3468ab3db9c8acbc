"""The bastion command line: the operator's contract in DESIGN.md."""

import io
import json
from datetime import date

import pytest

from bastion.accounts.models import User
from bastion.cli import main
from bastion.critical.models import Designation
from bastion.packaging.models import Project, Release, Role, RoleName
from bastion.tokens.services import authenticate

pytestmark = pytest.mark.django_db


def test_users_create_and_show_json(capsys):
    assert main(["users", "create", "alice", "--email", "alice@example.com", "--verified"]) == 0
    capsys.readouterr()
    assert main(["users", "show", "alice", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["username"] == "alice"
    assert shown["email"] == "alice@example.com" and shown["email_verified"] is True
    assert shown["projects"] == []


def test_users_create_reads_password_from_stdin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery staple\n"))
    assert main(["users", "create", "bob", "--email", "b@example.com", "--password-stdin"]) == 0
    assert User.objects.get(username="bob").check_password("correct horse battery staple")


def test_users_create_refuses_weak_password(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("password\n"))
    assert main(["users", "create", "bob", "--email", "b@example.com", "--password-stdin"]) == 1
    assert "too common" in capsys.readouterr().err


def test_duplicate_username_is_refused(alice, capsys):
    assert main(["users", "create", "alice", "--email", "other@example.com"]) == 1
    assert "taken" in capsys.readouterr().err


def test_tokens_create_prints_only_a_working_token(alice, capsys):
    assert main(["tokens", "create", "alice"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert authenticate(out.strip()).user == alice


def test_tokens_create_for_a_project_without_a_role_is_refused(alice, make_user, capsys):
    project = Project.objects.create(name="Spam", normalized_name="spam")
    Role.objects.create(user=make_user("bob"), project=project, role_name=RoleName.OWNER)
    assert main(["tokens", "create", "alice", "--project", "spam"]) == 1
    assert "isn't allowed" in capsys.readouterr().err


def test_yank_and_unyank(alice, capsys):
    project = Project.objects.create(name="Spam", normalized_name="spam")
    Release.objects.create(
        project=project, version="1.0", canonical_version="1", metadata_version="2.4"
    )
    assert main(["yank", "Spam", "1.0.0", "--reason", "broken build"]) == 0
    release = Release.objects.get()
    assert release.yanked and release.yanked_reason == "broken build"
    assert Project.objects.get().last_serial > 0
    assert main(["unyank", "spam", "1.0"]) == 0
    release.refresh_from_db()
    assert not release.yanked and release.yanked_reason == ""


def test_a_yank_at_the_command_line_is_the_operators_action_and_the_gate_answers_it(
    capsys, monkeypatch
):
    from bastion.events.models import SecurityEvent
    from bastion.packaging import authz
    from bastion.packaging.models import JournalEntry

    project = Project.objects.create(name="Spam", normalized_name="spam")
    Release.objects.create(
        project=project, version="1.0", canonical_version="1", metadata_version="2.4"
    )
    assert main(["yank", "spam", "1.0", "--reason", "broken build"]) == 0
    event = SecurityEvent.objects.get(tag="release:yank")
    assert event.user is None and event.additional["actor"] == "operator"
    entry = JournalEntry.objects.get(action="yank release")
    assert entry.submitted_by is None and Project.objects.get().last_serial == entry.pk
    # The decision is the gate's: were the operator not granted yanking, the CLI is refused.
    monkeypatch.setattr(authz, "OPERATOR_ACTIONS", frozenset())
    capsys.readouterr()
    assert main(["unyank", "spam", "1.0"]) == 1
    assert "(not_for_the_operator)" in capsys.readouterr().err
    assert Release.objects.get().yanked


def test_yank_unknown_release_fails_clearly(alice, capsys):
    Project.objects.create(name="Spam", normalized_name="spam")
    assert main(["yank", "spam", "9.9", "--reason", "x"]) == 1
    assert "has no release '9.9'" in capsys.readouterr().err


def test_users_show_names_the_critical_projects_and_their_enforcement_dates(alice, capsys):
    project = Project.objects.create(name="Spam", normalized_name="spam")
    Role.objects.create(user=alice, project=project, role_name=RoleName.MAINTAINER)
    Project.objects.create(name="Eggs", normalized_name="eggs")
    Designation.objects.create(normalized_name="spam", reason={}, enforcement_date=date(2027, 1, 1))
    Designation.objects.create(normalized_name="eggs", reason={}, enforcement_date=date(2027, 1, 1))
    assert main(["users", "show", "alice", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["critical_projects"] == [{"name": "spam", "enforcement_date": "2027-01-01"}]
