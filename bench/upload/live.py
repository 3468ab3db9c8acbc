"""An upload's time through a real ``bastion serve``, to compare with ``run.py``'s in-process one.

    .venv/bin/python bench/upload/live.py [--projects 50] [--uploads 60] [--workers N]

Starts ``bastion serve`` as ``bench/run.py`` does (SQLite, no access log, external worker, the
benchmark's rate limits), loads ``--projects`` projects of the benchmark index, then sends new
releases one at a time over one kept-alive ``requests`` session, as ``twine upload`` does, and
prints the median and 90th percentile of each upload's round trip, the CPU the server's process
tree used per upload, the CPU other processes used meanwhile, and each web worker's RSS after
(with ``--read-seconds``, after wrk has also read a project page and the root page, as HTML and
JSON, for that long each).
The difference from ``run.py``'s in-process median is what the server stack (uWSGI, the WSGI
layers, the body's transfer) adds to an upload.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import dists  # noqa: E402 - bench/ is not a package
import procs  # noqa: E402
import servers  # noqa: E402

WORK = ROOT / "bench" / "work" / "upload-live"
WARM_UP = 5


def worker_rss_mib(master: int) -> list[float]:
    """VmRSS of each uWSGI web worker: the master's children, the built-in worker excluded."""
    rss = []
    for pid in procs.tree_pids(master):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"serve" not in cmdline or pid == master:
            continue
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        rss.append(round(kb / 1024, 1))
    return rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--uploads", type=int, default=60)
    parser.add_argument("--workers", type=int)
    parser.add_argument(
        "--read-seconds", type=int, default=0, help="then wrk each page kind before the RSS"
    )
    args = parser.parse_args()

    index = dists.build_index(WORK / "dists", args.projects)
    uploads = dists.build_upload_set(WORK / "upload-dists", 2 * (args.uploads + WARM_UP))
    server = servers.Bastion(WORK, args.workers)
    server.start()
    try:
        server.load(index, threads=4)
        session = requests.Session()
        session.auth = server.credentials
        assert server.process is not None
        master = server.process.popen.pid

        def send(dist: dists.Dist) -> float:
            data, files = dists.upload_form(dist)
            started = time.perf_counter()
            response = session.post(server.upload_url, data=data, files=files, timeout=60)
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            return elapsed * 1000

        for dist in uploads[:WARM_UP]:
            send(dist)
        started = time.monotonic()
        with procs.ForeignCpu(master) as foreign:
            times = [send(dist) for dist in uploads[WARM_UP : WARM_UP + args.uploads]]
        server_cpu_ms = foreign.server_cores * (time.monotonic() - started) * 1000 / len(times)
        if args.read_seconds:  # the read benchmark's pages, so RSS is measured after serving
            for page in (server.project_url(index[0].name), server.simple_url):
                for accept in ("text/html", "application/vnd.pypi.simple.v1+json"):
                    wrk = ["wrk", "-t2", "-c64", f"-d{args.read_seconds}s", "-H"]
                    wrk += [f"Accept: {accept}", page]
                    subprocess.run(wrk, check=True, capture_output=True)
        times.sort()
        print(
            json.dumps(
                {
                    "uploads": len(times),
                    "median_ms": round(statistics.median(times), 1),
                    "p90_ms": round(times[int(len(times) * 0.9)], 1),
                    "server_cpu_ms_per_upload": round(server_cpu_ms, 1),
                    "foreign_cores": round(foreign.cores, 2),
                    "worker_rss_mib": worker_rss_mib(master),
                }
            )
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
