"""Download statistics live where the files do: the data directory, or the bucket that every
server shares. Each test runs against both, with the same promises: every server's segments are
counted once, by whichever worker rolls up, and the pages read the rollup it wrote."""

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connection

from bastion.downloads import recorder, rollup, services, store
from bastion.downloads.models import EventPartition, RollupDay

from .conftest import export_row, write_jsonl

WHEEL = "Demo_Pkg-1.2.0-py3-none-any.whl"
PIP = 'pip/24.2 {"installer":{"name":"pip","version":"24.2"}}'
NOON = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()
DAY = date(2026, 3, 1)

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["local", "s3"])
def backend(request, data_dir, settings):
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    else:
        settings.STORAGE_URL = ""
    return request.param


def _stored(*parts: str) -> list[str]:
    """Every file under ``downloads/<parts>``, wherever the statistics live."""
    fs = store.filesystem()
    found = fs.find(store.location(*parts))
    return sorted(path.removeprefix(store.location(*parts) + "/") for path in found)


def test_every_servers_segments_are_rolled_up_once_where_all_servers_read(backend, tmp_path):
    server_a, server_b = recorder.Recorder(), recorder.Recorder()
    for _ in range(2):
        server_a.record(WHEEL, PIP, NOON)
    server_b.record(WHEEL, PIP, NOON)
    server_a.flush(), server_b.flush()
    assert len(_stored("segments")) == 2  # one each, never under the same name

    services.import_exports([write_jsonl(tmp_path / "pypi.jsonl", [export_row()])], progress=False)
    services.rebuild_rollup()

    assert _stored("segments") == []
    assert any(name.endswith(".parquet") for name in _stored("events"))
    assert any(name.endswith(".parquet") for name in _stored("rollup"))
    assert services.installer_downloads(DAY, DAY) == {"demo-pkg": 3, "demo": 1}
    assert services.recent_downloads("demo-pkg", today=DAY)["last_day"] == 3
    assert services.rebuild_rollup().days == []
    assert services.installer_downloads(DAY, DAY) == {"demo-pkg": 3, "demo": 1}
    if backend == "s3":  # nothing of it on this server's disk
        local = store.downloads_dir()
        assert not list(local.glob("segments/*")) and not list(local.rglob("*.parquet"))


def test_a_segment_copied_into_a_batch_before_a_crash_counts_once(backend):
    """In a bucket a move is a copy and a delete: killed between the two, the segment is in the
    batch and still outside it."""
    buffer = recorder.Recorder()
    buffer.record(WHEEL, PIP, NOON)
    segment = buffer.flush()
    fs = store.filesystem()
    batch = store.location("segments", "batch-1-crashed")
    fs.mkdir(batch)
    fs.copy(segment, f"{batch}/{segment.rsplit('/', 1)[-1]}")
    services.rebuild_rollup()
    assert services.installer_downloads(DAY, DAY) == {"demo-pkg": 1}
    assert _stored("segments") == []


def test_superseded_generations_are_removed_after_the_grace_period(backend, monkeypatch):
    monkeypatch.setattr(rollup, "SUPERSEDED_GRACE_SECONDS", -1)
    buffer = recorder.Recorder()
    for _ in range(2):
        buffer.record(WHEEL, PIP, NOON)
        buffer.flush()
        services.rebuild_rollup()
    generations = {name.split("/", 1)[0] for name in _stored("rollup")}
    assert len(generations) == 1
    assert services.installer_downloads(DAY, DAY) == {"demo-pkg": 2}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_imports_and_rollups_on_two_machines_never_overlap(data_dir):
    """Each machine's ``flock`` is its own; the database's advisory lock is everyone's."""
    held, release = threading.Event(), threading.Event()

    def other_machine() -> None:
        try:
            with store.database_lock():
                held.set()
                release.wait(10)
        finally:
            connection.close()

    other = threading.Thread(target=other_machine)
    other.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [store.DATABASE_LOCK])
            assert cursor.fetchone()[0] is False
    finally:
        release.set()
        other.join()


def test_a_day_only_one_import_holds_is_published_as_the_import_wrote_it(backend, tmp_path):
    """No second aggregation: the partition's day file becomes the day's rollup file (a hard
    link on disk, a copy the bucket makes itself), and it reads the same as one summed again."""
    rows = [export_row(project="Demo_Pkg"), export_row(project="demo.pkg", installer="uv")]
    services.import_exports([write_jsonl(tmp_path / "pypi.jsonl", rows)], progress=False)
    services.rebuild_rollup()
    (day,) = RollupDay.objects.all()
    assert (day.rows, day.downloads) == (1, 2)
    key = EventPartition.objects.get().key
    assert _stored("rollup", day.path) == _stored("events", key, "day=2026-03-01")
    assert services.installer_downloads(DAY, DAY) == {"demo-pkg": 2}
    summed = services.rebuild_rollup(every_day=True)
    assert summed.rows == 1
    assert services.installer_downloads(DAY, DAY) == {"demo-pkg": 2}
