"""``bastion keys …``: load promo codes, report on the program, send the reminders.

Django is set up by the time a handler runs, so the imports of models and services stay inside
the handlers (``bastion.cli`` imports this module before setting Django up).
"""

from __future__ import annotations

import argparse
import json
import sys

from bastion.cli_types import existing_file


def _fail(message: str) -> int:
    print(f"bastion: {message}", file=sys.stderr)
    return 1


def cmd_import_codes(args: argparse.Namespace) -> int:
    from bastion.keys import services

    try:
        result = services.import_codes(args.file)
    except (OSError, services.ImportRefused) as error:
        return _fail(str(error))
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        for line, reason in result.bad:
            print(f"line {line}: {reason}", file=sys.stderr)
        if result.duplicates:
            lines = ", ".join(map(str, result.duplicates))
            print(f"{len(result.duplicates)} duplicate(s) skipped (lines {lines})")
        if result.bad:
            print(f"{len(result.bad)} bad row(s); nothing was imported. Fix them and run again.")
        else:
            print(f"Imported {result.added} code(s).")
    return 1 if result.bad else 0


def cmd_report(args: argparse.Namespace) -> int:
    from bastion.keys.selectors import report

    data = report()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"Codes left: {data['codes_left']} of {data['codes_total']}")
    for row in data["codes"]:
        where = row["country"] or "any country"
        print(f"  {row['vendor']}\t{where}\t{row['left']} of {row['total']} left")
    if data["claims_per_day"]:
        print("Claims per day:")
        for row in data["claims_per_day"]:
            print(f"  {row['day']}\t{row['claims']}")
    else:
        print("No claims yet.")
    print(
        f"Claimers who registered a security key afterwards: {data['claimers_with_key']} of "
        f"{data['claimers']} ({data['registered_share']:.1%}); "
        f"{data['reminders_sent']} reminder(s) sent"
    )
    return 0


def cmd_remind(args: argparse.Namespace) -> int:
    from bastion.keys.services import send_reminders

    print(f"Sent {send_reminders()} reminder(s).")
    return 0


def add_to(commands, command) -> None:
    """Register ``keys …`` on the ``bastion`` parser."""
    keys = commands.add_parser("keys", help="the hardware security key program").add_subparsers(
        dest="keys_command"
    )
    load = command(
        "import-codes",
        cmd_import_codes,
        parent=keys,
        help="load promo codes from a CSV with the header code,vendor,country,batch",
    )
    load.add_argument(
        "file", type=existing_file, metavar="FILE", help="the CSV file from the vendor or batch"
    )
    load.add_argument("--json", action="store_true", help="print JSON instead of text")
    report = command("report", cmd_report, parent=keys, help="stock, claims and key registrations")
    report.add_argument("--json", action="store_true", help="print JSON instead of text")
    command(
        "remind",
        cmd_remind,
        parent=keys,
        help="mail claimers with no security key registered yet (run it daily)",
    )
