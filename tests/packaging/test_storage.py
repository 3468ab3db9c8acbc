"""Distribution files on disk: addressed by content hash, readable by a static server."""

import stat
from io import BytesIO

import pytest

from bastion.packaging import storage


def test_stored_files_are_readable_by_other_users(settings, tmp_path):
    """nginx or a CDN origin serving FILES_DIR usually runs as another user than Bastion."""
    settings.FILES_DIR = tmp_path
    path = storage.store_bytes(storage.key_for("ab" * 32, "spam-1.0.tar.gz"), b"bytes")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_bytes() == b"bytes"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".incoming-")]


@pytest.mark.parametrize(
    "key", ["../outside.whl", "ab/../../outside.whl", "/etc/passwd", ".", "ab/..", ""]
)
def test_keys_that_escape_the_files_directory_are_refused(settings, tmp_path, key):
    settings.FILES_DIR = tmp_path / "files"
    with pytest.raises(ValueError, match="escapes"):
        storage.path_for(key)


def test_a_key_inside_is_placed_under_the_resolved_files_directory(settings, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    settings.FILES_DIR = tmp_path / "link"
    assert storage.path_for("ab/cd/x/../spam.whl") == tmp_path / "real" / "ab" / "cd" / "spam.whl"


def test_concurrent_first_requests_share_one_object_storage_client(settings, monkeypatch):
    """A worker's first requests arrive together; building a boto3 client is slow, so a check
    without a lock let each of them build (and keep) its own."""
    import threading
    import time

    from bastion.packaging import storage_s3

    built = []

    class SlowBackend:
        def __init__(self, *args, **kwargs):
            built.append(self)
            time.sleep(0.05)  # as long as boto3 takes, so every thread is inside at once

    monkeypatch.setattr(storage_s3, "S3Backend", SlowBackend)
    monkeypatch.setattr(storage, "_remote", {})
    settings.STORAGE_URL = "s3://bucket/prefix"
    start = threading.Barrier(8)
    found = []

    def first_request():
        start.wait()
        found.append(storage.backend())

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert all(backend is built[0] for backend in found)


def test_staging_syncs_every_file_once_all_are_written(settings, tmp_path, monkeypatch):
    """An upload's file and its METADATA are written first, then each is fsynced."""
    settings.UPLOAD_STAGING_DIR = tmp_path / "staged"
    calls = []
    real_write, real_fsync = storage._copy_into, storage.os.fsync
    monkeypatch.setattr(
        storage, "_copy_into", lambda source, fd: (calls.append("write"), real_write(source, fd))
    )
    monkeypatch.setattr(storage.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd)))

    paths = storage.stage_all([BytesIO(b"wheel"), BytesIO(b"Metadata-Version: 2.1")])

    assert calls == ["write", "write", "fsync", "fsync"]
    assert [path.read_bytes() for path in paths] == [b"wheel", b"Metadata-Version: 2.1"]


def test_staging_leaves_nothing_when_a_file_cannot_be_written(settings, tmp_path):
    settings.UPLOAD_STAGING_DIR = tmp_path / "staged"

    class Broken(BytesIO):
        def read(self, size=-1):
            raise OSError("the client went away")

    with pytest.raises(OSError, match="went away"):
        storage.stage_all([BytesIO(b"wheel"), Broken()])

    assert list((tmp_path / "staged").iterdir()) == []
