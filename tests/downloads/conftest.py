import gzip
import json
from pathlib import Path

import duckdb
import pytest


@pytest.fixture
def data_dir(settings, tmp_path):
    """A data directory of this test's own, so event files never leak between tests."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR


def export_row(
    timestamp: str = "2026-03-01 10:00:00 UTC",
    project: str | None = "demo",
    version: str = "1.0",
    installer: str | None = "pip",
    ci: bool | None = None,
) -> dict:
    """One row as BigQuery exports ``file_downloads``: nested ``file`` and ``details`` records."""
    filename = f"{project}-{version}-py3-none-any.whl" if project else None
    return {
        "timestamp": timestamp,
        "country_code": "US",
        "url": f"/packages/aa/bb/{filename}",
        "project": project,
        "file": {
            "filename": filename,
            "project": project,
            "version": version,
            "type": "bdist_wheel",
        },
        "details": None
        if installer is None
        else {"installer": {"name": installer, "version": "1.0"}, "python": "3.12.1", "ci": ci},
        "tls_protocol": "TLSv1.3",
        "tls_cipher": "TLS_AES_128_GCM_SHA256",
    }


# The sample: 7 good rows over two days and three installer classes, then the bad ones.
GOOD_ROWS = [
    export_row(project="Demo_Pkg"),
    export_row(project="demo-pkg", installer="uv", ci=True),
    export_row(project="demo.pkg", installer="bandersnatch"),
    export_row(project="demo-pkg", installer="Browser"),
    export_row(timestamp="2026-03-02 23:59:59 UTC", project="demo-pkg"),
    export_row(timestamp="2026-03-02 00:00:00 UTC", project="other", installer=None),
    export_row(timestamp="2026-03-02 08:00:00 UTC", project="other", installer="Artifactory"),
]
BAD_ROWS = [
    export_row(timestamp="yesterday"),
    export_row(timestamp=None),
    export_row(project=None),
    export_row(project="-not-a-name-"),
]
MALFORMED_LINES = ['{"timestamp": "2026-03-01 10:00:00 UTC", "file": {', "[1, 2, 3]"]


def write_jsonl(path: Path, rows: list[dict], malformed: list[str] = (), gz: bool = False) -> Path:
    lines = [json.dumps(row) for row in rows] + list(malformed)
    text = "\n".join(lines) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    """Parquet with real nested STRUCT columns and a TIMESTAMP WITH TIME ZONE, like BigQuery's."""
    source = write_jsonl(path.with_suffix(".source.jsonl"), rows)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"COPY (SELECT * REPLACE (CAST(timestamp AS TIMESTAMPTZ) AS timestamp) "  # noqa: S608
        f"FROM read_json('{source}', format='newline_delimited')) TO '{path}' (FORMAT parquet)"
    )
    source.unlink()
    return path


CSV_HEADER = (
    "timestamp,country_code,project,file.filename,file.project,file.version,file.type,"
    "details.installer.name,details.installer.version,details.ci"
)


def csv_line(row: dict) -> str:
    file, details = row["file"], row["details"] or {}
    installer = details.get("installer") or {}
    values = [
        row["timestamp"], row["country_code"], row["project"], file["filename"], file["project"],
        file["version"], file["type"], installer.get("name"), installer.get("version"),
        details.get("ci"),
    ]  # fmt: skip
    return ",".join(
        "" if v is None else str(v).lower() if isinstance(v, bool) else v for v in values
    )


def write_csv(path: Path, rows: list[dict], malformed: list[str] = ()) -> Path:
    path.write_text("\n".join([CSV_HEADER, *map(csv_line, rows), *malformed]) + "\n")
    return path


def seed_rollup(directory: Path, rows: list[tuple[str, str, str, int]]) -> None:
    """Publish (project, day, installer class, downloads) counts the way an operator would:
    as a BigQuery rollup CSV, imported with ``import-rollup``."""
    from bastion.downloads import services

    path = directory / f"rollup-{len(list(directory.glob('rollup-*.csv')))}.csv"
    lines = ["project_name,day,installer_class,downloads"]
    lines += [
        f"{project},{day},{installer_class},{count}"
        for project, day, installer_class, count in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    report = services.import_rollup(path)
    assert report.rows_imported == len(rows), report


def rollup_counts() -> dict[tuple[str, str, str], int]:
    """Every published (project, day, installer class) count, read from the rollup files."""
    from bastion.downloads import store
    from bastion.downloads.models import RollupDay

    counts = {}
    for day in RollupDay.objects.all():
        files = str(store.rollup_dir() / day.path / "*.parquet")
        for project, installer_class, downloads in duckdb.sql(
            f"SELECT project, installer_class, downloads FROM read_parquet('{files}')"  # noqa: S608
        ).fetchall():
            counts[(project, day.day.isoformat(), installer_class)] = downloads
    return counts
