"""Importing BigQuery ``file_downloads`` exports: every format, bad rows, and idempotency."""

import csv
import gzip
import json
import shutil

import pytest

from bastion.downloads import importer, services
from bastion.downloads.models import EventPartition

from .conftest import (
    BAD_ROWS,
    GOOD_ROWS,
    MALFORMED_LINES,
    export_row,
    rollup_counts,
    write_csv,
    write_jsonl,
    write_parquet,
)

pytestmark = pytest.mark.django_db

EXPECTED_SKIPS = {
    "missing or invalid timestamp": 2,
    "missing project name": 1,
    "invalid project name": 1,
}


def _only(results):
    (report,) = results
    assert isinstance(report, importer.ImportReport), report
    return report


EXPECTED_ROLLUP = {
    ("demo-pkg", "2026-03-01", "installer"): 2,
    ("demo-pkg", "2026-03-01", "mirror"): 1,
    ("demo-pkg", "2026-03-01", "browser"): 1,
    ("demo-pkg", "2026-03-02", "installer"): 1,
    ("other", "2026-03-02", "other"): 1,
    ("other", "2026-03-02", "mirror"): 1,
}


@pytest.mark.parametrize("gz", [False, True])
def test_json_lines_import_counts_every_row_and_reports_bad_ones(data_dir, tmp_path, gz):
    name = "export.jsonl.gz" if gz else "export.jsonl"
    path = write_jsonl(tmp_path / name, GOOD_ROWS + BAD_ROWS, MALFORMED_LINES, gz=gz)
    report = _only(services.import_exports([path], progress=False))
    assert report.rows_read == 13
    assert report.rows_imported == 7
    assert report.skipped == {**EXPECTED_SKIPS, "malformed row": 2}
    assert report.projects == 2
    assert report.days == ["2026-03-01", "2026-03-02"]
    assert any(e.startswith('{"timestamp"') for e in report.examples["malformed row"])
    assert "-not-a-name-" in report.examples["invalid project name"][0]
    services.rebuild_rollup()
    assert rollup_counts() == EXPECTED_ROLLUP


def test_csv_import_with_dotted_headers_and_broken_lines(data_dir, tmp_path):
    path = write_csv(tmp_path / "export.csv", GOOD_ROWS + BAD_ROWS, ["too,few,fields"])
    report = _only(services.import_exports([path], progress=False))
    assert report.rows_imported == 7
    assert report.skipped == {**EXPECTED_SKIPS, "malformed row": 1}
    assert "line 13" in report.examples["malformed row"][0]
    services.rebuild_rollup()
    assert rollup_counts() == EXPECTED_ROLLUP


def test_parquet_import_reads_the_nested_records(data_dir, tmp_path):
    path = write_parquet(tmp_path / "export.parquet", GOOD_ROWS + BAD_ROWS[2:])
    report = _only(services.import_exports([path], progress=False))
    assert report.rows_imported == 7
    assert report.skipped == {"missing project name": 1, "invalid project name": 1}
    services.rebuild_rollup()
    assert rollup_counts() == EXPECTED_ROLLUP


@pytest.mark.parametrize("write", [write_jsonl, write_parquet], ids=["jsonl", "parquet"])
def test_each_event_counts_on_its_utc_day_and_an_infinite_time_is_rejected(
    data_dir, tmp_path, write
):
    """The day is the instant's UTC day, before 1970 too (the counting floors epoch
    microseconds); an infinite timestamp has no day and is rejected, not dated 9999-12-31."""
    rows = [
        export_row(timestamp="2026-03-01 23:30:00-05:00"),  # 04:30 UTC the next day
        export_row(timestamp="1969-12-31 23:59:59 UTC"),
        export_row(timestamp="1970-01-01 00:00:00 UTC"),
        export_row(timestamp="infinity"),
    ]
    report = _only(services.import_exports([write(tmp_path / "days.data", rows)], progress=False))
    assert report.days == ["1969-12-31", "1970-01-01", "2026-03-02"]
    assert report.skipped == {"missing or invalid timestamp": 1}
    assert '"infinity"' in report.examples["missing or invalid timestamp"][0]
    services.rebuild_rollup()
    assert rollup_counts() == {
        ("demo", "1969-12-31", "installer"): 1,
        ("demo", "1970-01-01", "installer"): 1,
        ("demo", "2026-03-02", "installer"): 1,
    }


