"""``bastion storage gc``: stored bytes without a row, partials and dead upload temporaries go;
whatever a row points at, and anything young enough to be an upload in flight, stays."""

import json
import os
import time
from pathlib import Path

import pytest

from bastion.cli import main
from bastion.packaging import storage
from tests.simple.factory import make_file, make_project, make_release

DAY = 24 * 3600


@pytest.fixture
def dirs(settings, tmp_path):
    settings.FILES_DIR = tmp_path / "files"
    settings.WITHHELD_DIR = tmp_path / "withheld"
    settings.UPLOAD_STAGING_DIR = tmp_path / "uploads" / "staged"
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "uploads" / "tmp"
    settings.DATA_DIR = tmp_path
    for directory in (settings.UPLOAD_STAGING_DIR, settings.FILE_UPLOAD_TEMP_DIR):
        directory.mkdir(parents=True)
    return settings


def aged(path: Path, seconds: float = 2 * DAY) -> Path:
    past = time.time() - seconds
    os.utime(path, (past, past))
    return path


def old_file(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return aged(path)


def orphan(key: str, content: bytes = b"orphan") -> Path:
    return aged(storage.store_bytes(key, content))


@pytest.mark.django_db
def test_gc_removes_old_orphans_and_keeps_files_with_rows(dirs, capsys):
    owned = make_file(make_release(make_project()))
    for key in (owned.path, owned.metadata_path):
        aged(storage.path_for(key))
    lost = orphan(storage.key_for("cd" * 32, "holy_grail-2.0-py3-none-any.whl"))
    lost_metadata = orphan(storage.key_for("cd" * 32, "holy_grail-2.0-py3-none-any.whl.metadata"))
    partial = old_file(lost.parent / ".incoming-abc123", b"half")
    staged = old_file(dirs.UPLOAD_STAGING_DIR / "staged-1", b"")
    spooled = old_file(dirs.FILE_UPLOAD_TEMP_DIR / "tmpabc.upload.whl", b"x" * 1000)
    key = storage.key_for("ef" * 32, "gone-1.0.tar.gz")
    withheld = old_file(dirs.WITHHELD_DIR / "gone" / key, b"withheld")

    assert main(["storage", "gc", "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    for path in (lost, lost_metadata, partial, staged, spooled, withheld):
        assert not path.exists(), path
        assert str(path.relative_to(dirs.DATA_DIR)) in report["removed"]
    assert storage.path_for(owned.path).exists() and storage.path_for(owned.metadata_path).exists()
    assert report["removed_bytes"] == 6 + 6 + 4 + 0 + 1000 + 8


@pytest.mark.django_db
def test_gc_keeps_orphans_younger_than_the_safety_delay(dirs, capsys):
    young = storage.store_bytes(storage.key_for("cd" * 32, "holy_grail-2.0.tar.gz"), b"in flight")
    spooled = dirs.FILE_UPLOAD_TEMP_DIR / "tmpabc.upload.whl"
    spooled.write_bytes(b"arriving")

    assert main(["storage", "gc", "--older-than", "1"]) == 0

    assert young.exists() and spooled.exists()
    assert "removed 0 files (0 bytes); 2 younger than 1 h kept" in capsys.readouterr().out
    assert main(["storage", "gc", "--older-than", "0", "--dry-run"]) == 0
    assert young.exists() and spooled.exists()
    assert main(["storage", "gc", "--older-than", "0"]) == 0
    assert not young.exists() and not spooled.exists()
