"""``bastion pages export DIR|s3://BUCKET/PREFIX``: the read side as a static tree.

Django is set up by the time a handler runs, so the imports of models and services stay inside
the handlers (``bastion.cli`` imports this module before setting Django up).
"""

from __future__ import annotations

import argparse


def cmd_pages_export(args: argparse.Namespace) -> int:
    from bastion.simple.export import export

    count = export(args.destination)
    print(f"Exported the pages of {count:,} projects and the project list to {args.destination}")
    return 0


def add_to(commands, command) -> None:
    """Register ``pages export`` on the ``bastion`` parser."""
    pages = commands.add_parser("pages", help="the rendered simple pages and JSON API")
    pages = pages.add_subparsers(dest="pages_command", required=True)
    export = command(
        "export",
        cmd_pages_export,
        parent=pages,
        help="write the project list, project pages and JSON API as a static tree for nginx "
        "or a CDN",
    )
    export.add_argument(
        "destination", metavar="DIR|s3://BUCKET/PREFIX", help="a directory, or a bucket and prefix"
    )
