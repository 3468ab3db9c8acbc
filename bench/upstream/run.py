"""Benchmark: a cached upstream page against a local one, and a first fetch through Bastion
against a direct fetch from the upstream, in one run.

In process, through the read path's WSGI application (``ReadPath``) on one thread, so the
numbers compare the read path's own work without HTTP framing or a load generator (this machine
has no wrk, and its throughput drifts by tens of percent from minute to minute). Pages: one
local and one upstream page of the same size, measured in short alternating bursts; the result
is the median of the paired ratios. Files: an upstream on the loopback (``http.server``) serves
``--files`` wheels of ``--size`` bytes; each is fetched once directly (urllib3, as Bastion does)
and once through Bastion (first request: listed-row lookup, fetch, sha256, store, serve).

    .venv/bin/python bench/upstream/run.py [--rounds 10] [--files 50] [--size 200000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def _upstream(files: dict[str, bytes], page: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = page if self.path == "/simple/demo/" else files.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            ctype = JSON_TYPE if body is page else "application/octet-stream"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _call(app, path: str, accept: str = JSON_TYPE) -> tuple[str, bytes]:
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = status

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_ACCEPT": accept}
    body = b"".join(app(environ, start_response))
    return captured["status"], body


def _rate(app, path: str, seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(200):
            _call(app, path)
        count += 200
    return count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--burst", type=float, default=0.5, help="seconds per page burst")
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--size", type=int, default=200_000)
    args = parser.parse_args()

    files = {
        f"/files/demo-{i}.0-py3-none-any.whl": os.urandom(args.size) for i in range(args.files)
    }
    listing = [
        {"filename": path.rsplit("/", 1)[1], "url": path, "hashes": {"sha256": ""}}
        for path in files
    ]
    for entry, body in zip(listing, files.values(), strict=True):
        entry["hashes"]["sha256"] = hashlib.sha256(body).hexdigest()
    page = json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": listing}).encode()
    upstream = _upstream(files, page)
    base = f"http://127.0.0.1:{upstream.server_address[1]}"

    os.environ.update(
        BASTION_DATA_DIR=tempfile.mkdtemp(prefix="bench-upstream-"),
        BASTION_UPSTREAM_URL=f"{base}/simple/",
        BASTION_DOWNLOADS_COUNTING="0",
        DJANGO_SETTINGS_MODULE="bastion.settings",
    )
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bastion.simple import services
    from bastion.simple.readpath import ReadPath
    from bastion.upstream import client
    from bastion.wsgi import django_application

    app = ReadPath(django_application)
    status, upstream_page = _call(app, "/simple/demo/")
    assert status.startswith("200"), status
    local = Path(services.live_root()) / "local-demo"  # the same bytes, as a local page
    local.mkdir(parents=True)
    for name in (services.JSON_PAGE, services.HTML_PAGE):
        (local / name).write_bytes(upstream_page)

    ratios, local_rates, cached_rates = [], [], []
    for round_number in range(args.rounds):
        order = ["/simple/local-demo/", "/simple/demo/"]
        if round_number % 2:
            order.reverse()
        rates = {path: _rate(app, path, args.burst) for path in order}
        local_rates.append(rates["/simple/local-demo/"])
        cached_rates.append(rates["/simple/demo/"])
        ratios.append(rates["/simple/demo/"] / rates["/simple/local-demo/"])

    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        first = json.loads(_call(app, "/simple/demo/")[1])["files"][0]["url"]
        cProfile.runctx("_call(app, first, '*/*')", globals(), locals(), sort="tottime")
    direct_ms, through_ms = [], []
    urls = [entry["url"] for entry in json.loads(_call(app, "/simple/demo/")[1])["files"]]
    for path, url in zip(files, urls, strict=True):
        started = time.perf_counter()
        body = b"".join(client.stream_file(f"{base}{path}"))
        direct_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        status, through = _call(app, url, accept="*/*")
        through_ms.append((time.perf_counter() - started) * 1000)
        assert status.startswith("200") and through == body == files[path], status
    upstream.shutdown()

    result = {
        "page_bytes": len(upstream_page),
        "local_page_rps_median": round(statistics.median(local_rates)),
        "cached_upstream_page_rps_median": round(statistics.median(cached_rates)),
        "cached_over_local_median_ratio": round(statistics.median(ratios), 3),
        "file_bytes": args.size,
        "direct_fetch_ms_median": round(statistics.median(direct_ms), 2),
        "first_fetch_through_bastion_ms_median": round(statistics.median(through_ms), 2),
        "added_ms_median": round(statistics.median(through_ms) - statistics.median(direct_ms), 2),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
