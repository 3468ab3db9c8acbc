"""Uploads with ``BASTION_STORAGE_URL=s3://…``: the bytes end up in the bucket, by content hash,
only once their rows commit; nothing is left in staging or on the local disk."""

from pathlib import Path

import pytest
from django.conf import settings

from bastion.packaging import storage
from bastion.packaging.models import File
from bastion.upload import services
from tests.upload import dists
from tests.upload.conftest import stored_files


def _bucket_keys(backend) -> set[str]:
    return {stored.key for stored in backend.objects()}


def _staged() -> list[Path]:
    return list(Path(settings.UPLOAD_STAGING_DIR).iterdir())


def test_an_upload_stores_its_file_and_metadata_in_the_bucket(s3_storage, uploader):
    dist = dists.wheel()
    assert uploader.upload(dist.form()).status_code == 200

    file = File.objects.get()
    assert _bucket_keys(s3_storage) == {file.path, file.metadata_path}
    assert storage.read(file.path) == dist.content
    assert storage.read(file.metadata_path).startswith(b"Metadata-Version: 2.1\n")
    assert not stored_files() and not _staged()

    assert uploader.upload(dist.form()).status_code == 200  # identical again: a no-op
    assert File.objects.count() == 1 and _bucket_keys(s3_storage) == {
        file.path,
        file.metadata_path,
    }


def test_a_failed_commit_takes_its_object_back(s3_storage, uploader, monkeypatch):
    """The rows' transaction fails after the bytes were published: no object stays public."""

    publish = services._Staged.publish

    def publish_then_fail(staged):
        publish(staged)
        assert _bucket_keys(s3_storage)  # public for a moment, inside the transaction
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services._Staged, "publish", publish_then_fail)
    with pytest.raises(RuntimeError):
        uploader.upload(dists.wheel().form())

    assert File.objects.count() == 0
    assert _bucket_keys(s3_storage) == set() and not _staged()
