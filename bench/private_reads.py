"""What a private index costs on the read path: a project page read with an API token
(``BASTION_READ_ACCESS=authenticated``) against the same page on a public index.

Run from the repository root with the project's virtualenv (needs ``wrk``):

    .venv/bin/python bench/private_reads.py [--projects 20] [--duration 10] [--connections 64]

Three servers, one after another, each loaded with the same generated index:

- ``public``: no credentials, as today;
- ``private``: every request carries a read-only token in HTTP Basic auth, as pip sends it; the
  verdict is cached in each process for ``BASTION_READ_TOKEN_CACHE_SECONDS`` (5 s);
- ``private, no cache``: the same with that cache off (0 s), i.e. one token query per request,
  to show what the cache saves.

Prints a table of requests per second and p99 latency, and writes it as JSON beside the other
results in ``bench/results/``.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure
from dists import build_index, project_name
from servers import WORK, Bastion

RESULTS = Path(__file__).resolve().parent / "results"
JSON = "application/vnd.pypi.simple.v1+json"
VARIANTS = {
    "public": {},
    "private": {"BASTION_READ_ACCESS": "authenticated"},
    "private, no cache": {
        "BASTION_READ_ACCESS": "authenticated",
        "BASTION_READ_TOKEN_CACHE_SECONDS": "0",
    },
}


def wrk(url: str, args: argparse.Namespace, authorization: str | None) -> dict:
    argv = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    argv += ["--timeout", "10s", "-H", f"Accept: {JSON}"]
    if authorization:
        argv += ["-H", f"Authorization: {authorization}"]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    return measure.parse_wrk(output)


def bench_variant(name: str, extra_env: dict, dists: list, args: argparse.Namespace) -> dict:
    server = Bastion(WORK / "private-reads", args.workers)
    server.env.update(extra_env)
    server.start()
    try:
        server.load(dists, threads=4)
        authorization = None
        if extra_env:
            token = server.cli("tokens", "create", "bench", "--read-only")
            authorization = "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()
        url = server.project_url(project_name(1))
        headers = {"Accept": JSON} | ({"Authorization": authorization} if authorization else {})
        probe = requests.get(url, headers=headers, timeout=60)
        assert probe.status_code == 200, (name, probe.status_code, probe.text[:200])
        if authorization:
            refused = requests.get(url, headers={"Accept": JSON}, timeout=60)
            assert refused.status_code == 401, (name, refused.status_code)
        return {"variant": name, "page_bytes": len(probe.content)} | wrk(url, args, authorization)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    dists = build_index(WORK / "dists-private-reads", args.projects)
    rows = [bench_variant(name, env, dists, args) for name, env in VARIANTS.items()]
    baseline = rows[0]["requests_per_s"]
    print("| variant | requests/s | p99 ms | share of public | non-2xx |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        share = row["requests_per_s"] / baseline
        print(
            f"| {row['variant']} | {row['requests_per_s']:,.0f} | {row['p99_ms']:.2f} "
            f"| {share:.0%} | {row['non_2xx_3xx']} |"
        )
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"private-reads-{stamp}.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
