"""Object storage against local storage: the read path and twine uploads, in one run.

Run from the repository root with the project's virtualenv (wrk must be installed):

    .venv/bin/python bench/storage.py                  # 200 projects, 10 s per read measure
    .venv/bin/python bench/storage.py --projects 20 --duration 2   # a smoke run

Two Bastion servers are measured one after the other on the same generated index: one with the
default local storage, one with ``BASTION_STORAGE_URL=s3://…`` against moto's standalone S3
server on the loopback (so the S3 numbers include moto's own cost; a real store is faster per
request but farther away). Both use SQLite in their data directory: one server needs nothing
else, and the S3 server still checks its pages' serials against the database (its several-server
mode) at the interval it uses in production. Reads are served from the in-process page cache
either way; the aim is project pages at no less than 90% of local throughput. Results are
printed and written to bench/results/storage-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure
from dists import build_index, build_upload_set, project_name
from procs import ForeignCpu, Process, free_port
from servers import BASTION_BIN, BENCH, Bastion, bulk_upload, client_env

BUCKET = "bastion-bench"
AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class BastionOn(Bastion):
    """Bastion with the given storage: ``local`` or ``s3`` (the moto server at ``endpoint``)."""

    def __init__(self, work: Path, storage: str, endpoint: str | None, workers: int | None):
        self.name = f"bastion-{storage}"
        super().__init__(work, workers)
        if storage == "s3":
            self.env.update(AWS, AWS_ENDPOINT_URL=endpoint, BASTION_STORAGE_URL=f"s3://{BUCKET}")


def start_moto(work: Path) -> tuple[Process, str]:
    import boto3

    port = free_port()
    process = Process(
        [str(BASTION_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        log=work / "moto.log",
        env=client_env(),
    )
    endpoint = f"http://127.0.0.1:{port}"
    process.wait_until_up(f"{endpoint}/moto-api/")
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
        region_name=AWS["AWS_DEFAULT_REGION"],
    ).create_bucket(Bucket=BUCKET)
    return process, endpoint


def twine_upload(server: Bastion, files: list[Path]) -> dict:
    user, password = server.credentials
    argv = [str(BASTION_BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar"]
    argv += ["--repository-url", server.upload_url, "-u", user, "-p", password]
    started = time.monotonic()
    result = subprocess.run(argv + [str(f) for f in files], capture_output=True, env=client_env())
    seconds = time.monotonic() - started
    if result.returncode:
        raise RuntimeError(result.stdout.decode()[-2000:] + result.stderr.decode()[-2000:])
    return {"files": len(files), "seconds": round(seconds, 2), "files_per_s": len(files) / seconds}


def measure_server(server: Bastion, plan: dict, args) -> dict:
    server.start()
    try:
        result = {"load": bulk_upload(server.upload_url, server.credentials, plan["index"], 2)}
        others = ForeignCpu(server.process.pid)
        result["reads"] = {}
        for label, accept in (("html", measure.HTML), ("json", measure.JSON)):
            print(f"  {server.name}: project page, {label}", flush=True)
            waited = others.wait_for_quiet(args.quiet_cores, args.quiet_wait)
            result["reads"][label] = waited | measure.read_path(
                server.project_url(plan["page"]),
                accept,
                threads=2,
                connections=64,
                seconds=args.duration,
                warmup=2,
                others=others,
            )
            result["reads"][label].pop("body", None)
        print(f"  {server.name}: twine upload of {len(plan['upload'])} files", flush=True)
        others.wait_for_quiet(args.quiet_cores, args.quiet_wait)
        with others:
            result["twine_upload"] = twine_upload(server, [d.path for d in plan["upload"]])
        result["twine_upload"]["foreign_cores"] = round(others.cores, 2)
    finally:
        server.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--upload-files", type=int, default=100)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk measure")
    parser.add_argument("--workers", type=int, default=None, help="bastion serve --workers")
    parser.add_argument("--quiet-cores", type=float, default=0.5)
    parser.add_argument("--quiet-wait", type=float, default=30)
    args = parser.parse_args()

    work = BENCH / "work" / "storage"
    work.mkdir(parents=True, exist_ok=True)
    plan = {
        "index": build_index(work / "dists" / "index", args.projects),
        "upload": build_upload_set(work / "dists" / "upload", args.upload_files),
        "page": project_name(args.projects // 2),
    }
    moto, endpoint = start_moto(work)
    results = {"args": vars(args), "started": datetime.now(UTC).isoformat(), "servers": {}}
    try:
        for storage in ("local", "s3"):
            server = BastionOn(work, storage, endpoint, args.workers)
            results["servers"][storage] = measure_server(server, plan, args)
    finally:
        moto.stop()
    local, s3 = results["servers"]["local"], results["servers"]["s3"]
    print(f"{'measure':32} {'local':>10} {'s3':>10} {'s3/local':>9}")
    for label in ("html", "json"):
        a, b = local["reads"][label]["requests_per_s"], s3["reads"][label]["requests_per_s"]
        print(f"{'project page ' + label + ': requests/s':32} {a:10.0f} {b:10.0f} {b / a:9.2f}")
        a, b = local["reads"][label]["p99_ms"], s3["reads"][label]["p99_ms"]
        print(f"{'project page ' + label + ': p99 ms':32} {a:10.2f} {b:10.2f} {b / a:9.2f}")
    a, b = local["twine_upload"]["seconds"], s3["twine_upload"]["seconds"]
    print(f"{'twine upload: s':32} {a:10.2f} {b:10.2f} {b / a:9.2f}")
    out = BENCH / "results" / f"storage-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
