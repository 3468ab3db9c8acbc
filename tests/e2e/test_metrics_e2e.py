"""``/metrics`` of a real ``bastion serve``: every worker process's counts are summed."""

import http.client
import threading

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from bastion.server import THREADS
from tests.e2e.conftest import _start_server, _stop

pytestmark = pytest.mark.e2e

MISSING = f"/files/ab/cd/{'0' * 60}/missing-1.0.tar.gz"


def _files_404s(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "bastion_http_requests_total"
        and sample.labels == {"route": "files", "status": "404"}
    )


def _processes_that_counted_files(directory) -> list[str]:
    """The per-process files in which the read path's counts of /files/ landed."""
    counted = []
    for path in directory.glob("counter_*.db"):
        values = MmapedDict(str(path), read_mode=True)
        try:
            if any('"files"' in key and value for key, value, _ in values.read_all_values()):
                counted.append(path.name)
        finally:
            values.close()
    return counted


def test_metrics_sum_the_read_path_counts_of_every_worker(tmp_path):
    index = _start_server(tmp_path, {"BASTION_METRICS": "127.0.0.1/32"})
    try:
        port = int(index.url.rpartition(":")[2])

        # A worker thread keeps its kept-alive connection, so with one more connection open
        # than a process has threads, at least two processes must serve them.
        connections = [
            http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(THREADS + 2)
        ]
        for _ in range(800 // len(connections)):
            for connection in connections:
                connection.request("GET", MISSING)
                connection.getresponse().read()
        for connection in connections:
            connection.close()
        # A scrape syncs only its own process; the others sync within a second.
        seen = 0.0
        for _ in range(50):
            seen = _files_404s(index.url)
            if seen >= 800:
                break
            threading.Event().wait(0.1)
        assert seen == 800
        assert len(_processes_that_counted_files(index.data_dir / "metrics")) >= 2
    finally:
        _stop(index.process)
