"""The bulk load alone, Bastion against devpi-server, with the server CPU each file cost.

    .venv/bin/python bench/upload/bulk.py [--projects 600] [--threads 8] [--servers bastion,devpi]
                                          [--skip-install]

``bench/run.py`` times the bulk load once per server inside a seven-minute run; this loads the
same kind of index (``--projects`` projects, five wheels each, ``--threads`` uploads at a time)
into each server in turn and prints, per server: the wall time, the files a second, the CPU
the server's process tree used per file, and the foreign CPU load meanwhile. Wall time alone
cannot tell a server that waits (on locks, the disk) from one that computes; CPU per file can,
so a change to the write path shows here in a minute instead of in the full run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import dists  # noqa: E402 - bench/ is not a package
import procs  # noqa: E402
import servers  # noqa: E402

WORK = ROOT / "bench" / "work" / "upload-bulk"


def load_one(server: servers.Server, index: list[dists.Dist], threads: int) -> dict:
    """Start ``server``, load ``index`` into it, measure, stop."""
    server.start()
    try:
        assert server.process is not None
        with procs.ForeignCpu(server.process.pid) as window:
            loaded = servers.bulk_upload(server.upload_url, server.credentials, index, threads)
    finally:
        server.stop()
    server_cpu_s = window.server_cores * loaded["seconds"]
    return {
        "files": loaded["files"],
        "seconds": loaded["seconds"],
        "files_per_s": round(loaded["files_per_s"], 1),
        "server_cpu_ms_per_file": round(1000 * server_cpu_s / loaded["files"], 2),
        "server_cores": round(window.server_cores, 2),
        "foreign_cores": round(window.cores, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=600)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--servers", default="bastion,devpi")
    parser.add_argument("--skip-install", action="store_true", help="reuse devpi's venv as is")
    args = parser.parse_args()
    if "devpi" in args.servers.split(",") and not args.skip_install:
        servers.ensure_venvs()
    index = dists.build_index(WORK / "dists", args.projects)
    makers = {
        "bastion": lambda: servers.Bastion(WORK, workers=None),
        "devpi": lambda: servers.Devpi(WORK),
    }
    results = {
        name: load_one(makers[name](), index, args.threads) for name in args.servers.split(",")
    }
    if {"bastion", "devpi"} <= results.keys():
        ratio = results["bastion"]["seconds"] / results["devpi"]["seconds"]
        results["bastion_over_devpi"] = round(ratio, 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
