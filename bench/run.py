"""Benchmark Bastion's read and upload paths against devpi-server, pypiserver and static nginx.

Run from the repository root with the project's virtualenv:

    .venv/bin/python bench/run.py                 # the full run: 2,000 projects x 5 versions
    .venv/bin/python bench/run.py --projects 50   # a quick smoke run

Every server receives the same generated index and is measured alone on this machine, with wrk,
pip and twine running beside it. Results go to bench/results/<timestamp>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure
import report
from dists import INDEX_VERSIONS, build_index, build_upload_set, normalized, project_name
from procs import ForeignCpu, RssSampler
from servers import WORK, Bastion, Devpi, Nginx, PypiServer, Server, ensure_venvs, venv_bin

SERVERS = ("bastion", "nginx", "devpi", "pypiserver")


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return {
        "nproc": os.cpu_count(),
        "cpu": models[0] if models else platform.processor(),
        "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 1024**2, 1),
        "kernel": platform.release(),
        "sched_autogroup": _autogroup(),
        "python": platform.python_version(),
    }


def _autogroup() -> str:
    """Whether the scheduler groups processes by session (see procs.Process)."""
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()
    except OSError:
        return "unknown"


def tool_versions() -> dict:
    def out(*argv: str) -> str:
        result = subprocess.run(argv, capture_output=True, text=True)
        return (result.stdout + result.stderr).strip().splitlines()[0]

    return {
        "wrk": out("wrk", "-v"),
        "pip": out(str(venv_bin("clients") / "pip"), "--version").split(" from ")[0],
        "twine": out(str(venv_bin("clients") / "twine"), "--version"),
    }


def make_server(name: str, work: Path, args: argparse.Namespace, started: dict) -> Server:
    if name == "bastion":
        return Bastion(work, workers=args.bastion_workers)
    if name == "nginx":
        if "bastion" not in started:
            raise SystemExit("nginx serves Bastion's rendered pages: list bastion before nginx")
        return Nginx(work, started["bastion"])
    if name == "devpi":
        return Devpi(work)
    return PypiServer(work)


def verify_pages(server: Server, sample: list[str]) -> dict:
    """Before timing anything: each sampled project page must list all of its files."""
    missing = []
    for name in sample:
        body = measure.probe(server.project_url(name), measure.HTML)["body"]
        missing += [
            f"{name}-{version}" for version in INDEX_VERSIONS if f"{name}-{version}-" not in body
        ]
    if missing:
        raise RuntimeError(f"{server.name}: pages lack files after loading: {missing[:5]}")
    return {"checked_projects": len(sample)}


def bench_server(server: Server, args: argparse.Namespace, plan: dict, started: dict) -> dict:
    """Start, load, verify, then measure reads, pip and twine, with RSS sampled throughout."""
    result: dict = {"version": server.version()}
    server.start()
    sampler = None
    try:
        if server.process:
            sampler = RssSampler(server.process.pid)
            sampler.start()
        if sampler:
            sampler.phase = "load"
        loading = ForeignCpu(server.process.pid if server.process else None)
        with loading:
            result["load"] = server.load(plan["index"], args.load_threads)
        result["load"]["foreign_cores"] = round(loading.cores, 2)  # as beside every other figure
        if sampler is None and server.process:  # servers that start only once loaded
            sampler = RssSampler(server.process.pid)
            sampler.start()
        started[server.name] = server
        result["verified"] = verify_pages(server, plan["sample"])
        others = ForeignCpu(server.process.pid)

        def quiet() -> dict:
            return others.wait_for_quiet(args.quiet_cores, args.quiet_wait)

        sampler.phase = "read"
        result["reads"] = {}
        for page, url in (
            ("project", server.project_url(plan["page"])),
            ("root", server.simple_url),
        ):
            for label, accept in (("html", measure.HTML), ("json", measure.JSON)):
                print(f"  {server.name}: {page} page, {label}", flush=True)
                waited = quiet()
                result["reads"][f"{page}_{label}"] = waited | measure.read_path(
                    url,
                    accept,
                    threads=args.threads,
                    connections=args.connections,
                    seconds=args.duration,
                    warmup=args.warmup,
                    others=others,
                    rounds=args.read_rounds,
                )
        sampler.phase = "pip"
        print(f"  {server.name}: pip download of {len(plan['pip'])} projects", flush=True)
        waited = quiet()
        with others:
            pip = measure.pip_download(server.simple_url, plan["pip"], server.work)
        result["pip_download"] = waited | pip | {"foreign_cores": round(others.cores, 2)}
        sampler.phase = "upload"
        if server.upload_url:
            print(f"  {server.name}: twine upload of {len(plan['upload'])} files", flush=True)
            waited = quiet()
            with others:
                twine = measure.twine_upload(
                    server.upload_url, server.credentials, [d.path for d in plan["upload"]]
                )
            result["twine_upload"] = waited | twine | {"foreign_cores": round(others.cores, 2)}
        else:
            result["twine_upload"] = {"result": "n/a", "why": "static files, no upload API"}
    finally:
        if sampler:
            result["rss"] = sampler.stop()
        server.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=2000, help="projects in the index")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated, in order")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk before each")
    parser.add_argument(
        "--read-rounds", type=int, default=3, help="wrk runs per page; the median one counts"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--pip-projects", type=int, default=20)
    parser.add_argument("--upload-files", type=int, default=200)
    parser.add_argument("--load-threads", type=int, default=8, help="parallel bulk uploads")
    parser.add_argument(
        "--bastion-workers", type=int, help="bastion serve --workers (default: its own default)"
    )
    parser.add_argument(
        "--quiet-cores",
        type=float,
        default=0.25,
        help="before each measurement, wait until other processes use less CPU than this",
    )
    parser.add_argument("--quiet-wait", type=float, default=60, help="longest such wait, s")
    parser.add_argument("--skip-install", action="store_true", help="reuse bench/work venvs as is")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)

    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install -y wrk nginx")
    if not args.skip_install:
        ensure_venvs()
    began = time.monotonic()
    dists_dir = WORK / "dists"
    every = max(1, args.projects // args.pip_projects)
    plan = {
        "index": build_index(dists_dir / "index", args.projects),
        "upload": build_upload_set(dists_dir / "upload", args.upload_files),
        "page": project_name(args.projects // 2 or 1),
        "pip": [normalized(project_name(n)) for n in range(1, args.projects + 1, every)][
            : args.pip_projects
        ],
        "sample": [project_name(n) for n in (1, args.projects // 2 or 1, args.projects)],
    }
    run = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/run.py", *sys.argv[1:]]),
        "machine": machine(),
        "tools": tool_versions(),
        "config": {
            "projects": args.projects,
            "versions_per_project": len(INDEX_VERSIONS),
            "index_files": len(plan["index"]),
            "page": normalized(plan["page"]),
            "wrk": f"-t{args.threads} -c{args.connections} -d{args.duration}s --latency",
            "warmup_s": args.warmup,
            "read_rounds": args.read_rounds,
            "pip_projects": len(plan["pip"]),
            "upload_files": len(plan["upload"]),
            "bastion_workers": args.bastion_workers or "bastion serve's default",
        },
        "servers": {},
    }
    started: dict[str, Server] = {}
    work = WORK / "run"
    for name in args.servers.split(","):
        print(f"== {name}", flush=True)
        server = make_server(name, work, args, started)
        run["servers"][name] = bench_server(server, args, plan, started)
    run["wall_seconds"] = round(time.monotonic() - began, 1)

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (args.out / f"{stamp}.json").write_text(json.dumps(run, indent=2))
    table = report.markdown(run)
    (args.out / f"{stamp}.md").write_text(table)
    print(table)
    print(f"results: {args.out / stamp}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
