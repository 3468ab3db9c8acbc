"""Benchmark: file-serving throughput with download counting off and on, in the same run.

One data directory, one uploaded wheel, and two ``bastion serve`` instances side by side: one
with ``BASTION_DOWNLOADS_COUNTING=0``, one with ``1``. wrk (with pip's User-Agent) loads them in
turn, in many short bursts whose order flips every round (off-on, on-off, …): this machine's
throughput drifts by ±30 % from minute to minute, so only neighbouring bursts are compared, and
the median of those paired ratios is the result. Afterwards the recorded segments are counted,
to prove the counting server really counted every download.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
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
        env={
            **env,
            "BASTION_BASE_URL": url,
            "BASTION_ACCESS_LOG": "0",
            "BASTION_WORKER": "external",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except (requests.ConnectionError, requests.Timeout):  # still starting, or a busy machine
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
                   env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL)  # fmt: skip
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
    return requests_done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="off/on pairs of bursts")
    parser.add_argument("--seconds", type=int, default=5, help="length of one burst")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env["BASTION_DATA_DIR"] = str(WORK / "data")
    servers = {
        mode: start({**env, "BASTION_DOWNLOADS_COUNTING": flag}, args.workers)
        for mode, flag in (("off", "0"), ("on", "1"))
    }
    rates: dict[str, list[float]] = {"off": [], "on": []}
    try:
        path = publish(env, servers["off"][1])
        for mode in ("off", "on"):  # warm both servers' workers
            for _ in range(10):
                requests.get(servers[mode][1] + path, timeout=10).raise_for_status()
        for round_number in range(args.rounds):
            order = ("off", "on") if round_number % 2 == 0 else ("on", "off")
            for mode in order:
                url = servers[mode][1] + path
                rates[mode].append(wrk(url, args.seconds, args.connections))
                print(f"round {round_number + 1} {mode}: {rates[mode][-1]:,.0f} req/s", flush=True)
    finally:
        for process, _url in servers.values():
            stop(process)
    segments = WORK / "data" / "downloads" / "segments"
    recorded = sum(len(p.read_text().splitlines()) for p in segments.glob("*.jsonl"))
    expected = sum(rates["on"]) * args.seconds + 10  # plus the warm-up requests
    off, on = (statistics.median(rates[m]) for m in ("off", "on"))
    paired = [100 * (b - a) / a for a, b in zip(rates["off"], rates["on"], strict=True)]
    results = {
        "file": path.rsplit("/", 1)[-1],
        "workers": args.workers,
        "connections": args.connections,
        "seconds_per_burst": args.seconds,
        "rounds": args.rounds,
        "requests_per_s_off": [round(r) for r in rates["off"]],
        "requests_per_s_on": [round(r) for r in rates["on"]],
        "median_off": round(off),
        "median_on": round(on),
        "paired_on_vs_off_percent": [round(p, 1) for p in paired],
        "median_paired_percent": round(statistics.median(paired), 1),
        "downloads_recorded": recorded,
        "requests_while_on": round(expected),
        "load_average": round(os.getloadavg()[0], 1),
    }
    (WORK.parent / "serving-results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
