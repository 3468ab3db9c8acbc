"""``bastion users create`` and ``users show``: the sign-up page's rules, and text people read."""

import io

import pytest

from bastion.accounts.models import User
from bastion.cli import main
from bastion.mfa.models import TOTPDevice
from bastion.packaging.models import Project, Role, RoleName

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def refused(capsys, *argv: str) -> str:
    """Run a command that must be refused as bad input; return its one line on stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    captured = capsys.readouterr()
    assert exited.value.code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    return captured.err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """Standard input is a terminal; ``typed`` holds what the person types at each prompt."""
    typed, prompts = [], []
    monkeypatch.setattr("sys.stdin", Terminal())

    def getpass(prompt):
        prompts.append(prompt)
        return typed.pop(0)

    monkeypatch.setattr("getpass.getpass", getpass)
    return typed, prompts


def test_an_invalid_email_is_refused_as_on_the_sign_up_page(capsys):
    err = refused(capsys, "users", "create", "alice", "--email", "notanemail")
    assert err.startswith("bastion users create: error: --email: Enter a valid email address.")
    assert not User.objects.exists()


@pytest.mark.parametrize("name", ["bad name/x", "a/b", "white space", "x" * 151])
def test_a_user_name_the_profile_page_cannot_show_is_refused(capsys, name):
    err = refused(capsys, "users", "create", name, "--email", "a@example.com")
    assert err.startswith("bastion users create: error: NAME: ")
    assert not User.objects.exists()


def test_an_empty_password_on_stdin_is_refused(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    err = refused(capsys, "users", "create", "bob", "--email", "b@example.com", "--password-stdin")
    assert "--password-stdin read an empty password" in err
    assert not User.objects.exists()


def test_a_password_from_stdin_works(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "create", "bob", "--email", "b@example.com", "--password-stdin"]) == 0
    assert User.objects.get(username="bob").check_password(PASSWORD)


def test_a_weak_password_is_refused_by_the_same_validators(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("password\n"))
    err = refused(capsys, "users", "create", "bob", "--email", "b@example.com", "--password-stdin")
    assert "password: " in err and "too common" in err
    assert not User.objects.exists()


def test_a_taken_name_is_refused(alice, capsys):
    err = refused(capsys, "users", "create", "Alice", "--email", "other@example.com")
    assert "NAME: This username is taken." in err


def test_on_a_terminal_the_password_is_asked_twice_without_echo(terminal, capsys):
    typed, prompts = terminal
    typed += [PASSWORD, PASSWORD]
    assert main(["users", "create", "carol", "--email", "c@example.com"]) == 0
    assert len(prompts) == 2 and prompts[0].startswith("Password")
    assert User.objects.get(username="carol").check_password(PASSWORD)
    assert PASSWORD not in capsys.readouterr().out


def test_on_a_terminal_two_different_passwords_are_refused(terminal, capsys):
    terminal[0].extend([PASSWORD, PASSWORD + "!"])
    err = refused(capsys, "users", "create", "carol", "--email", "c@example.com")
    assert "The two passwords differ." in err
    assert not User.objects.exists()


def test_on_a_terminal_an_empty_password_makes_a_token_only_account(terminal, capsys):
    terminal[0].append("")
    assert main(["users", "create", "dan", "--email", "d@example.com"]) == 0
    assert "(no password)" in capsys.readouterr().out
    assert not User.objects.get(username="dan").has_usable_password()


def test_users_show_prints_text_not_a_dict(alice, capsys):
    project = Project.objects.create(name="Spam", normalized_name="spam")
    Role.objects.create(user=alice, project=project, role_name=RoleName.OWNER)
    TOTPDevice.objects.create(user=alice, encrypted_secret="not-used-here")
    assert main(["users", "show", "alice"]) == 0
    out = capsys.readouterr().out
    assert "{" not in out and "[" not in out
    assert "email: alice@example.com (verified)" in out
    assert "two-factor: an authenticator app, no recovery codes left" in out
    assert "projects: spam (Owner)" in out
    assert "critical projects: none" in out


def test_users_show_of_an_account_with_nothing(make_user, capsys):
    make_user("eve", verified=False)
    assert main(["users", "show", "eve"]) == 0
    out = capsys.readouterr().out
    assert "eve: a user, active, joined " in out
    assert "email: eve@example.com (not verified)" in out
    assert "two-factor: none" in out and "projects: none" in out
