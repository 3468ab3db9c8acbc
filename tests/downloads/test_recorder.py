"""The recorder: downloads are buffered, flushed in whole segments, and rolled up by the day."""

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bastion.downloads import recorder, rollup, services, store

from .conftest import rollup_counts

WHEEL = "Demo_Pkg-1.2.0-py3-none-any.whl"
PIP = 'pip/24.2 {"installer":{"name":"pip","version":"24.2"},"ci":true}'
NOON = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()


def test_a_flush_writes_one_segment_in_the_export_shape(data_dir):
    buffer = recorder.Recorder()
    buffer.record(WHEEL, PIP, NOON)
    buffer.record("demo_pkg-1.2.0.tar.gz", "bandersnatch/6.5.0 (CPython 3.12)", NOON)
    buffer.record("not-a-distribution.exe", PIP, NOON)
    segment = Path(buffer.flush())
    rows = [json.loads(line) for line in segment.read_text().splitlines()]
    assert [r["file"]["type"] for r in rows] == ["bdist_wheel", "sdist"]
    assert rows[0]["file"] == {
        "filename": WHEEL,
        "project": "demo-pkg",
        "version": "1.2.0",
        "type": "bdist_wheel",
    }
    assert rows[0]["details"] == {"installer": {"name": "pip", "version": "24.2"}, "ci": True}
    assert rows[1]["details"]["installer"]["name"] == "bandersnatch"
    assert rows[0]["timestamp"].startswith("2026-03-01T12:00:00")
    assert buffer.flush() is None  # nothing queued, nothing written


def test_the_background_thread_flushes_within_the_interval(data_dir, settings):
    settings.DOWNLOADS_FLUSH_SECONDS = 0.05
    buffer = recorder.Recorder()
    buffer.record(WHEEL, PIP)
    deadline = time.monotonic() + 5
    while not list(store.segments_dir().glob("*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(list(store.segments_dir().glob("*.jsonl"))) == 1
    buffer.flush_at_exit()


def test_counting_switched_off_records_nothing(data_dir, settings):
    recorder.flush()  # drain what earlier tests in this process served
    settings.DOWNLOADS_COUNTING = False
    recorder.record_download(WHEEL, PIP)
    assert recorder.flush() is None


def test_a_crash_while_writing_leaves_no_segment(data_dir, monkeypatch):
    buffer = recorder.Recorder()
    buffer.record(WHEEL, PIP, NOON)

    def power_cut(fd):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError):
        buffer.flush()
    assert list(store.segments_dir().glob("*.jsonl")) == []
    assert len(list(store.segments_dir().glob(".*.tmp"))) == 1


def test_a_killed_process_leaves_only_whole_segments(data_dir, tmp_path):
    """SIGKILL mid-stream: every segment on disk parses completely; only the tail is lost."""
    script = textwrap.dedent(
        f"""
        import os, django
        os.environ["DJANGO_SETTINGS_MODULE"] = "bastion.settings"
        django.setup()
        from bastion.downloads import recorder
        print("ready", flush=True)
        while True:
            for _ in range(200):
                recorder.record_download({WHEEL!r}, {PIP!r})
            recorder.flush()
        """
    )
    env = {
        **os.environ,
        "BASTION_DATA_DIR": str(data_dir),
        "BASTION_DOWNLOADS_FLUSH_SECONDS": "3600",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    process.kill()
    process.wait()
    segments = list(store.segments_dir().glob("*.jsonl"))
    assert segments
    for segment in segments:
        lines = segment.read_text().splitlines()
        assert len(lines) == 200
        assert all(json.loads(line)["file"]["project"] == "demo-pkg" for line in lines)


@pytest.mark.django_db
def test_rollup_compacts_segments_and_counts_them_once(data_dir):
    buffer = recorder.Recorder()
    for _ in range(3):
        buffer.record(WHEEL, PIP, NOON)
    buffer.flush()
    buffer.record(WHEEL, "bandersnatch/6.5.0", NOON)
    buffer.flush()
    report = services.rebuild_rollup()
    assert report.days == ["2026-03-01"]
    assert sum(r.rows_imported for r in report.compacted) == 4
    assert list(store.segments_dir().iterdir()) == []
    assert services.installer_downloads(date(2026, 3, 1), date(2026, 3, 1)) == {"demo-pkg": 3}
    assert services.rebuild_rollup().days == []
    assert rollup_counts()[("demo-pkg", "2026-03-01", "mirror")] == 1


@pytest.mark.django_db
def test_a_batch_left_by_a_crash_is_finished_without_double_counting(data_dir):
    buffer = recorder.Recorder()
    buffer.record(WHEEL, PIP, NOON)
    segment = Path(buffer.flush())
    batch = store.segments_dir() / "batch-1-crashed"
    batch.mkdir()
    segment.rename(batch / segment.name)
    rollup.compact_segments()
    (batch := store.segments_dir() / "batch-1-crashed").mkdir()  # as if rmtree never ran
    (batch / segment.name).write_text(recorder.event_line(NOON, WHEEL, PIP) + "\n")
    services.rebuild_rollup()
    assert services.installer_downloads(date(2026, 3, 1), date(2026, 3, 1)) == {"demo-pkg": 1}


def test_an_enormous_agent_is_cut_and_still_recognised(data_dir):
    buffer = recorder.Recorder()
    buffer.record(WHEEL, PIP[:-1] + ',"pad":"' + "x" * 100_000 + '"}', NOON)
    (row,) = [json.loads(line) for line in Path(buffer.flush()).read_text().splitlines()]
    assert row["details"]["installer"] == {"name": "pip", "version": "24.2"}


def test_a_forked_worker_counts_only_its_own_downloads(data_dir):
    """uWSGI forks workers from a master that may have queued downloads (with --lazy-apps it
    has not, but a preloading server would): the child must neither write them again nor
    believe the parent's flusher thread runs in it."""
    buffer = recorder.Recorder()
    buffer.record(WHEEL, PIP, NOON)
    child = os.fork()
    if child == 0:
        try:
            buffer.record("demo_pkg-1.2.0.tar.gz", PIP, NOON)
            written = buffer.flush()
            flusher = [t for t in threading.enumerate() if t.name == "download-flusher"]
            os._exit(0 if written and buffer._pid == os.getpid() and flusher else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    (segment,) = store.segments_dir().glob("*.jsonl")
    assert json.loads(segment.read_text())["file"]["type"] == "sdist"
    own = buffer.flush()
    assert json.loads(Path(own).read_text())["file"]["type"] == "bdist_wheel"