def test_the_same_export_twice_renamed_or_gzipped_counts_once(data_dir, tmp_path):
    path = write_jsonl(tmp_path / "export.jsonl", GOOD_ROWS + BAD_ROWS, MALFORMED_LINES)
    _only(services.import_exports([path], progress=False))
    services.rebuild_rollup()
    before = rollup_counts()
    renamed = tmp_path / "renamed.json"
    shutil.copy(path, renamed)
    zipped = tmp_path / "export.jsonl.gz"
    zipped.write_bytes(gzip.compress(path.read_bytes()))
    again = services.import_exports([path, renamed, zipped], progress=False)
    assert [r.already_imported for r in again] == [True, True, True]
    assert [r.rows_imported for r in again] == [0, 0, 0]
    report = services.rebuild_rollup()
    assert report.days == []
    assert rollup_counts() == before
    assert EventPartition.objects.count() == 1


def test_an_unreadable_file_is_reported_and_the_others_still_import(data_dir, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", GOOD_ROWS)
    missing = tmp_path / "missing.jsonl"
    headerless = tmp_path / "nonsense.csv"
    headerless.write_text("a,b\n1,2\n")
    results = services.import_exports([missing, good, headerless], progress=False)
    assert isinstance(results[0], importer.ImportFailed)
    assert results[1].rows_imported == 7
    assert isinstance(results[2], importer.ImportFailed)
    assert "timestamp" in str(results[2])


def test_a_file_of_only_bad_rows_imports_nothing_and_says_why(data_dir, tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", BAD_ROWS, MALFORMED_LINES)
    report = _only(services.import_exports([path], progress=False))
    assert report.rows_imported == 0
    assert report.rows_skipped == 6
    assert report.days == []


def test_gzipped_csv_and_a_gzip_without_gz_in_its_name(data_dir, tmp_path):
    plain = write_csv(tmp_path / "plain.csv", GOOD_ROWS + BAD_ROWS, ["too,few,fields"])
    zipped_csv = tmp_path / "export.csv.gz"
    zipped_csv.write_bytes(gzip.compress(plain.read_bytes()))
    (csv_report,) = services.import_exports([zipped_csv], progress=False)
    assert csv_report.rows_imported == 7
    assert csv_report.skipped == {**EXPECTED_SKIPS, "malformed row": 1}
    misnamed = tmp_path / "export.json"
    misnamed.write_bytes(gzip.compress(b"\n".join(json.dumps(r).encode() for r in GOOD_ROWS[:3])))
    (json_report,) = services.import_exports([misnamed], progress=False)
    assert (json_report.rows_imported, json_report.rows_skipped) == (3, 0)


def test_csv_with_records_kept_as_json_text(data_dir, tmp_path):
    """A CSV cannot hold BigQuery's RECORD columns; exporters then write them as JSON text."""
    path = tmp_path / "records.csv"
    rows = [*GOOD_ROWS, export_row(project="-not-a-name-")]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "country_code", "project", "file", "details"])
        for row in rows:
            writer.writerow(
                [row["timestamp"], "US", row["project"], json.dumps(row["file"]),
                 json.dumps(row["details"]) if row["details"] else ""]
            )  # fmt: skip
        writer.writerow(["2026-03-01 10:00:00 UTC", "US", "demo", "{not json", "{not json"])
    report = _only(services.import_exports([path], progress=False))
    assert report.rows_imported == 8
    assert report.skipped == {"invalid project name": 1}
    services.rebuild_rollup()
    assert rollup_counts() == {
        **EXPECTED_ROLLUP,
        ("demo", "2026-03-01", "other"): 1,  # unreadable details: an unknown agent
    }


def test_csv_from_a_query_that_flattened_the_records(data_dir, tmp_path):
    """BigQuery cannot export records to CSV: such a file comes from a query that selects the
    fields, aliased as pypinfo does (``details.installer.name AS installer_name``)."""
    path = tmp_path / "flattened.csv"
    path.write_text(
        "timestamp,project,version,installer_name\n"
        "2026-03-01 10:00:00 UTC,Demo_Pkg,1.0,pip\n"
        "2026-03-01 11:00:00 UTC,demo-pkg,1.0,bandersnatch\n"
    )
    report = _only(services.import_exports([path], progress=False))
    assert report.rows_imported == 2
    services.rebuild_rollup()
    assert rollup_counts() == {
        ("demo-pkg", "2026-03-01", "installer"): 1,
        ("demo-pkg", "2026-03-01", "mirror"): 1,
    }
