"""The bastion command line: the operator's contract in DESIGN.md."""

import argparse
import json
import os
from datetime import date
from pathlib import Path

import pytest

from bastion import cli_types
from bastion.cli import build_parser, main
from bastion.critical.models import Designation
from bastion.jobs.schedule import SCHEDULE
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
    from bastion import authz
    from bastion.events.models import SecurityEvent
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


# ---------------------------------------------------------------------------------------------
# Every command, discovered from the parser: help for every argument, bad input in one line.


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser) for the top level and every command and subcommand under it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(build_parser()))
LEAVES = {path: p for path, p in COMMANDS.items() if "handler" in p._defaults}

#: For each argument type: a value it accepts and one it refuses. A new type needs a row here.
SAMPLES = {
    cli_types.positive_int: ("3", "abc"),
    cli_types.whole_number: ("0", "-1"),
    cli_types.iso_date: ("2026-05-01", "yesterday"),
    cli_types.hours: ("0.5", "-2"),
    cli_types.existing_file: (__file__, "/nonexistent/file.csv"),
    cli_types.bind_address: ("127.0.0.1", "127.0.0.1:http"),
    cli_types.existing_directory: (str(Path(__file__).parent), "/nonexistent/backup"),
    cli_types.new_or_empty_directory: ("/nonexistent/new-backup", str(Path(__file__).parent)),
}


def _valid_argv(parser: argparse.ArgumentParser, *, leave_out=None) -> list[str]:
    """The required arguments of a command, each with a value its type accepts."""
    argv = []
    for action in parser._actions:
        if action is leave_out or not (action.required or not action.option_strings):
            continue
        value = SAMPLES[action.type][0] if action.type else "x"
        argv += [action.option_strings[0], value] if action.option_strings else [value]
    return argv


def _run(capsys, argv):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def test_the_walk_finds_every_command():
    assert {"serve", "worker", "users", "stats", "keys"} <= {p[0] for p in COMMANDS if p}
    assert ("users", "create") in LEAVES and ("critical", "list") in LEAVES
    assert len(LEAVES) > 20


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "bastion")
def test_every_argument_of_every_command_has_help_without_markup(path, capsys):
    parser = COMMANDS[path]
    for action in parser._actions:
        helps = (
            [choice.help for choice in action._choices_actions]
            if isinstance(action, argparse._SubParsersAction)
            else [action.help]
        )
        for text in helps:
            assert text and text.strip(), f"{parser.prog}: {action.dest} has no help"
            assert "``" not in text, f"{parser.prog}: {action.dest} has reST markup"
    code, out, _ = _run(capsys, [*path, "--help"])
    assert code == 0 and "``" not in out
    assert parser.description and parser.description in " ".join(out.split())


def _typed_arguments():
    for path, parser in LEAVES.items():
        for action in parser._actions:
            if action.type is not None:
                yield pytest.param(path, action, id=f"{' '.join(path)} {action.dest}")


@pytest.mark.parametrize(("path", "action"), list(_typed_arguments()))
def test_bad_input_to_a_typed_argument_is_one_line_and_exit_2(path, action, capsys):
    assert action.type in SAMPLES, f"add a valid and an invalid sample for {action.type}"
    bad = SAMPLES[action.type][1]
    parser = COMMANDS[path]
    argv = [*path, *_valid_argv(parser, leave_out=action)]
    argv += [action.option_strings[0], bad] if action.option_strings else [bad]
    code, out, err = _run(capsys, argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err
    name = "/".join(action.option_strings) or action.metavar or action.dest
    assert err.startswith(f"{parser.prog}: error: argument {name}: ")
    assert repr(bad) in err


@pytest.mark.parametrize("path", list(LEAVES), ids=" ".join)
def test_an_unknown_option_names_the_command_it_was_given_to(path, capsys):
    code, out, err = _run(capsys, [*path, *_valid_argv(LEAVES[path]), "--jsn"])
    assert code == 2 and out == ""
    assert err.startswith(f"bastion {' '.join(path)}: error: unrecognized arguments: --jsn")
    assert err.count("\n") == 1


def test_a_missing_or_unknown_subcommand_is_one_line(capsys):
    code, _, err = _run(capsys, ["users"])
    assert code == 2 and err.startswith("bastion users: error: the following arguments are")
    assert err.count("\n") == 1
    code, _, err = _run(capsys, ["users", "delete"])
    assert code == 2 and "bastion users: error: argument COMMAND: invalid choice: 'delete'" in err
    assert err.count("\n") == 1


def test_stats_jsn_is_reported_against_stats(capsys):
    code, _, err = _run(capsys, ["stats", "--jsn"])
    assert code == 2
    assert (
        err == "bastion stats: error: unrecognized arguments: --jsn (see 'bastion stats --help')\n"
    )


def test_serve_bind_with_a_host_alone_serves_on_port_8000(monkeypatch, settings):
    served = {}
    monkeypatch.setattr("bastion.server.serve", lambda **kw: served.update(kw))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)  # serve sets it; undone after
    assert main(["serve", "--bind", "127.0.0.1", "--workers", "1"]) == 0
    assert served["bind"] == "127.0.0.1:8000"
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(settings.DATA_DIR / "metrics")
    assert served["options"].workers == 1


# ---------------------------------------------------------------------------------------------
# Saying something when there is nothing to say


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (["critical", "list"], "No project is critical."),
        (["keys", "report"], "No claims yet."),
        (["downloads", "rollup"], "Nothing new to roll up."),
    ],
)
def test_empty_listings_say_so(argv, sentence, settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path / "data"
    assert main(argv) == 0
    assert sentence in capsys.readouterr().out


def test_worker_once_says_what_ran_and_then_that_nothing_was_due(settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path / "data"
    assert main(["worker", "--once"]) == 0
    assert capsys.readouterr().out.startswith(f"Ran {len(SCHEDULE)} due job(s): downloads-rollup, ")
    assert main(["worker", "--once"]) == 0
    assert capsys.readouterr().out == "Nothing was due.\n"


def test_keys_import_codes_of_a_missing_file_is_one_line(capsys):
    code, _, err = _run(capsys, ["keys", "import-codes", "/nonexistent/codes.csv"])
    assert code == 2 and "[Errno" not in err
    assert err.startswith("bastion keys import-codes: error: argument FILE: no such file: ")


def test_serve_says_how_many_threads_each_process_has():
    from bastion.server import THREADS

    workers = next(a for a in COMMANDS[("serve",)]._actions if a.dest == "workers")
    assert f"each with {THREADS} threads" in workers.help
