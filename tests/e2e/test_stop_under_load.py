"""A stop under load keeps every counted download: SIGTERM while a client hammers a file."""

import http.client
import json
import threading
import time

import pytest

from tests.e2e.conftest import _start_server, _stop

pytestmark = pytest.mark.e2e

WHEEL = "loaded-1.0-py3-none-any.whl"
KEY = f"ab/cd/{'e' * 60}/{WHEEL}"


class LoadGenerator:
    """A few threads, each fetching the file over one keep-alive connection, counting 200s."""

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
            if response.status == 200:
                with self._lock:
                    self.ok += 1


def test_sigterm_under_load_loses_no_recorded_download(tmp_path):
    # A long flush interval: without a flush at shutdown, nearly everything would be lost.
    index = _start_server(tmp_path, {"BASTION_DOWNLOADS_FLUSH_SECONDS": "60"})
    try:
        stored = index.data_dir / "files" / KEY
        stored.parent.mkdir(parents=True)
        stored.write_bytes(b"PK\x05\x06" + b"\0" * 18)
        load = LoadGenerator(int(index.url.rpartition(":")[2]))
        load.start()
        time.sleep(3)
        index.process.terminate()
        index.process.wait(timeout=30)
        load.join(timeout=10)
    finally:
        _stop(index.process)
    assert load.ok > 100, "the load generator barely ran"
    rollup = json.loads(index.bastion("downloads", "rollup", "--json").stdout)
    assert rollup["recorded_events_compacted"] == load.ok
