"""Rollups, the ranking interface and the display services."""

from datetime import date
from itertools import pairwise

import duckdb
import pytest

from bastion.downloads import rollup, services, store
from bastion.downloads.models import EventPartition, RollupDay

from .conftest import export_row, rollup_counts, seed_rollup, write_jsonl

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
    assert rollup_counts() == {
        ("ranked", "2026-03-01", "installer"): 2,
        ("ranked", "2026-03-01", "mirror"): 1,
        ("mirrored-only", "2026-03-01", "mirror"): 1,
        ("browsed-only", "2026-03-01", "browser"): 1,
        ("unknown-agent", "2026-03-01", "other"): 1,
    }


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
    untouched = RollupDay.objects.get(day=date(2026, 3, 1))
    _import(
        tmp_path,
        "b.jsonl",
        [export_row(timestamp="2026-03-02 01:00:00 UTC"), export_row("2026-03-02 02:00:00 UTC")],
    )
    report = services.rebuild_rollup()
    assert report.days == ["2026-03-02"]
    assert RollupDay.objects.get(day=date(2026, 3, 1)).path == untouched.path
    assert rollup_counts() == {
        ("demo", "2026-03-01", "installer"): 1,
        ("demo", "2026-03-02", "installer"): 2,
    }


def test_a_day_shared_by_two_imports_is_recomputed_from_both(data_dir, tmp_path):
    _import(tmp_path, "a.jsonl", [export_row(timestamp="2026-03-01 01:00:00 UTC")])
    services.rebuild_rollup()
    _import(tmp_path, "b.jsonl", [export_row(timestamp="2026-03-01 02:00:00 UTC")])
    services.rebuild_rollup()
    assert rollup_counts() == {("demo", "2026-03-01", "installer"): 2}


ROLLUP_CSV = """project_name,day,installer_class,downloads
requests,2026-03-01,installer,1000
requests,2026-03-01,mirror,50
Flask_Login,2026-03-02,installer,7
bad name!,2026-03-01,installer,1
requests,not-a-day,installer,1
requests,2026-03-01,robots,1
requests,2026-03-03,installer,-4
"""


def test_import_rollup_checks_rows_and_is_idempotent(data_dir, tmp_path):
    path = tmp_path / "rollup.csv"
    path.write_text(ROLLUP_CSV)
    report = services.import_rollup(path)
    assert (report.rows_read, report.rows_imported, report.projects) == (7, 3, 2)
    assert report.skipped == {
        "invalid project name": 1,
        "invalid day": 1,
        "unknown installer class": 1,
        "invalid download count": 1,
    }
    assert report.examples["invalid project name"] == ["bad name!,2026-03-01,installer,1"]
    assert services.import_rollup(path).already_imported
    ranking = services.installer_downloads(date(2026, 3, 1), date(2026, 3, 2))
    assert ranking == {"requests": 1000, "flask-login": 7}


def test_a_later_bigquery_rollup_replaces_earlier_counts_of_the_same_day(data_dir, tmp_path):
    seed_rollup(tmp_path, [("requests", "2026-03-01", "installer", 1000)])
    seed_rollup(
        tmp_path,
        [("requests", "2026-03-01", "installer", 1200), ("flask", "2026-03-01", "installer", 5)],
    )
    assert services.installer_downloads(date(2026, 3, 1), date(2026, 3, 1)) == {
        "requests": 1200,
        "flask": 5,
    }


def test_a_bigquery_rollup_of_a_day_supersedes_raw_exports_but_not_own_downloads(
    data_dir, tmp_path
):
    """PyPI's downloads of a day come from one source; Bastion's own always add up."""
    _import(tmp_path, "pypi.jsonl", [export_row(project="requests")] * 3)
    (store.segments_dir()).mkdir(parents=True)
    own = export_row(project="requests", timestamp="2026-03-01 11:00:00 UTC")
    write_jsonl(store.segments_dir() / "own.jsonl", [own])
    services.rebuild_rollup()
    assert services.installer_downloads(date(2026, 3, 1), date(2026, 3, 1)) == {"requests": 4}
    seed_rollup(tmp_path, [("requests", "2026-03-01", "installer", 1000)])
    assert services.installer_downloads(date(2026, 3, 1), date(2026, 3, 1)) == {"requests": 1001}


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


