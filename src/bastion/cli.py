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

from bastion.accounts import commands as accounts_commands
from bastion.cli_types import (
    bind_address,
    existing_directory,
    hours,
    new_or_empty_directory,
    positive_int,
)
from bastion.critical import commands as critical_commands
from bastion.downloads import commands as downloads_commands
from bastion.keys import commands as keys_commands
from bastion.publishing import commands as publishing_commands
from bastion.simple import commands as simple_commands
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
    call_command("createcachetable", verbosity=0)  # the rate limits' table, without Redis
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from bastion.server import Options, serve

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
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
    from bastion.jobs.backend import uses_database_backend

    if not args.once:
        worker.run()
        return 0
    due, tasks_run = worker.run_once()
    jobs = f"{len(due)} due job(s): {', '.join(due)}" if due else "no job was due"
    if uses_database_backend():
        print(f"Enqueued {jobs}; ran {tasks_run} queued task(s).")
    else:
        print(f"Ran {jobs}." if due else "Nothing was due.")
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from bastion import authz
    from bastion.accounts.models import User
    from bastion.packaging.services import get_project
    from bastion.tokens.services import create_token

    user = User.objects.filter(username=args.name).first()
    if user is None:
        return _fail(f"no user named '{args.name}'")
    if args.read_only and args.project:
        return _fail("--read-only tokens read the whole index: leave out --project")
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
            read_only=args.read_only,
        )
    except authz.Refused as refused:
        return _fail(refused.reason)
    print(minted.secret)
    return 0


def _set_yanked(args: argparse.Namespace, yanked: bool) -> int:
    """The operator yanks as themself: an actor the gate answers, recorded as the operator's."""
    from bastion import authz
    from bastion.authz.management import set_yanked
    from bastion.packaging.services import PackagingError, get_project

    project = get_project(args.project)
    if project is None:
        return _fail(f"no project named '{args.project}'")
    try:
        release = set_yanked(
            actor=authz.Actor.operator(),
            project=project,
            version=args.version,
            yanked=yanked,
            reason=getattr(args, "reason", ""),
        )
    except authz.Refused as refused:
        return _fail(f"{refused.reason} ({refused.code})")
    except PackagingError as error:
        return _fail(error.message)
    print(f"{'Yanked' if yanked else 'Unyanked'} {project.name} {release.version}")
    return 0


def cmd_yank(args: argparse.Namespace) -> int:
    return _set_yanked(args, yanked=True)


def cmd_unyank(args: argparse.Namespace) -> int:
    return _set_yanked(args, yanked=False)


