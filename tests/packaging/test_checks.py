"""``bastion check`` reaches the bucket of ``BASTION_STORAGE_URL=s3://…``, and names it when not.

Review finding: with object storage every check said ok (and exited 0) with a bucket that does
not exist, an endpoint nothing listens on, or a wrong secret key.
"""

import json
import socket

import pytest

from bastion.cli import main

pytestmark = pytest.mark.django_db


def _object_storage(capsys) -> dict:
    status = main(["check", "--json"])
    report = json.loads(capsys.readouterr().out)
    (check,) = [check for check in report["checks"] if check["name"] == "object storage"]
    return {"status": status, **check}


def test_without_object_storage_there_is_nothing_to_check(capsys):
    assert _object_storage(capsys)["state"] == "not configured"


def test_the_bucket_is_written_read_and_left_as_it_was(s3_bucket, capsys):
    check = _object_storage(capsys)

    assert (check["status"], check["state"]) == (0, "ok")
    assert f"s3://{s3_bucket.name}/index/" in check["detail"]
    assert s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name).get("KeyCount") == 0


def test_a_missing_bucket_fails_the_check_naming_it(s3_bucket, settings, capsys):
    settings.STORAGE_URL = "s3://no-such-bucket/index"

    check = _object_storage(capsys)

    assert (check["status"], check["state"]) == (1, "failing")
    assert "s3://no-such-bucket/index" in check["detail"] and "NoSuchBucket" in check["detail"]


def test_an_unreachable_endpoint_fails_the_check(s3_bucket, monkeypatch, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")

    check = _object_storage(capsys)

    assert (check["status"], check["state"]) == (1, "failing")
    assert f"127.0.0.1:{port}" in check["detail"]