def test_a_rollup_of_many_projects_keeps_every_count_and_sorts_by_project(
    data_dir, tmp_path, monkeypatch
):
    """Small row groups, so a project's lookup reads only the group its name falls in."""
    monkeypatch.setattr(store, "ROLLUP_ROW_GROUP", 2048)
    projects = [f"p{number}" for number in range(5000)]
    rows = [
        export_row(project=name, installer="pip")
        for number, name in enumerate(projects)
        for _ in range(number % 3 + 1)
    ]
    _import(tmp_path, "many.jsonl", rows)
    report = services.rebuild_rollup()
    day = date(2026, 3, 1)
    assert report.rows == 5000
    assert services.installer_downloads(day, day) == {
        name: number % 3 + 1 for number, name in enumerate(projects)
    }
    assert services.recent_downloads("p4997", today=day)["last_day"] == 3
    files = str(store.rollup_dir() / RollupDay.objects.get().path / "*.parquet")
    groups = duckdb.sql(
        "SELECT stats_min_value, stats_max_value FROM parquet_metadata("  # noqa: S608
        f"'{files}') WHERE path_in_schema = 'project' ORDER BY file_name, row_group_id"
    ).fetchall()
    assert len(groups) >= 2
    assert all(low <= high for low, high in groups)
    assert all(a[1] <= b[0] for a, b in pairwise(groups))


def test_superseded_rollup_files_are_removed_after_a_grace_period(data_dir, tmp_path, monkeypatch):
    _import(tmp_path, "a.jsonl", [export_row()])
    services.rebuild_rollup()
    first = RollupDay.objects.get().path.split("/")[0]
    _import(tmp_path, "b.jsonl", [export_row(timestamp="2026-03-01 11:00:00 UTC")])
    services.rebuild_rollup()
    assert (store.rollup_dir() / first).is_dir()  # a reader may still be opening it
    monkeypatch.setattr(rollup, "SUPERSEDED_GRACE_SECONDS", -1)
    _import(tmp_path, "c.jsonl", [export_row(timestamp="2026-03-01 12:00:00 UTC")])
    services.rebuild_rollup()
    current = RollupDay.objects.get().path.split("/")[0]
    assert [p.name for p in store.rollup_dir().iterdir()] == [current]
    assert rollup_counts() == {("demo", "2026-03-01", "installer"): 3}


def test_partitions_written_before_counting_moved_into_the_import_still_roll_up(data_dir, tmp_path):
    """Such a partition holds one row per event and no downloads column."""
    from bastion.downloads.models import EventPartition, PartitionKind

    day_dir = store.events_dir() / "import-old" / "day=2026-03-01"
    day_dir.mkdir(parents=True)
    duckdb.sql(
        "COPY (SELECT 'demo' AS project, 'installer' AS installer_class, "  # noqa: S608
        "NULL::VARCHAR AS skip_reason, NULL::VARCHAR AS rejected_row FROM range(4)) "
        f"TO '{day_dir / 'data_0.parquet'}' (FORMAT parquet)"
    )
    EventPartition.objects.create(
        key="import-old", kind=PartitionKind.EXPORT, origin="old", rows=4, days=["2026-03-01"]
    )
    _import(tmp_path, "new.jsonl", [export_row()])
    services.rebuild_rollup()
    assert rollup_counts() == {("demo", "2026-03-01", "installer"): 5}