class Parser(argparse.ArgumentParser):
    """An argparse parser that reports bad input in one line, naming the (sub)command.

    argparse's default prints the whole usage first; for a subcommand's unknown option it even
    prints the top-level usage, as if ``bastion stats --jsn`` had named no command at all.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Commands)

    def add_subparsers(self, **kwargs):
        kwargs.setdefault("metavar", "COMMAND")
        kwargs.setdefault("required", True)
        return super().add_subparsers(**kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Commands(argparse._SubParsersAction):
    """Subcommands whose own ``--help`` opens with the line their parent lists them with."""

    def add_parser(self, name: str, **kwargs):
        kwargs.setdefault("description", kwargs.get("help"))
        parser = super().add_parser(name, **kwargs)
        parser.set_defaults(command_parser=parser)  # the deepest one chosen wins
        return parser


DESCRIPTION = "Serve the Bastion package index, and operate it from a shell."
EPILOG = "Run 'bastion COMMAND --help' for the options of a command."


def cmd_storage_gc(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from bastion.packaging import storage_gc

    report = storage_gc.collect_garbage(timedelta(hours=args.older_than), dry_run=args.dry_run)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    verb = "would remove" if args.dry_run else "removed"
    for path in report.removed:
        print(f"{verb} {path}")
    print(
        f"{verb} {len(report.removed)} files ({report.removed_bytes} bytes); "
        f"{report.kept_young} younger than {args.older_than:g} h kept"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bastion.operations.checks import run_checks

    results = run_checks()
    failed = [r for r in results if r.failed]
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [r.as_dict() for r in results]}, indent=2))
        return 1 if failed else 0
    for result in results:
        label = {"ok": "ok", "failing": "FAILING", "not configured": "-"}[result.state]
        detail = result.detail or "not configured"
        print(f"{label:8} {result.name}: {detail}")
    if failed:
        return _fail(
            f"{len(failed)} of {len(results)} checks failed: " + ", ".join(r.name for r in failed)
        )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from bastion import backup

    try:
        report = backup.backup(args.directory)
    except backup.BackupError as error:
        return _fail(str(error))
    print(
        f"Backed up the {report.database} database, then {report.files:,} files "
        f"({report.bytes:,} bytes), into {report.directory}"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bastion import backup

    try:
        report = backup.restore(args.directory, force=args.force)
    except backup.BackupError as error:
        return _fail(str(error))
    print(
        f"Restored the {report.database} database and {report.files:,} files "
        f"({report.bytes:,} bytes) from {report.directory}; pages rendered"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bastion", description=DESCRIPTION, epilog=EPILOG)
    commands = parser.add_subparsers(dest="command")

    def command(name: str, handler: Callable[[argparse.Namespace], int], parent=commands, **kw):
        sub = parent.add_parser(name, **kw)
        sub.set_defaults(handler=handler)
        return sub

    serve = command("serve", cmd_serve, help="apply migrations, then serve the index")
    serve.add_argument(
        "--bind",
        type=bind_address,
        default="127.0.0.1:8000",
        metavar="ADDRESS",
        help="where to listen: HOST (port 8000), HOST:PORT, [IPV6]:PORT or unix:PATH "
        "(default %(default)s)",
    )
    serve.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="server processes, each with 8 threads (default: the number of CPUs, at least 2)",
    )
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

    check = command(
        "check",
        cmd_check,
        help="check the configuration and reach every configured service; exit 1 if one fails",
    )
    check.add_argument("--json", action="store_true", help="print the results as JSON")

    back_up = command(
        "backup",
        cmd_backup,
        help="copy the database, then the stored files and download statistics, into DIR",
    )
    back_up.add_argument(
        "directory", metavar="DIR", type=new_or_empty_directory, help="a new or empty directory"
    )
    restore = command(
        "restore", cmd_restore, help="load a backup made by 'bastion backup' and render the pages"
    )
    restore.add_argument(
        "directory", metavar="DIR", type=existing_directory, help="the backup's directory"
    )
    restore.add_argument(
        "--force", action="store_true", help="replace a database that already holds an index"
    )

    migrate = command("migrate", cmd_migrate, help="apply database migrations")
    migrate.add_argument("--verbose", action="store_true", help="list each migration applied")

    accounts_commands.add_to(commands, command)

    tokens = commands.add_parser("tokens", help="API tokens").add_subparsers(dest="tokens_command")
    token_create = command("create", cmd_tokens_create, parent=tokens, help="mint a token")
    token_create.add_argument("name", metavar="NAME", help="the user the token acts for")
    token_create.add_argument("--project", help="scope the token to one project")
    token_create.add_argument(
        "--expires-days", type=positive_int, metavar="N", help="expire after N days (default never)"
    )
    token_create.add_argument(
        "--label",
        default="created with bastion tokens create",
        help="a name for the token, shown on the account's token page (default: %(default)r)",
    )
    token_create.add_argument(
        "--read-only",
        action="store_true",
        help="a token that installs from a private index and never uploads (CI, laptops)",
    )

    yank = command("yank", cmd_yank, help="yank a release")
    yank.add_argument("project", metavar="PROJECT", help="the project name")
    yank.add_argument("version", metavar="VERSION", help="the release version")
    yank.add_argument("--reason", required=True, help="why; installers show it to users")
    unyank = command("unyank", cmd_unyank, help="unyank a release")
    unyank.add_argument("project", metavar="PROJECT", help="the project name")
    unyank.add_argument("version", metavar="VERSION", help="the release version")

    storage = commands.add_parser(
        "storage", help="look after the stored distribution files"
    ).add_subparsers(dest="storage_command", required=True)
    gc = command(
        "gc",
        cmd_storage_gc,
        parent=storage,
        help="remove stored files no row owns, partial writes and dead upload temporaries",
    )
    gc.add_argument(
        "--older-than",
        type=hours,
        default=24.0,
        metavar="HOURS",
        help="only what is older than this: younger files may be uploads in flight (%(default)s)",
    )
    gc.add_argument("--dry-run", action="store_true", help="list, remove nothing")
    gc.add_argument("--json", action="store_true", help="print the report as JSON")

    downloads_commands.add_to(commands, command)
    critical_commands.add_to(commands, command)
    keys_commands.add_to(commands, command)
    publishing_commands.add_to(commands, command)
    upstream_commands.add_to(commands, command)
    simple_commands.add_to(commands, command)
    return parser


def _prepare_server_metrics() -> None:
    """Every server process must find ``PROMETHEUS_MULTIPROC_DIR`` before prometheus_client is
    first imported, which Django's set-up does: so this runs before it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bastion.settings")
    from django.conf import settings  # the settings alone: no application is loaded yet

    from bastion.operations.startup import prepare_multiprocess_dir

    prepare_multiprocess_dir(settings.DATA_DIR)


def main(argv: list[str] | None = None) -> int:
    args, unrecognized = build_parser().parse_known_args(argv)
    if unrecognized:  # name the command they were given to, not just "bastion"
        args.command_parser.error(f"unrecognized arguments: {' '.join(unrecognized)}")
    if args.handler is cmd_serve:
        _prepare_server_metrics()
    _setup_django()
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
