"""``bastion downloads …``: import PyPI's download data, roll it up, and hand work to BigQuery."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from bastion.cli_types import existing_file, iso_date


def _print_skips(skipped: dict[str, int], examples: dict[str, list[str]]) -> None:
    for reason, count in sorted(skipped.items()):
        print(f"  skipped {count:,}: {reason}")
        for example in examples.get(reason, []):
            print(f"    e.g. {example[:200]}")


def _report_json(report) -> dict:
    return {**asdict(report), "rows_read": report.rows_read, "rows_skipped": report.rows_skipped}


def cmd_import(args: argparse.Namespace) -> int:
    from bastion.downloads import services

    results = services.import_exports(args.files, progress=not args.json)
    failed = [r for r in results if isinstance(r, services.ImportFailed)]
    reports = [r for r in results if not isinstance(r, services.ImportFailed)]
    if args.json:
        print(
            json.dumps(
                {
                    "imports": [_report_json(r) for r in reports],
                    "failed": [str(f) for f in failed],
                },
                indent=2,
            )
        )
        return 1 if failed else 0
    for report in reports:
        if report.already_imported:
            print(f"{report.source}: already imported (same content); nothing changed")
            continue
        print(
            f"{report.source}: {report.rows_read:,} rows read, {report.rows_imported:,} imported, "
            f"{report.rows_skipped:,} skipped, {report.projects:,} projects touched"
        )
        _print_skips(report.skipped, report.examples)
    for failure in failed:
        print(f"bastion: {failure}", file=sys.stderr)
    new = [r for r in reports if not r.already_imported]
    print(
        f"Total: {sum(r.rows_read for r in new):,} rows read, "
        f"{sum(r.rows_imported for r in new):,} imported, "
        f"{sum(r.rows_skipped for r in new):,} skipped, in {len(new)} new file(s); "
        f"{len(reports) - len(new)} already imported, {len(failed)} failed. "
        "Run 'bastion downloads rollup' to update the daily counts."
    )
    return 1 if failed else 0


def cmd_rollup(args: argparse.Namespace) -> int:
    from bastion.downloads import services

    report = services.rebuild_rollup(every_day=args.all)
    summary = {
        "days_rebuilt": report.days,
        "rollup_rows": report.rows,
        "partitions_read": report.partitions,
        "recorded_events_compacted": sum(r.rows_imported for r in report.compacted),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    elif report.days:
        print(
            f"Rebuilt {len(report.days)} day(s) ({report.days[0]} to {report.days[-1]}): "
            f"{report.rows:,} rollup rows from {report.partitions} partition(s); "
            f"{summary['recorded_events_compacted']:,} recorded downloads compacted."
        )
    else:
        print("Nothing new to roll up.")
    return 0


def cmd_bigquery_sql(args: argparse.Namespace) -> int:
    from bastion.downloads import services

    print(services.bigquery_sql(args.since), end="")
    return 0


def cmd_import_rollup(args: argparse.Namespace) -> int:
    from bastion.downloads import services

    try:
        report = services.import_rollup(args.file)
    except services.ImportFailed as failure:
        print(f"bastion: {failure}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_report_json(report), indent=2))
        return 0
    if report.already_imported:
        print(f"{args.file}: already imported (same content); nothing changed")
        return 0
    print(
        f"{args.file}: {report.rows_read:,} rows read, {report.rows_imported:,} imported, "
        f"{report.rows_skipped:,} skipped, {report.projects:,} projects, "
        f"{len(report.days)} day(s); the daily counts of those days are updated."
    )
    _print_skips(report.skipped, report.examples)
    return 0


def add_to(commands, command) -> None:
    """Register the ``downloads`` subcommands with the main ``bastion`` parser."""
    downloads = commands.add_parser("downloads", help="download statistics").add_subparsers(
        dest="downloads_command"
    )
    imports = command(
        "import", cmd_import, parent=downloads, help="import BigQuery file_downloads exports"
    )
    imports.add_argument("files", nargs="+", metavar="FILE", help="JSON lines, CSV or Parquet")
    imports.add_argument("--json", action="store_true", help="print JSON instead of text")
    rollup = command("rollup", cmd_rollup, parent=downloads, help="rebuild affected daily counts")
    rollup.add_argument("--json", action="store_true", help="print JSON instead of text")
    rollup.add_argument(
        "--all", action="store_true", help="rebuild every day, e.g. after rollup files were lost"
    )
    sql = command(
        "bigquery-sql", cmd_bigquery_sql, parent=downloads, help="print the BigQuery rollup query"
    )
    sql.add_argument(
        "--since", required=True, type=iso_date, metavar="YYYY-MM-DD", help="the first day to count"
    )
    rollup_import = command(
        "import-rollup", cmd_import_rollup, parent=downloads, help="load the BigQuery query's CSV"
    )
    rollup_import.add_argument(
        "file",
        type=existing_file,
        metavar="FILE",
        help="the CSV result of 'bastion downloads bigquery-sql' run on BigQuery",
    )
    rollup_import.add_argument("--json", action="store_true", help="print JSON instead of text")
