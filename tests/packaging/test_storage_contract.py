"""The storage contract: every backend (the data directory, an S3 bucket) keeps the same promises
to uploads, quarantine and the garbage collector. Each test runs against both."""

from datetime import timedelta

import pytest

from bastion.packaging import storage, storage_gc
from tests.simple.factory import make_file, make_project, make_release

KEY = storage.key_for("ab" * 32, "spam-1.0-py3-none-any.whl")
OTHER = storage.key_for("cd" * 32, "eggs-1.0.tar.gz")


@pytest.fixture(params=["local", "s3"])
def backend(request, settings, tmp_path):
    """The backend under test, with its own empty store and staging directory."""
    settings.DATA_DIR = tmp_path
    settings.FILES_DIR = tmp_path / "files"
    settings.WITHHELD_DIR = tmp_path / "withheld"
    settings.UPLOAD_STAGING_DIR = tmp_path / "uploads" / "staged"
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "uploads" / "tmp"
    if request.param == "s3":
        return request.getfixturevalue("s3_storage")
    settings.STORAGE_URL = ""
    return storage.backend()


def test_backend_follows_the_storage_url(backend, settings):
    assert backend is storage.backend()
    assert backend.serves_by_redirect == settings.STORAGE_URL.startswith("s3://")


def test_published_bytes_are_served_under_their_key_and_stay_after_commit(backend):
    staged = storage.stage_bytes(b"wheel bytes")
    storage.publish(staged, KEY)
    staged.unlink(missing_ok=True)  # what the upload does when it is done
    assert storage.exists(KEY)
    assert storage.read(KEY) == b"wheel bytes"
    assert not storage.exists(OTHER)


def test_withdraw_takes_back_our_bytes_and_keeps_them_for_a_retry(backend):
    staged = storage.stage_bytes(b"wheel bytes")
    token = storage.publish(staged, KEY)
    storage.withdraw(KEY, token, staged)
    assert not storage.exists(KEY)
    assert staged.read_bytes() == b"wheel bytes"
    storage.publish(staged, KEY)  # the retry
    assert storage.read(KEY) == b"wheel bytes"


def test_withdraw_leaves_bytes_a_rival_upload_published_meanwhile(backend):
    """Our transaction failed and released its locks; an identical upload published and
    committed before we withdrew: its file must stay."""
    ours = storage.stage_bytes(b"same bytes")
    token = storage.publish(ours, KEY)
    theirs = storage.stage_bytes(b"same bytes")
    storage.publish(theirs, KEY)
    storage.withdraw(KEY, token, ours)
    assert storage.read(KEY) == b"same bytes"


def test_store_places_bytes_at_once(backend):
    storage.store_bytes(OTHER, b"fetched from upstream")
    assert storage.read(OTHER) == b"fetched from upstream"
    with pytest.raises(FileNotFoundError):
        storage.read(KEY)


@pytest.mark.parametrize("key", ["../outside.whl", "/etc/passwd", "ab/../../x.whl"])
def test_keys_that_escape_are_refused(backend, key):
    with pytest.raises(ValueError, match="escapes"):
        storage.store_bytes(key, b"x")


def test_quarantine_moves_files_out_of_the_public_place_and_back(backend):
    storage.store_bytes(KEY, b"wheel")
    storage.store_bytes(KEY + ".metadata", b"Metadata-Version: 2.4")
    storage.store_bytes(OTHER, b"someone else's")

    storage.withhold("spam", [KEY, KEY + ".metadata"])
    assert not storage.exists(KEY) and not storage.exists(KEY + ".metadata")
    assert storage.exists(OTHER)
    storage.withhold("spam", [KEY])  # again: already withheld, nothing happens

    storage.restore("spam")
    assert storage.read(KEY) == b"wheel"
    assert storage.read(KEY + ".metadata") == b"Metadata-Version: 2.4"
    storage.restore("spam")  # nothing withheld: nothing happens
    assert storage.exists(KEY)


def test_discard_removes_public_and_withheld_files_for_good(backend):
    storage.store_bytes(KEY, b"wheel")
    storage.store_bytes(OTHER, b"sdist")
    storage.withhold("spam", [OTHER])
    storage.discard("spam", [KEY, OTHER])
    storage.restore("spam")
    assert not storage.exists(KEY) and not storage.exists(OTHER)


def test_objects_lists_public_and_withheld_files_by_key(backend):
    storage.store_bytes(KEY, b"wheel")
    storage.store_bytes(OTHER, b"sdist")
    storage.withhold("eggs", [OTHER])
    listed = {stored.key: stored for stored in backend.objects()}
    assert set(listed) == {KEY, OTHER}
    assert listed[OTHER].size == 5
    backend.remove(listed[OTHER])
    storage.restore("eggs")
    assert not storage.exists(OTHER)


@pytest.mark.django_db
def test_gc_removes_objects_without_rows_after_the_safety_delay(backend):
    owned = make_file(make_release(make_project()))
    storage.store_bytes(KEY, b"orphan")
    storage.store_bytes(OTHER, b"withheld orphan")
    storage.withhold("gone", [OTHER])

    young = storage_gc.collect_garbage(timedelta(hours=1))
    assert young.removed == [] and young.kept_young == 2
    assert storage.exists(KEY)

    report = storage_gc.collect_garbage(timedelta(0))
    assert len(report.removed) == 2 and report.removed_bytes == len(b"orphan") + len(
        b"withheld orphan"
    )
    assert not storage.exists(KEY)
    storage.restore("gone")
    assert not storage.exists(OTHER)
    assert storage.exists(owned.path) and storage.exists(owned.metadata_path)


@pytest.mark.django_db
def test_gc_leaves_the_upstream_cache_alone(backend):
    """Files fetched from the upstream index have no upload's row; their cache evicts them."""
    cached = f"{storage.UPSTREAM_PREFIX}{'ef' * 32}/spam-1.0-py3-none-any.whl"
    storage.store_bytes(cached, b"from the upstream")
    report = storage_gc.collect_garbage(timedelta(0))
    assert report.removed == [] and storage.exists(cached)
