"""A stop under load keeps every counted download: SIGTERM while a client hammers a file.

With object storage the file is a redirect to the bucket (counted on that request), and the
buffered downloads are flushed at the stop into the bucket, where the rollup reads them.
"""

import http.client
import json
import threading
import time

import boto3
import pytest

from tests.e2e.conftest import AWS, BUCKET, _start_server, _stop, s3_credentials

pytestmark = pytest.mark.e2e

WHEEL = "loaded-1.0-py3-none-any.whl"
KEY = f"ab/cd/{'e' * 60}/{WHEEL}"


class LoadGenerator:
    """A few threads, each fetching the file over one keep-alive connection, counting the
    answers that serve it: 200, or the redirect to the bucket."""

    def __init__(self, port: int, threads: int = 4):
        self.port = port
        self.ok = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while True:
            try:
                connection.request("GET", f"/files/{KEY}", headers={"User-Agent": "pip/24.0"})
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                # The server is going away: a reconnect finds it gone or stopping.
                connection.close()
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    connection.connect()
                except OSError:
                    return
                continue
            if response.status in (200, 302):
                with self._lock:
                    self.ok += 1


@pytest.mark.parametrize("storage", ["local", "s3"])
def test_sigterm_under_load_loses_no_recorded_download(tmp_path, storage, request):
    # A long flush interval: without a flush at shutdown, nearly everything would be lost.
    env = {"BASTION_DOWNLOADS_FLUSH_SECONDS": "60"}
    if storage == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        env |= {**AWS, "AWS_ENDPOINT_URL": endpoint, "BASTION_STORAGE_URL": f"s3://{BUCKET}/stop"}
    index = _start_server(tmp_path, env)
    try:
        content = b"PK\x05\x06" + b"\0" * 18
        if storage == "s3":
            boto3.client("s3", endpoint_url=endpoint, **s3_credentials()).put_object(
                Bucket=BUCKET, Key=f"stop/files/{KEY}", Body=content
            )
        else:
            stored = index.data_dir / "files" / KEY
            stored.parent.mkdir(parents=True)
            stored.write_bytes(content)
        load = LoadGenerator(int(index.url.rpartition(":")[2]))
        load.start()
        deadline = time.monotonic() + 30  # a loaded machine starts slowly (boto3's first client)
        while load.ok < 300 and time.monotonic() < deadline:
            time.sleep(0.1)
        index.process.terminate()
        index.process.wait(timeout=30)
        load.join(timeout=10)
    finally:
        _stop(index.process)
    assert load.ok > 100, "the load generator barely ran"
    rollup = json.loads(index.bastion("downloads", "rollup", "--json").stdout)
    assert rollup["recorded_events_compacted"] == load.ok
