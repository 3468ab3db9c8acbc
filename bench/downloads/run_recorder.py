"""Micro-benchmark: what counting costs a serving process, per download, in CPU time.

``record_download`` runs on the request path; ``flush`` runs on the background thread. Both are
timed in-process over many calls with a realistic mix of pip, uv and mirror User-Agents.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("BASTION_DATA_DIR", tempfile.mkdtemp(prefix="bastion-recorder-bench-"))
os.environ.setdefault("BASTION_DOWNLOADS_FLUSH_SECONDS", "3600")
os.environ["DJANGO_SETTINGS_MODULE"] = "bastion.settings"

import django

django.setup()

from bastion.downloads import recorder  # noqa: E402

AGENTS = [
    'pip/24.2 {"installer":{"name":"pip","version":"24.2"},"python":"3.12.3","ci":null}',
    'uv/0.5.0 {"installer":{"name":"uv","version":"0.5.0"},"python":"3.12.1","ci":true}',
    "bandersnatch/6.5.0 (CPython 3.12.3-final0, Linux x86_64)",
]
FILES = [f"project_{n}-1.{n % 7}.0-py3-none-any.whl" for n in range(2000)]


def fresh(text: str) -> str:
    """A new string object with the same text, as each request's WSGI environ brings: its hash
    is not cached yet, which is what the recorder's caches pay for."""
    return (text + " ")[:-1]


def main(calls: int = 500_000) -> None:
    downloads = [
        (fresh(FILES[i % len(FILES)]), fresh(AGENTS[i % len(AGENTS)])) for i in range(calls)
    ]
    started = time.process_time()
    for filename, agent in downloads:
        recorder.record_download(filename, agent)
    record_ns = (time.process_time() - started) / calls * 1e9
    started = time.process_time()
    recorder.flush()
    flush_ns = (time.process_time() - started) / calls * 1e9
    print(json.dumps({"calls": calls, "record_ns_per_download": round(record_ns),
                      "flush_ns_per_download": round(flush_ns)}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500_000)
