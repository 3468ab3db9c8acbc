"""Two servers, one PostgreSQL database, one S3 bucket: Bastion as a set of identical servers.

moto's standalone server speaks the S3 API on the loopback. Each ``bastion serve`` has its own
data directory (its own page tree and caches); what they share is the database and the bucket.
A change made through one server must be served by the other within a second, and a download
through either is counted once by the worker's rollup, which reads every server's segments from
the bucket.
"""

import json
import time
import uuid
from pathlib import Path

import boto3
import psycopg
import pytest
import requests

from tests.e2e.conftest import (
    AWS,
    BUCKET,
    VENV_BIN,
    _start_server,
    _stop,
    clean_client_env,
    run,
    s3_credentials,
)
from tests.e2e.sample import build_project
from tests.e2e.test_downloads_e2e import RANKING

pytestmark = pytest.mark.e2e

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
JSON = "application/vnd.pypi.simple.v1+json"
PIP_AGENT = 'pip/24.2 {"installer":{"name":"pip","version":"24.2"}}'


@pytest.fixture(scope="module")
def database_url():
    """A fresh PostgreSQL database, whatever database the rest of the run uses."""
    name = f"bastion_e2e_storage_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES}/{name}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def servers(tmp_path_factory, s3_endpoint, database_url):
    """Servers A and B: different data directories, the same database and bucket."""
    env = {
        **AWS,
        "AWS_ENDPOINT_URL": s3_endpoint,
        "BASTION_DATABASE_URL": database_url,
        "BASTION_STORAGE_URL": f"s3://{BUCKET}/index",
    }
    started = []
    try:
        for name in ("a", "b"):  # one after the other: the first one migrates the database
            started.append(_start_server(tmp_path_factory.mktemp(f"server-{name}"), env))
        yield started
    finally:
        for server in started:
            _stop(server.process)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build_project(tmp_path_factory.mktemp("build"), "shared-sample", "1.0")


def _until(condition, seconds: float) -> float:
    """Poll ``condition`` until it holds; return how long that took, or fail after ``seconds``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.02)
    return time.monotonic() - start


def _files(server, project: str) -> list[dict]:
    answer = requests.get(f"{server.simple_url}{project}/", headers={"Accept": JSON}, timeout=5)
    return answer.json()["files"] if answer.status_code == 200 else []


def test_a_change_through_one_server_is_served_by_the_other_within_a_second(
    servers, sample, s3_endpoint, tmp_path
):
    server_a, server_b = servers
    token = server_a.user_with_token("alice")
    result = server_a.twine_upload(token, sample.wheel, sample.sdist)
    assert result.returncode == 0, result.output

    _until(
        lambda: (
            {f["filename"] for f in _files(server_b, "shared-sample")}
            == {sample.wheel.name, sample.sdist.name}
        ),
        seconds=1.0,
    )

    objects = boto3.client("s3", endpoint_url=s3_endpoint, **s3_credentials()).list_objects_v2(
        Bucket=BUCKET, Prefix="index/files/"
    )
    stored = {Path(item["Key"]).name for item in objects.get("Contents", [])}
    assert {sample.wheel.name, sample.sdist.name} <= stored
    assert not list((server_a.data_dir / "files").rglob("*.whl"))  # nothing on A's disk

    wheel_path = "/files/" + _wheel(server_b)["url"].split("/files/", 1)[1]
    download = requests.get(f"{server_b.url}{wheel_path}", allow_redirects=False, timeout=5)
    assert download.status_code == 302
    assert download.headers["Location"].startswith(f"{s3_endpoint}/{BUCKET}/index/files/")

    env = clean_client_env()
    run([str(VENV_BIN / "python"), "-m", "venv", str(tmp_path / "venv")], env=env)
    installed = run(
        [
            str(tmp_path / "venv" / "bin" / "pip"),
            "install",
            "--no-cache-dir",
            "--index-url",
            server_b.simple_url,
            "shared-sample==1.0",
        ],
        env=env,
    )
    assert installed.returncode == 0, installed.output
    check = [
        str(tmp_path / "venv/bin/python"),
        "-c",
        "import shared_sample; print(shared_sample.VERSION)",
    ]
    assert run(check, env=env).stdout.strip() == "1.0"

    # And back: a yank made through B is on A's page (which A has rendered and cached).
    assert not _wheel(server_a)["yanked"]
    server_b.bastion("yank", "shared-sample", "1.0", "--reason", "broken on B")
    _until(lambda: _wheel(server_a)["yanked"] == "broken on B", seconds=1.0)

    # Downloads: the redirect above and pip's install through B, and one through A. Each
    # server's recorder writes its segments to the bucket; the worker run on A's machine counts
    # the installers' two (requests is no installer), and a rollup on B's counts nothing again.
    through_a = requests.get(
        f"{server_a.url}{wheel_path}",
        headers={"User-Agent": PIP_AGENT},
        allow_redirects=False,
        timeout=5,
    )
    assert through_a.status_code == 302
    bucket = boto3.client("s3", endpoint_url=s3_endpoint, **s3_credentials())
    _until(lambda: _recorded(bucket) == 3, seconds=15.0)  # flushed every 2 s
    server_a.bastion("worker", "--once")
    assert _ranking(server_a) == {"shared-sample": 2}
    server_b.bastion("downloads", "rollup")
    assert _ranking(server_b) == {"shared-sample": 2}
    assert not list((server_a.data_dir / "downloads").rglob("*.parquet"))  # all in the bucket


def _recorded(bucket) -> int:
    """Downloads in the segments every server has written to the bucket so far."""
    listed = bucket.list_objects_v2(Bucket=BUCKET, Prefix="index/downloads/segments/")
    rows = [
        json.loads(line)
        for item in listed.get("Contents", [])
        for line in bucket.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().splitlines()
    ]
    return len(rows)


def _ranking(server) -> dict[str, int]:
    env = dict(server.env, DJANGO_SETTINGS_MODULE="bastion.settings")
    ranking = run([str(VENV_BIN / "python"), "-c", RANKING], env=env)
    assert ranking.returncode == 0, ranking.output
    return json.loads(ranking.stdout)


def _wheel(server) -> dict:
    return next(f for f in _files(server, "shared-sample") if f["filename"].endswith(".whl"))
