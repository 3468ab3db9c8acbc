"""``bastion publishers …``: add, list and remove a project's trusted publishers.

An operator at the command line acts as nobody in particular (as ``bastion yank`` does); with
``--user NAME`` the change is made as that account, through the gate, as on the web page. A
pending publisher (for a project that does not exist yet) always needs ``--user``: that account
will own the project it creates the first time its CI job asks for an upload token.

Django is set up by the time a handler runs, so the imports of models and services stay inside
the handlers (``bastion.cli`` imports this module before setting Django up).
"""

from __future__ import annotations

import argparse
import json
import sys

from bastion.cli_types import positive_int


def _fail(message: str) -> int:
    print(f"bastion: {message}", file=sys.stderr)
    return 1


def _actor(username: str | None):
    from bastion import authz
    from bastion.accounts.models import User

    if username is None:
        return authz.Actor.operator()  # the operator, whom the gate answers too
    user = User.objects.filter(username=username).first()
    if user is None:
        raise LookupError(f"no user named '{username}'")
    return authz.Actor(user=user)


def cmd_add(args: argparse.Namespace) -> int:
    from bastion import authz
    from bastion.packaging.services import PackagingError, get_project
    from bastion.publishing import services

    if not (args.github or args.gitlab):
        args.command_parser.error("one of the arguments --github --gitlab is required")
    kind, repository = ("github", args.github) if args.github else ("gitlab", args.gitlab)
    fields = {
        "kind": kind,
        "repository": repository,
        "workflow": args.workflow,
        "environment": args.environment or "",
        "issuer": args.issuer,
    }
    try:
        actor = _actor(args.user)
        project = get_project(args.project)
        if project is not None:
            publisher = services.add_publisher(actor=actor, project=project, **fields)
        elif actor.user is None:  # the operator: a pending publisher needs its future owner
            return _fail(
                f"no project named '{args.project}'; to let its CI job create it, name "
                "its owner with --user"
            )
        else:
            publisher = services.add_pending_publisher(actor=actor, name=args.project, **fields)
    except LookupError as error:
        return _fail(str(error))
    except authz.Refused as refused:
        return _fail(f"{refused.reason} ({refused.code})")
    except PackagingError as error:
        return _fail(error.message)
    pending = (
        " (pending: its first upload token creates the project)" if publisher.is_pending else ""
    )
    print(f"Added trusted publisher {publisher.pk}: {publisher}{pending}")
    return 0


def _publishers_for(name: str):
    from bastion.packaging.services import get_project
    from bastion.publishing import services
    from bastion.publishing.models import Publisher

    project = get_project(name)
    if project is not None:
        return services.publishers_of(project)
    return Publisher.objects.filter(project__isnull=True, pending_normalized_name=name)


def cmd_list(args: argparse.Namespace) -> int:
    from bastion.packaging.services import normalize
    from bastion.publishing import services

    publishers = list(_publishers_for(normalize(args.project)).select_related("added_by"))
    if args.json:
        print(json.dumps([services.as_dict(publisher) for publisher in publishers], indent=2))
        return 0
    if not publishers:
        print(f"No trusted publishers for {args.project}.")
    for publisher in publishers:
        pending = " (pending)" if publisher.is_pending else ""
        print(f"{publisher.pk}\t{publisher}{pending}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from bastion import authz
    from bastion.packaging.services import PackagingError, normalize
    from bastion.publishing import services

    try:
        actor = _actor(args.user)
        publisher = _publishers_for(normalize(args.project)).filter(pk=args.id).first()
        if publisher is None:
            return _fail(f"{args.project} has no trusted publisher {args.id}")
        services.remove_publisher(actor=actor, publisher=publisher)
    except LookupError as error:
        return _fail(str(error))
    except authz.Refused as refused:
        return _fail(f"{refused.reason} ({refused.code})")
    except PackagingError as error:
        return _fail(error.message)
    print(f"Removed trusted publisher {args.id}: {publisher}")
    return 0


def add_to(commands, command) -> None:
    """Register ``publishers …`` on the ``bastion`` parser."""
    publishers = commands.add_parser(
        "publishers", help="trusted publishers: CI jobs that may upload without a stored token"
    ).add_subparsers(dest="publishers_command")

    add = command(
        "add",
        cmd_add,
        parent=publishers,
        help="let a GitHub Actions or GitLab CI/CD workflow publish a project",
    )
    add.add_argument(
        "project",
        metavar="PROJECT",
        help="the project; a name not yet taken makes a pending publisher (needs --user)",
    )
    where = add.add_mutually_exclusive_group()  # one is required; checked in cmd_add
    where.add_argument("--github", metavar="OWNER/REPO", help="a GitHub repository")
    where.add_argument(
        "--gitlab", metavar="NAMESPACE/PROJECT", help="a GitLab project (with any subgroups)"
    )
    add.add_argument(
        "--workflow",
        required=True,
        metavar="FILE",
        help="GitHub: the workflow file name in .github/workflows/ (e.g. release.yml); "
        "GitLab: the CI config file path (e.g. .gitlab-ci.yml)",
    )
    add.add_argument(
        "--environment",
        metavar="ENV",
        help="only jobs in this deployment environment may publish (default: any)",
    )
    add.add_argument(
        "--issuer",
        metavar="URL",
        help="the OIDC issuer, one of BASTION_OIDC_ISSUERS of this kind (default: github's, "
        "or https://gitlab.com)",
    )
    add.add_argument(
        "--user",
        metavar="NAME",
        help="act as this account, through the same rules as the web page; for a pending "
        "publisher, the account that will own the project",
    )

    listing = command("list", cmd_list, parent=publishers, help="list a project's publishers")
    listing.add_argument("project", metavar="PROJECT", help="the project (or a pending name)")
    listing.add_argument("--json", action="store_true", help="print JSON, for scripts")

    remove = command("remove", cmd_remove, parent=publishers, help="remove a trusted publisher")
    remove.add_argument("project", metavar="PROJECT", help="the project (or a pending name)")
    remove.add_argument(
        "id", metavar="ID", type=positive_int, help="the publisher's id, from 'list'"
    )
    remove.add_argument(
        "--user", metavar="NAME", help="act as this account, through the web page's rules"
    )
