"""``bastion critical …`` and ``bastion stats``: the designation job and its explanations.

Django is set up by the time a handler runs, so the imports of models and services stay inside
the handlers (``bastion.cli`` imports this module before setting Django up).
"""

from __future__ import annotations

import argparse
import json
import sys

from bastion.cli_types import whole_number


def _fail(message: str) -> int:
    print(f"bastion: {message}", file=sys.stderr)
    return 1


def _admin(username: str):
    from bastion.accounts.models import User

    return User.objects.filter(username=username).first()


def cmd_designate(args: argparse.Namespace) -> int:
    from bastion.critical import services

    result = services.designate(dry_run=True) if args.dry_run else services.daily()
    data = result.as_dict()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    window = f"Window {data['window']['since']} to {data['window']['until']}"
    if data["ranked_names"]:
        print(
            f"{window}: {data['ranked_names']:,} names ranked; the cut-off is rank "
            f"{data['cutoff_rank']:,} with {data['cutoff_downloads']:,} downloads."
        )
    else:
        print(f"{window}: no installer downloads, so no name is critical by rank.")
    verb = "would be" if args.dry_run else "is"
    print(f"{data['critical']:,} names {verb} critical, {len(data['added']):,} of them new.")
    for added in data["added"]:
        print(
            f"+ {added['name']}: {added['explanation']} (enforced from {added['enforcement_date']})"
        )
    for name in data["kept_without_qualifying"]:
        print(f"= {name}: no longer qualifies, stays critical (designations are sticky)")
    if not args.dry_run:
        print(f"Notified {data['notified']} people; reminded {data['reminded']}.")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from bastion.critical.selectors import explain

    answer = explain(args.name)
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    name = answer["name"]
    if "reason" not in answer:
        print(f"{name} is not critical.")
        return 0
    if "removed" in answer:
        removed = answer["removed"]
        print(
            f"{name} is no longer critical: {removed['by']} removed the designation on "
            f"{removed['when']} ({removed['reason']})."
        )
    else:
        state = "enforced since" if answer["enforced"] else "enforced from"
        print(
            f"{name} is critical since {answer['designated']}; 2FA is {state} "
            f"{answer['enforcement_date']}."
        )
    print(f"Why: {answer['explanation']}.")
    if not answer["hosted"]:
        print(f"{name} is not hosted here; creating it needs two-factor authentication.")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from bastion.critical.designation import reason_from_dict
    from bastion.critical.models import Designation

    designations = Designation.objects.active().order_by("normalized_name")
    if args.json:
        print(json.dumps([d.normalized_name for d in designations], indent=2))
        return 0
    if not designations.exists():
        print("No project is critical.")
        return 0
    for designation in designations.iterator():
        reason = reason_from_dict(designation.reason)
        print(
            f"{designation.normalized_name}\tsince {designation.designated_at.date()}\t"
            f"enforced from {designation.enforcement_date}\t{reason.describe()}"
        )
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from bastion.authz import designations
    from bastion.critical import services

    admin = _admin(args.admin)
    if admin is None:
        return _fail(f"no user named '{args.admin}'")
    try:
        designation = designations.designate_manually(
            admin=admin, name=args.name, note=args.note, grace_days=args.grace_days
        )
    except services.CriticalError as error:
        return _fail(str(error))
    print(
        f"{designation.normalized_name} is critical; 2FA is enforced from "
        f"{designation.enforcement_date}."
    )
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from bastion.authz import designations
    from bastion.critical import services

    admin = _admin(args.admin)
    if admin is None:
        return _fail(f"no user named '{args.admin}'")
    try:
        designation = designations.remove(admin=admin, name=args.name, reason=args.reason)
    except services.CriticalError as error:
        return _fail(str(error))
    print(f"{designation.normalized_name} is no longer critical.")
    return 0


