"""The ``bastion`` command: serve the index and operate it from a shell.

Each subcommand parses its arguments, sets Django up, and calls the same services the web views
use, so the command line is never a way around the authorization gate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

from bastion.critical import commands as critical_commands
from bastion.downloads import commands as downloads_commands
from bastion.keys import commands as keys_commands
from bastion.upstream import commands as upstream_commands


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bastion.settings")
    import django

    django.setup()


def _fail(message: str, code: int = 1) -> int:
    print(f"bastion: {message}", file=sys.stderr)
    return code


def cmd_migrate(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from bastion.server import Options, serve

    call_command("migrate", interactive=False, verbosity=0)
    connections.close_all()  # never hand an open database connection to forked workers
    options = Options(
        workers=args.workers,
        verbose=args.verbose,
        access_log=settings.ACCESS_LOG and not args.no_access_log,
        builtin_worker=settings.WORKER == "builtin",
    )
    serve(bind=args.bind, public_url=settings.BASE_URL, options=options)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from bastion.jobs import worker

    worker.run(once=args.once)
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from django.core.exceptions import ValidationError

    from bastion.accounts.services import AccountError, create_user

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    try:
        user = create_user(
            username=args.name,
            email=args.email,
            password=password,
            admin=args.admin,
            verified=args.verified,
        )
    except ValidationError as error:
        return _fail("; ".join(error.messages))
    except AccountError as error:
        return _fail(str(error))
    print(f"Created user {user.username}")
    return 0


def cmd_users_show(args: argparse.Namespace) -> int:
    from bastion.accounts.selectors import user_summary

    summary = user_summary(args.name)
    if summary is None:
        return _fail(f"no user named '{args.name}'")
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    return 0


def cmd_accounts_check_domains(args: argparse.Namespace) -> int:
    from bastion.accounts.domains import default_resolver, unverify_emails_on_expired_domains

    resolver = default_resolver()
    if resolver is None:
        return _fail("set BASTION_RDAP_URL to an RDAP service to check email domains")
    changed = unverify_emails_on_expired_domains(resolver)
    if args.json:
        print(json.dumps([vars(item) for item in changed], indent=2))
    else:
        for item in changed:
            print(f"unverified {item.address} ({item.username}): {item.reason}")
        print(f"{len(changed)} address(es) unverified")
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from bastion.accounts.models import User
    from bastion.packaging import authz
    from bastion.packaging.services import get_project
    from bastion.tokens.services import TokenRefused, create_token

    user = User.objects.filter(username=args.name).first()
    if user is None:
        return _fail(f"no user named '{args.name}'")
    project = None
    if args.project:
        project = get_project(args.project)
        if project is None:
            return _fail(f"no project named '{args.project}'")
    try:
        minted = create_token(
            actor=authz.Actor(user=user),
            name=args.label,
            project=project,
            expires_days=args.expires_days,
        )
    except TokenRefused as refused:
        return _fail(refused.decision.reason)
    print(minted.secret)
    return 0


def _set_yanked(args: argparse.Namespace, yanked: bool) -> int:
    from bastion.packaging.services import PackagingError, get_project, set_yanked

    project = get_project(args.project)
    if project is None:
        return _fail(f"no project named '{args.project}'")
    try:
        release = set_yanked(
            actor=None,
            project=project,
            version=args.version,
            yanked=yanked,
            reason=getattr(args, "reason", ""),
        )
    except PackagingError as error:
        return _fail(error.message)
    print(f"{'Yanked' if yanked else 'Unyanked'} {project.name} {release.version}")
    return 0


def cmd_yank(args: argparse.Namespace) -> int:
    return _set_yanked(args, yanked=True)


def cmd_unyank(args: argparse.Namespace) -> int:
    return _set_yanked(args, yanked=False)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bastion", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], int], parent=commands, **kw):
        sub = parent.add_parser(name, **kw)
        sub.set_defaults(handler=handler)
        return sub

    serve = command("serve", cmd_serve, help="apply migrations, then serve the index")
    serve.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT (default %(default)s)")
    serve.add_argument("--workers", type=_positive_int, default=None, help="worker processes")
    serve.add_argument(
        "--verbose", action="store_true", help="also show uWSGI's own start-up and shutdown lines"
    )
    serve.add_argument(
        "--no-access-log",
        action="store_true",
        help="do not log each request (also BASTION_ACCESS_LOG=0)",
    )

    work = command("worker", cmd_worker, help="run scheduled jobs (and queued tasks)")
    work.add_argument("--once", action="store_true", help="run what is due, then exit (cron)")

    migrate = command("migrate", cmd_migrate, help="apply database migrations")
    migrate.add_argument("--verbose", action="store_true")

    users = commands.add_parser("users", help="manage accounts").add_subparsers(
        dest="users_command", required=True
    )
    create = command("create", cmd_users_create, parent=users, help="create an account")
    create.add_argument("name")
    create.add_argument("--email", required=True)
    create.add_argument("--password-stdin", action="store_true", help="read a password from stdin")
    create.add_argument("--admin", action="store_true")
    create.add_argument("--verified", action="store_true", help="mark the email as verified")
    show = command("show", cmd_users_show, parent=users, help="show an account")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")

    accounts = commands.add_parser("accounts", help="account maintenance").add_subparsers(
        dest="accounts_command", required=True
    )
    check_domains = command(
        "check-domains",
        cmd_accounts_check_domains,
        parent=accounts,
        help="unverify addresses whose email domain expired or changed hands (RDAP)",
    )
    check_domains.add_argument("--json", action="store_true")

    tokens = commands.add_parser("tokens", help="API tokens").add_subparsers(
        dest="tokens_command", required=True
    )
    token_create = command("create", cmd_tokens_create, parent=tokens, help="mint a token")
    token_create.add_argument("name", help="the user the token acts for")
    token_create.add_argument("--project", help="scope the token to one project")
    token_create.add_argument("--expires-days", type=_positive_int)
    token_create.add_argument("--label", default="created with bastion tokens create")

    yank = command("yank", cmd_yank, help="yank a release")
    yank.add_argument("project")
    yank.add_argument("version")
    yank.add_argument("--reason", required=True)
    unyank = command("unyank", cmd_unyank, help="unyank a release")
    unyank.add_argument("project")
    unyank.add_argument("version")

    downloads_commands.add_to(commands, command)
    critical_commands.add_to(commands, command)
    keys_commands.add_to(commands, command)
    upstream_commands.add_to(commands, command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_django()
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