def test_a_project_page_sees_a_rebuilt_day_at_once_despite_its_cache(data_dir, tmp_path):
    seed_rollup(tmp_path, [("demo", "2026-03-01", "installer", 5)])
    today = date(2026, 3, 1)
    assert services.recent_downloads("demo", today=today)["last_day"] == 5
    seed_rollup(tmp_path, [("demo", "2026-03-01", "installer", 7)])
    assert services.recent_downloads("demo", today=today)["last_day"] == 7
    assert services.daily_series("demo", today=today)[-1]["installer"] == 7


def test_rollup_of_every_day_rebuilds_lost_files(data_dir, tmp_path):
    import shutil

    _import(tmp_path, "a.jsonl", [export_row(), export_row(timestamp="2026-03-02 01:00:00 UTC")])
    services.rebuild_rollup()
    before = rollup_counts()
    shutil.rmtree(store.rollup_dir())
    assert services.rebuild_rollup().days == []  # nothing new
    report = services.rebuild_rollup(every_day=True)
    assert report.days == ["2026-03-01", "2026-03-02"]
    assert rollup_counts() == before


def _rollup_rows(day: RollupDay) -> list[tuple[str, str, int]]:
    files = str(store.rollup_dir() / day.path / "*.parquet")
    return duckdb.sql(
        f"SELECT project, installer_class, downloads FROM read_parquet('{files}')"  # noqa: S608
    ).fetchall()


def test_an_imports_days_are_published_as_written_unless_another_partition_shares_them(
    data_dir, tmp_path
):
    """A day only one partition holds becomes the rollup as the import wrote it (one row per
    project and class, names that normalize alike already added up); a day two partitions
    share is summed again."""
    _import(
        tmp_path,
        "a.jsonl",
        [
            export_row(project="Demo_Pkg"),
            export_row(project="demo.pkg", installer="uv"),
            export_row(project="demo--pkg", installer="bandersnatch"),
            export_row(timestamp="2026-03-02 01:00:00 UTC", project="Demo_Pkg"),
        ],
    )
    later = export_row(timestamp="2026-03-02 02:00:00 UTC", project="demo_pkg")
    _import(tmp_path, "b.jsonl", [later])
    report = services.rebuild_rollup()
    assert (report.days, report.rows, report.partitions) == (["2026-03-01", "2026-03-02"], 3, 2)
    first, second = RollupDay.objects.order_by("day")
    partition = EventPartition.objects.get(origin=str(tmp_path / "a.jsonl"))
    written = store.events_dir() / partition.key / "day=2026-03-01"
    (published,) = (store.rollup_dir() / first.path).iterdir()
    assert published.samefile(next(written.iterdir()))  # the import's file, not a copy
    assert not any(
        path.samefile(source)
        for path in (store.rollup_dir() / second.path).iterdir()
        for source in (store.events_dir() / partition.key / "day=2026-03-02").iterdir()
    )
    assert sorted(_rollup_rows(first)) == [("demo-pkg", "installer", 2), ("demo-pkg", "mirror", 1)]
    assert _rollup_rows(second) == [("demo-pkg", "installer", 2)]
    assert (first.rows, first.downloads, second.rows, second.downloads) == (2, 3, 1, 2)


def test_identical_bad_rows_are_counted_and_kept_once_among_good_ones(data_dir, tmp_path):
    """Bad rows are found per group of raw values, then collected row by row."""
    bad = export_row(project="-not-a-name-")
    report = _import(tmp_path, "a.jsonl", [export_row(), bad, bad, export_row(timestamp="soon")])
    assert (report.rows_imported, report.skipped) == (
        1,
        {"invalid project name": 2, "missing or invalid timestamp": 1},
    )
    assert len(report.examples["invalid project name"]) == 1
    assert '"-not-a-name-"' in report.examples["invalid project name"][0]
    assert '"soon"' in report.examples["missing or invalid timestamp"][0]
    services.rebuild_rollup()
    assert rollup_counts() == {("demo", "2026-03-01", "installer"): 1}
