"""The measurements: wrk on the read path, then one timed ``pip download`` and ``twine upload``."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import requests
from procs import ForeignCpu
from servers import client_env, venv_bin

HTML = "text/html"
JSON = "application/vnd.pypi.simple.v1+json"

QUEUE_DRAIN_S = 120  # longest wait for a server to finish requests a run left queued
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _duration_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> dict:
    """The numbers the table needs from ``wrk --latency`` output."""
    result = {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "non_2xx_3xx": 0,
        "socket_errors": {},
    }
    for percentile in ("50", "90", "99"):
        found = re.search(rf"^\s+{percentile}%\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.M)
        result[f"p{percentile}_ms"] = _duration_ms(found.group(1)) if found else None
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result["non_2xx_3xx"] = int(found.group(1))
    if found := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        result["socket_errors"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, found.groups()), strict=True)
        )
    return result


def probe(url: str, accept: str) -> dict:
    """One request first: the page must exist, and we note which format the server chose."""
    response = requests.get(url, headers={"Accept": accept}, timeout=120)
    return {
        "status": response.status_code,
        "content_type": response.headers.get("Content-Type", ""),
        "bytes": len(response.content),
        "keep_alive": response.headers.get("Connection", "").lower() != "close",
        "body": response.text,
    }


def wrk(url: str, accept: str, *, threads: int, connections: int, seconds: int) -> dict:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += ["--timeout", "10s", "-H", f"Accept: {accept}", url]
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return parse_wrk(output) | {"command": " ".join([*argv[:-3], f"'Accept: {accept}'", url])}


def _median_round(bursts: list[dict]) -> dict:
    """The burst of median throughput, with the median p99 and the highest foreign load of all
    rounds (a disturbed round shows, even when it is not the median one)."""
    ordered = sorted(bursts, key=lambda burst: burst["requests_per_s"])
    middle = dict(ordered[len(ordered) // 2])
    p99s = [burst["p99_ms"] for burst in bursts if burst["p99_ms"] is not None]
    middle["p99_ms"] = statistics.median(p99s) if p99s else None
    middle["foreign_cores"] = max(burst["foreign_cores"] for burst in bursts)
    return middle


def read_path(
    url: str,
    accept: str,
    *,
    threads: int,
    connections: int,
    seconds: int,
    warmup: int,
    others: ForeignCpu,
    rounds: int = 1,
) -> dict:
    """Warm the server up (caches, lazily imported code), then measure ``rounds`` times.

    One burst on this shared machine can land anywhere from half to all of a server's steady
    rate (two bursts of the same page in a row measured 29,697 and 65,543 requests/s): with
    several rounds, the requests per second and the p99 are each the median of the rounds,
    and every round is kept with the foreign load it met."""
    first = probe(url, accept)
    served = first["content_type"].split(";")[0].strip()
    summary = {key: first[key] for key in ("status", "content_type", "bytes", "keep_alive")}
    if first["status"] != 200:
        return summary | {"result": "failed", "why": f"HTTP {first['status']}"}
    if accept == JSON and served != JSON:
        return summary | {"result": "n/a", "why": f"answers JSON requests with {served}"}
    if warmup:  # few connections, so a slow server is not left with a long queue of them
        wrk(url, accept, threads=1, connections=4, seconds=warmup)
        others.wait_for_quiet(limit_cores=float("inf"), max_wait=QUEUE_DRAIN_S)
    bursts = []
    for _ in range(rounds):
        with others:
            burst = wrk(url, accept, threads=threads, connections=connections, seconds=seconds)
        bursts.append(burst | {"foreign_cores": round(others.cores, 2)})
    measured = _median_round(bursts)
    result = summary | {"result": "ok"} | measured
    if rounds > 1:
        result["rounds"] = [
            {key: burst[key] for key in ("requests_per_s", "p99_ms", "foreign_cores")}
            for burst in bursts
        ]
    if measured["requests"] == 0:
        # Not one request came back within the run: the server takes longer than the whole run
        # per page at this concurrency. Its throughput then shows one request at a time.
        others.wait_for_quiet(limit_cores=float("inf"), max_wait=QUEUE_DRAIN_S)
        with others:
            alone = wrk(url, accept, threads=1, connections=1, seconds=seconds)
        result["one_connection"] = alone | {"foreign_cores": round(others.cores, 2)}
    return result


def pip_download(index_url: str, names: list[str], work: Path) -> dict:
    """One ``pip download`` of ``names`` (no deps, no cache), timed end to end."""
    target = work / "pip-download"
    shutil.rmtree(target, ignore_errors=True)
    argv = [str(venv_bin("clients") / "pip"), "download", "--no-deps", "--no-cache-dir"]
    argv += ["-d", str(target), "--index-url", index_url, *names]
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, env=client_env())
    seconds = time.monotonic() - started
    files = sorted(path.name for path in target.iterdir()) if target.exists() else []
    ok = result.returncode == 0 and len(files) == len(names)
    return {
        "result": "ok" if ok else "failed",
        "seconds": round(seconds, 3),
        "files": len(files),
        "projects": len(names),
        "output_tail": "" if ok else (result.stdout + result.stderr)[-2000:],
    }


def twine_upload(upload_url: str, credentials: tuple[str, str], files: list[Path]) -> dict:
    """One real ``twine upload`` of every file, timed end to end."""
    user, password = credentials
    argv = [str(venv_bin("clients") / "twine"), "upload", "--non-interactive"]
    argv += ["--disable-progress-bar", "--repository-url", upload_url, "-u", user, "-p", password]
    started = time.monotonic()
    result = subprocess.run(
        argv + [str(path) for path in files], capture_output=True, text=True, env=client_env()
    )
    seconds = time.monotonic() - started
    return {
        "result": "ok" if result.returncode == 0 else "failed",
        "seconds": round(seconds, 3),
        "files": len(files),
        "files_per_s": len(files) / seconds,
        "output_tail": "" if result.returncode == 0 else (result.stdout + result.stderr)[-2000:],
    }