def _print_upload_methods(uploads: dict) -> None:
    from bastion.packaging.models import UploadMethod

    for group, counts in uploads.items():
        where = group.replace("_", " ")
        print(f"Files on {where}: {counts['files']}, uploaded with")
        for method in UploadMethod:
            count = counts["by_method"][method]
            if method != UploadMethod.UNKNOWN or count["files"]:
                print(f"  {method.label}: {count['files']} ({count['share']:.1%})")


def cmd_stats(args: argparse.Namespace) -> int:
    from bastion.critical.selectors import adoption
    from bastion.publishing.attestations import attestation_shares
    from bastion.upstream.selectors import MOST_INSTALLED_DAYS, most_installed

    numbers = adoption()
    numbers["upstream_most_installed"] = most_installed()
    numbers["attestations"] = attestation_shares()
    if args.json:
        print(json.dumps(numbers, indent=2))
        return 0
    print(
        f"Critical projects: {numbers['critical_projects']} "
        f"({numbers['critical_projects_hosted']} hosted here)"
    )
    print(
        f"Critical accounts: {numbers['critical_accounts']}, "
        f"{numbers['critical_accounts_2fa_share']:.1%} with 2FA"
    )
    for method, counts in numbers["critical_accounts_by_method"].items():
        print(f"  {method}: {counts['accounts']} ({counts['share']:.1%})")
    print(
        f"Other accounts: {numbers['other_accounts']}, "
        f"{numbers['other_accounts_2fa_share']:.1%} with 2FA (voluntary)"
    )
    _print_upload_methods(numbers["uploads"])
    _print_attestation_shares(numbers["attestations"])
    if numbers["upstream_most_installed"]:
        print(
            f"Upstream projects this organisation installs most (last {MOST_INSTALLED_DAYS} days):"
        )
        for rank, row in enumerate(numbers["upstream_most_installed"], start=1):
            flag = "  critical" if row["critical"] else ""
            print(f"  {rank:>3}. {row['name']}: {row['downloads']}{flag}")
    return 0


def _print_attestation_shares(shares: dict) -> None:
    for label, key in [("all projects", "all"), ("critical projects", "critical")]:
        counts = shares[key]
        print(
            f"Files with attestations, {label}: {counts['attested']} of {counts['files']} "
            f"({counts['share']:.1%})"
        )


def add_to(commands, command) -> None:
    """Register ``critical …`` and ``stats`` on the ``bastion`` parser."""
    critical = commands.add_parser("critical", help="critical projects").add_subparsers(
        dest="critical_command"
    )
    designate = command("designate", cmd_designate, parent=critical, help="run the designation job")
    designate.add_argument("--dry-run", action="store_true", help="print the diff; change nothing")
    designate.add_argument("--json", action="store_true", help="print JSON instead of text")
    explain = command("explain", cmd_explain, parent=critical, help="why a project is critical")
    explain.add_argument("name", metavar="NAME", help="a project name, hosted here or not")
    explain.add_argument("--json", action="store_true", help="print JSON instead of text")
    listing = command("list", cmd_list, parent=critical, help="list the critical projects")
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")
    add = command("add", cmd_add, parent=critical, help="designate a project by hand")
    add.add_argument("name", metavar="NAME", help="the project name, hosted here or not")
    add.add_argument("--admin", required=True, help="the admin who designates it")
    add.add_argument("--note", required=True, help="why; shown to people")
    add.add_argument(
        "--grace-days",
        type=whole_number,
        default=None,
        metavar="N",
        help="days until 2FA is enforced (default BASTION_CRITICAL_GRACE_DAYS)",
    )
    remove = command("remove", cmd_remove, parent=critical, help="remove a designation")
    remove.add_argument("name", metavar="NAME", help="the project name")
    remove.add_argument("--admin", required=True, help="the admin who removes it")
    remove.add_argument("--reason", required=True, help="why; kept with the designation")

    stats = command(
        "stats", cmd_stats, help="critical projects, 2FA adoption and how files were uploaded"
    )
    stats.add_argument("--json", action="store_true", help="print JSON instead of text")
