"""``bastion names …`` and ``bastion upstream …``: allow a name the upstream has, purge the cache.

Django is set up by the time a handler runs, so the imports of models and services stay inside
the handlers (``bastion.cli`` imports this module before setting Django up).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys


def cmd_names_allow(args: argparse.Namespace) -> int:
    from bastion.upstream.services import allow_name

    try:
        allowed = allow_name(args.name, reason=args.reason, allowed_by=getpass.getuser())
    except ValueError as error:
        print(f"bastion: {error}", file=sys.stderr)
        return 1
    print(
        f"'{allowed.normalized_name}' may now be created here; once it is, its pages list only "
        "the files uploaded here, never the upstream's."
    )
    return 0


def cmd_upstream_purge(args: argparse.Namespace) -> int:
    from bastion.upstream.services import purge

    purged = purge(args.name)
    if args.json:
        print(json.dumps(vars(purged)))
    else:
        print(f"Purged '{purged.name}': {purged.files} file(s), {purged.bytes} bytes.")
    return 0


def add_to(commands, command) -> None:
    """Register ``names …`` and ``upstream …`` on the ``bastion`` parser."""
    names = commands.add_parser("names", help="names shared with the upstream index")
    names = names.add_subparsers(dest="names_command", required=True)
    allow = command(
        "allow",
        cmd_names_allow,
        parent=names,
        help="let a local project take a name the upstream index has too (recorded)",
    )
    allow.add_argument("name", metavar="NAME", help="the project name to allow")
    allow.add_argument("--reason", required=True, help="why; kept with a security event")

    upstream = commands.add_parser("upstream", help="the cache of the upstream index")
    upstream = upstream.add_subparsers(dest="upstream_command", required=True)
    purge = command(
        "purge", cmd_upstream_purge, parent=upstream, help="drop a cached upstream project"
    )
    purge.add_argument("name", metavar="NAME", help="the upstream project to drop")
    purge.add_argument("--json", action="store_true", help="print the report as JSON")
