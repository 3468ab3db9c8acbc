"""Benchmark: file-serving throughput with download counting off and on, in the same run.

One data directory, one uploaded wheel, and ``bastion serve`` started once per phase with
``BASTION_DOWNLOADS_COUNTING`` set to 0 or 1. Phases alternate (off, on, off, on, …) so drift in
the machine's background load hits both modes alike; wrk sends pip's User-Agent. Afterwards the
recorded segments are counted, to prove the "on" phases really counted every download.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.sample import build_project  # noqa: E402 - the same sample the e2e tests build

WORK = ROOT / "bench" / "work" / "downloads" / "serving"
BIN = Path(sys.executable).parent
PIP_AGENT = 'pip/24.2 {"installer":{"name":"pip","version":"24.2"},"python":"3.12.3","ci":null}'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(WORK / "server.log", "ab")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [str(BIN / "bastion"), "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        env={**env, "BASTION_BASE_URL": url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("server did not start; see " + str(WORK / "server.log"))


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the master only: it stops the workers, whose exit flushes their buffers."""
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def publish(env: dict[str, str], url: str) -> str:
    """Upload one sample wheel with twine and return its file path on the server."""
    built = build_project(WORK / "src", "served-sample", "1.0")
    cli = [str(BIN / "bastion")]
    subprocess.run([*cli, "users", "create", "bench", "--email", "b@example.com", "--verified"],
                   env=env, check=True, capture_output=True)  # fmt: skip
    token = subprocess.run([*cli, "tokens", "create", "bench"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    client_env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "TWINE_"))}
    subprocess.run(
        [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{url}/legacy/", "-u", "__token__", "-p", token, str(built.wheel)],
        env=client_env, check=True, capture_output=True,
    )  # fmt: skip
    page = requests.get(
        f"{url}/simple/served-sample/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=10,
    ).json()
    return "/" + page["files"][0]["url"].split("://", 1)[-1].split("/", 1)[-1].split("#")[0]


def wrk(url: str, seconds: int, connections: int) -> float:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", f"User-Agent: {PIP_AGENT}", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in output:
        raise SystemExit("wrk saw errors:\n" + output)
    requests_done = int(re.search(r"(\d+) requests in", output).group(1))
    print(output)
    return requests_done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="off/on pairs")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env["BASTION_DATA_DIR"] = str(WORK / "data")
    process, url = start({**env, "BASTION_DOWNLOADS_COUNTING": "0"}, args.workers)
    try:
        path = publish(env, url)
    finally:
        stop(process)
    rates: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(args.rounds):
        for mode, flag in (("off", "0"), ("on", "1")):
            process, url = start({**env, "BASTION_DOWNLOADS_COUNTING": flag}, args.workers)
            try:
                requests.get(url + path, timeout=10).raise_for_status()  # warm the workers
                rates[mode].append(wrk(url + path, args.seconds, args.connections))
            finally:
                stop(process)
    segments = WORK / "data" / "downloads" / "segments"
    recorded = sum(len(p.read_text().splitlines()) for p in segments.glob("*.jsonl"))
    expected = sum(rates["on"]) * args.seconds + args.rounds  # plus the warm-up requests
    off, on = (sum(rates[m]) / len(rates[m]) for m in ("off", "on"))
    results = {
        "file": path.rsplit("/", 1)[-1],
        "workers": args.workers,
        "connections": args.connections,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
        "requests_per_s_off": [round(r) for r in rates["off"]],
        "requests_per_s_on": [round(r) for r in rates["on"]],
        "mean_off": round(off),
        "mean_on": round(on),
        "on_vs_off_percent": round(100 * (on - off) / off, 1),
        "downloads_recorded": recorded,
        "requests_while_on": round(expected),
        "load_average": round(os.getloadavg()[0], 1),
    }
    (WORK.parent / "serving-results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
