"""The BigQuery rollup query and its DuckDB twin: one template, the same answers as our rollup."""

from datetime import date

import duckdb
import pytest

from bastion.downloads import queries, services
from bench.downloads.generate import generate

from .conftest import GOOD_ROWS, export_row, rollup_counts, write_parquet

pytestmark = pytest.mark.django_db


def test_the_bigquery_query_reads_the_public_table_from_the_given_day():
    sql = services.bigquery_sql(date(2026, 5, 1))
    assert "FROM `bigquery-public-data.pypi.file_downloads`" in sql
    assert "WHERE timestamp >= TIMESTAMP('2026-05-01')" in sql
    assert (
        "details.installer.name IN ('bandersnatch', 'z3c.pypimirror', 'Artifactory', 'devpi'" in sql
    )
    assert "DATE(timestamp) AS day" in sql
    assert "REGEXP_CONTAINS(COALESCE(file.project, project), r'^" in sql
    assert "GROUP BY project_name, day, installer_class" in sql


def test_both_dialects_share_every_clause_but_the_dialect_hooks():
    since = date(2026, 5, 1)
    bigquery = queries.rollup_query(queries.BIGQUERY, since).splitlines()
    twin = queries.rollup_query(queries.DUCKDB, since).splitlines()
    differing = [i for i, (a, b) in enumerate(zip(bigquery, twin, strict=True)) if a != b]
    hooks = ("AS project_name", "AS day", "FROM ", "WHERE timestamp", "AND ")
    assert all(any(h in bigquery[i] for h in hooks) for i in differing), differing
    assert len(differing) == 5


def _twin_result(parquet, since):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW file_downloads AS SELECT * FROM read_parquet('{parquet}')")  # noqa: S608
    rows = con.execute(queries.rollup_query(queries.DUCKDB, since)).fetchall()
    return {(p, d.isoformat(), c): n for p, d, c, n in rows}


def test_the_duckdb_twin_agrees_with_the_rollup_on_a_hand_made_sample(data_dir, tmp_path):
    rows = [*GOOD_ROWS, export_row(project="-not-a-name-"), export_row(project=None)]
    parquet = write_parquet(tmp_path / "sample.parquet", rows)
    services.import_exports([parquet], progress=False)
    services.rebuild_rollup()
    twin = _twin_result(parquet, date(2026, 3, 1))
    assert twin == rollup_counts()
    assert sum(twin.values()) == len(GOOD_ROWS)


def test_the_duckdb_twin_agrees_with_the_rollup_on_a_generated_sample(data_dir, tmp_path):
    parquet = tmp_path / "generated.parquet"
    generate(parquet, events=20_000, projects=300, days=10)
    services.import_exports([parquet], progress=False)
    services.rebuild_rollup()
    twin = _twin_result(parquet, date(2026, 1, 1))
    assert sum(twin.values()) == 20_000
    assert {c for _, _, c in twin} == {"installer", "mirror", "browser", "other"}
    assert twin == rollup_counts()
