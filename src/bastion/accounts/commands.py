"""``bastion users …`` and ``bastion accounts …``: make and inspect accounts from a shell.

Django is set up by the time a handler runs, so the imports of models and services stay inside
the handlers (``bastion.cli`` imports this module before setting Django up).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

PROMPT = "Password (leave empty for none: the account then uses only API tokens): "


def _fail(message: str) -> int:
    print(f"bastion: {message}", file=sys.stderr)
    return 1


def _passwords(args: argparse.Namespace) -> tuple[str, str] | None:
    """The new password and its confirmation, or None for an account without a password.

    A password comes from standard input with ``--password-stdin`` (one line), or is typed
    twice without echo when standard input is a terminal; otherwise the account has none.
    """
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            args.command_parser.error("--password-stdin read an empty password")
        return password, password
    if not sys.stdin.isatty():
        return None
    password = getpass.getpass(PROMPT)
    if not password:
        return None
    return password, getpass.getpass("Password (again): ")


def _form_errors(form) -> str:
    """The form's errors on one line, each under the name the command line gives the field."""
    names = {"username": "NAME", "email": "--email", "password1": "password"}
    return "; ".join(
        f"{names.get(field, 'password')}: {' '.join(messages)}"
        for field, messages in form.errors.items()
    )


def cmd_users_create(args: argparse.Namespace) -> int:
    from django.core.exceptions import ValidationError

    from bastion.accounts.forms import NewAccountForm, RegistrationForm
    from bastion.accounts.services import AccountError, create_user

    passwords = _passwords(args)
    data = {"username": args.name, "email": args.email}
    if passwords is None:
        form = NewAccountForm(data)
    else:
        form = RegistrationForm({**data, "password1": passwords[0], "password2": passwords[1]})
    if not form.is_valid():
        args.command_parser.error(_form_errors(form))
    try:
        user = create_user(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=passwords[0] if passwords else None,
            admin=args.admin,
            verified=args.verified,
        )
    except ValidationError as error:  # the password validators, as on the sign-up page
        args.command_parser.error(f"password: {' '.join(error.messages)}")
    except AccountError as error:  # taken since the form looked
        return _fail(str(error))
    print(f"Created user {user.username}" + ("" if passwords else " (no password)"))
    return 0


def describe(summary: dict) -> list[str]:
    """``bastion users show``: the account summary as lines a person reads."""
    email = summary["email"] or "none"
    if summary["email"]:
        email += " (verified)" if summary["email_verified"] else " (not verified)"
    factors = summary["two_factor"]
    methods = [
        "an authenticator app" if factors["totp"] else "",
        _count(factors["webauthn_keys"], "security key"),
        _count(factors["passkeys"], "passkey"),
    ]
    methods = [m for m in methods if m]
    if methods:
        codes = _count(factors["recovery_codes_left"], "recovery code") or "no recovery codes"
        methods.append(f"{codes} left")
    roles = [f"{p['name']} ({p['role']})" for p in summary["projects"]]
    critical = [
        f"{p['name']} (2FA enforced from {p['enforcement_date']})"
        for p in summary["critical_projects"]
    ]
    state = "active" if summary["is_active"] else "deactivated"
    return [
        f"{summary['username']}: {'an admin' if summary['is_admin'] else 'a user'}, {state}, "
        f"joined {summary['date_joined'][:10]}",
        f"  email: {email}",
        f"  two-factor: {', '.join(methods) or 'none'}",
        f"  projects: {', '.join(roles) or 'none'}",
        f"  critical projects: {', '.join(critical) or 'none'}",
    ]


def _count(number: int, noun: str) -> str:
    if not number:
        return ""
    return f"{number} {noun}" + ("" if number == 1 else "s")


def cmd_users_show(args: argparse.Namespace) -> int:
    from bastion.critical.selectors import user_summary

    summary = user_summary(args.name)
    if summary is None:
        return _fail(f"no user named '{args.name}'")
    print(json.dumps(summary, indent=2) if args.json else "\n".join(describe(summary)))
    return 0


def cmd_accounts_check_domains(args: argparse.Namespace) -> int:
    from bastion.accounts.domains import default_resolver, unverify_emails_on_expired_domains

    resolver = default_resolver()
    if resolver is None:
        return _fail("set BASTION_RDAP_URL to an RDAP service to check email domains")
    changed = unverify_emails_on_expired_domains(resolver)
    if args.json:
        print(json.dumps([vars(item) for item in changed], indent=2))
        return 0
    for item in changed:
        print(f"unverified {item.address} ({item.username}): {item.reason}")
    print(f"{len(changed)} address(es) unverified." if changed else "No address was unverified.")
    return 0


def cmd_users_invite(args: argparse.Namespace) -> int:
    from bastion.accounts.invitations import invite
    from bastion.accounts.models import User
    from bastion.accounts.services import AccountError

    inviter = None
    if args.by:
        inviter = User.objects.filter(username=args.by).first()
        if inviter is None:
            return _fail(f"no user named '{args.by}'")
    try:
        link = invite(email=args.email, invited_by=inviter)
    except AccountError as error:
        return _fail(str(error))
    print(link)
    return 0


def add_to(commands, command) -> None:
    """Register ``users …`` and ``accounts …`` on the ``bastion`` parser."""
    users = commands.add_parser("users", help="create and show accounts").add_subparsers(
        dest="users_command"
    )
    create = command("create", cmd_users_create, parent=users, help="create an account")
    create.add_argument("name", metavar="NAME", help="user name: letters, digits and @ . + - _")
    create.add_argument("--email", required=True, help="the account's primary email address")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (on a terminal without "
        "this flag, it is asked for twice, not echoed; otherwise the account has no password "
        "and uses only API tokens)",
    )
    create.add_argument(
        "--admin", action="store_true", help="an administrator: may sign in to /admin/"
    )
    create.add_argument("--verified", action="store_true", help="mark the email as verified")
    show = command("show", cmd_users_show, parent=users, help="show an account")
    show.add_argument("name", metavar="NAME", help="the user name")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    invite = command(
        "invite",
        cmd_users_invite,
        parent=users,
        help="mail EMAIL a link that registers one account (BASTION_REGISTRATION=invite)",
    )
    invite.add_argument("email", metavar="EMAIL", help="the address to invite")
    invite.add_argument(
        "--by", metavar="NAME", help="the administrator the invitation names (a user name)"
    )

    accounts = commands.add_parser("accounts", help="account maintenance").add_subparsers(
        dest="accounts_command"
    )
    check_domains = command(
        "check-domains",
        cmd_accounts_check_domains,
        parent=accounts,
        help="unverify addresses whose email domain expired or changed hands (RDAP)",
    )
    check_domains.add_argument("--json", action="store_true", help="print JSON instead of text")
