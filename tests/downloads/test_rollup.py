"""Rollups, the ranking interface and the display services."""

from datetime import date

import pytest

from bastion.downloads import services
from bastion.downloads.models import DailyDownloads, RollupSource

from .conftest import export_row, write_jsonl

pytestmark = pytest.mark.django_db


def _import(tmp_path, name, rows):
    (report,) = services.import_exports([write_jsonl(tmp_path / name, rows)], progress=False)
    return report


def test_only_installer_downloads_are_ranked(data_dir, tmp_path):
    _import(
        tmp_path,
        "a.jsonl",
        [
            export_row(project="ranked", installer="pip"),
            export_row(project="ranked", installer="poetry"),
            export_row(project="ranked", installer="bandersnatch"),
            export_row(project="mirrored-only", installer="devpi"),
            export_row(project="browsed-only", installer="Browser"),
            export_row(project="unknown-agent", installer=None),
        ],
    )
    services.rebuild_rollup()
    day = date(2026, 3, 1)
    assert services.installer_downloads(day, day) == {"ranked": 2}
    assert DailyDownloads.objects.filter(installer_class="mirror").count() == 2


def test_the_ranking_window_includes_both_ends_and_names_not_hosted(data_dir, tmp_path):
    rows = [
        export_row(timestamp=f"2026-03-{day:02d} 12:00:00 UTC", project="not-hosted-here")
        for day in (1, 2, 3, 4)
    ]
    _import(tmp_path, "a.jsonl", rows)
    services.rebuild_rollup()
    assert services.installer_downloads(date(2026, 3, 2), date(2026, 3, 3)) == {
        "not-hosted-here": 2
    }


def test_a_new_import_rebuilds_only_the_days_it_touches(data_dir, tmp_path):
    _import(tmp_path, "a.jsonl", [export_row(timestamp="2026-03-01 01:00:00 UTC")])
    services.rebuild_rollup()
    untouched = DailyDownloads.objects.get(day=date(2026, 3, 1))
    _import(
        tmp_path,
        "b.jsonl",
        [export_row(timestamp="2026-03-02 01:00:00 UTC"), export_row("2026-03-02 02:00:00 UTC")],
    )
    report = services.rebuild_rollup()
    assert report.days == ["2026-03-02"]
    assert DailyDownloads.objects.get(day=date(2026, 3, 1)).pk == untouched.pk
    assert DailyDownloads.objects.get(day=date(2026, 3, 2)).count == 2


def test_a_day_shared_by_two_imports_is_recomputed_from_both(data_dir, tmp_path):
    _import(tmp_path, "a.jsonl", [export_row(timestamp="2026-03-01 01:00:00 UTC")])
    services.rebuild_rollup()
    _import(tmp_path, "b.jsonl", [export_row(timestamp="2026-03-01 02:00:00 UTC")])
    services.rebuild_rollup()
    assert DailyDownloads.objects.get().count == 2


ROLLUP_CSV = """project_name,day,installer_class,downloads
requests,2026-03-01,installer,1000
requests,2026-03-01,mirror,50
Flask_Login,2026-03-02,installer,7
bad name!,2026-03-01,installer,1
requests,not-a-day,installer,1
requests,2026-03-01,robots,1
requests,2026-03-03,installer,-4
"""


def test_import_rollup_replaces_counts_and_is_idempotent(data_dir, tmp_path):
    path = tmp_path / "rollup.csv"
    path.write_text(ROLLUP_CSV)
    report = services.import_rollup(path)
    assert (report.rows_read, report.rows_imported) == (7, 3)
    assert report.skipped == {
        "invalid project name": 1,
        "invalid day": 1,
        "unknown installer class": 1,
        "invalid download count": 1,
    }
    services.import_rollup(path)
    assert DailyDownloads.objects.filter(source=RollupSource.BIGQUERY).count() == 3
    ranking = services.installer_downloads(date(2026, 3, 1), date(2026, 3, 2))
    assert ranking == {"requests": 1000, "flask-login": 7}


def test_import_rollup_refuses_a_file_without_the_query_columns(data_dir, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(services.ImportFailed, match="missing columns"):
        services.import_rollup(path)


def test_recent_downloads_and_the_daily_series(data_dir, tmp_path):
    today = date(2026, 3, 31)
    rows = [
        export_row(timestamp="2026-03-31 01:00:00 UTC"),
        export_row(timestamp="2026-03-28 01:00:00 UTC"),
        export_row(timestamp="2026-03-10 01:00:00 UTC"),
        export_row(timestamp="2026-03-10 02:00:00 UTC", installer="bandersnatch"),
        export_row(timestamp="2026-01-01 01:00:00 UTC"),
    ]
    _import(tmp_path, "a.jsonl", rows)
    services.rebuild_rollup()
    assert services.recent_downloads("Demo", today=today) == {
        "last_day": 1,
        "last_week": 2,
        "last_month": 3,
    }
    series = services.daily_series("demo", today=today)
    assert len(series) == 180
    assert series[-1] == {
        "date": "2026-03-31",
        "installer": 1,
        "mirror": 0,
        "browser": 0,
        "other": 0,
    }
    by_day = {entry["date"]: entry for entry in series}
    assert by_day["2026-03-10"]["mirror"] == 1
    assert by_day["2026-01-01"]["installer"] == 1


def test_a_rollup_bigger_than_one_insert_statement_writes_every_count(
    data_dir, tmp_path, monkeypatch
):
    """Several fetched batches, each split into full multi-row statements and a remainder."""
    from bastion.downloads import rollup

    monkeypatch.setattr(rollup, "INSERT_BATCH", 300)
    projects = [f"p{number}" for number in range(457)]
    rows = [
        export_row(project=name, installer="pip")
        for number, name in enumerate(projects)
        for _ in range(number % 3 + 1)
    ]
    _import(tmp_path, "many.jsonl", rows)
    report = services.rebuild_rollup()
    day = date(2026, 3, 1)
    assert report.rows == 457
    assert services.installer_downloads(day, day) == {
        name: number % 3 + 1 for number, name in enumerate(projects)
    }
