"""What adding a project costs the project list (``/simple/``) at 2,000 and at 500,000 projects.

    .venv/bin/python bench/simple/root_page.py [--projects 2000 500000] [--repeat 20]
                                               [--work bench/work] [--results bench/results]

1. Uses the scratch SQLite data directories of bench/search/run.py (generated once, cached under
   bench/work/search/: projects named from a word list, two releases each), copied for each run
   under bench/work/root_page/, and renders the live tree's project list once.
2. In a fresh process per size, times with the same index:
   - ``whole page``: rendering the list whole, as every change did before it was kept in blocks
     (``render_root`` into an export directory: every row read, both pages written);
   - ``add a project``: what a new project costs the list, now on the first read after its
     commit, which only marks the list stale (``refresh_root`` with its name: its block
     re-rendered, the manifest replaced);
   - ``first read after a change``: the read path joining the page from its blocks, which each
     server process does once per change when the list is asked for.
3. Prints one JSON line per measurement (median and worst wall time, median CPU time of this
   process, in ms) with the CPU that other processes used meanwhile (``foreign_cores``, as
   bench/run.py reports it), and appends them to bench/results/root_page.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from procs import ForeignCpu  # noqa: E402
from search.run import generate  # noqa: E402


def _time(function, repeat: int, prepare=lambda number: None) -> dict:
    """Wall and CPU time of ``function`` run ``repeat`` times (each after an untimed
    ``prepare``), and the CPU that other processes used meanwhile."""
    wall, cpu = [], []
    with ForeignCpu(None) as others:
        for number in range(repeat):
            prepare(number)
            start, start_cpu = time.perf_counter(), time.process_time()
            function(number)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
    return {
        "median_ms": round(statistics.median(wall), 2),
        "max_ms": round(max(wall), 2),
        "median_cpu_ms": round(statistics.median(cpu), 2),
        "foreign_cores": round(others.cores, 2),
    }


def measure(repeat: int, work: Path) -> list[dict]:
    """Run in a process whose ``BASTION_DATA_DIR`` is a copy of a generated index."""
    import django

    django.setup()
    from django.db import transaction

    from bastion.packaging.models import Project
    from bastion.packaging.services import journal
    from bastion.packaging.signals import project_changed
    from bastion.simple import readpath, services

    # The commit marks the list stale: time the refresh of the next read here, apart from the
    # insert.
    project_changed.disconnect(dispatch_uid="bastion.simple.refresh")

    services.render_root()
    projects = Project.objects.count()
    export = Path(tempfile.mkdtemp(dir=work))
    reads = readpath.RootPageCache()
    root = services.live_root()

    def whole_page(_number: int) -> None:
        services.render_root(export)

    def new_project(number: int) -> None:
        with transaction.atomic():  # as an upload commits its rows; the list follows the commit
            journal(Project.objects.create(name=name(number), normalized_name=name(number)), "new")

    def name(number: int) -> str:
        return f"zz-bench-root-{number}"

    def add_a_project(number: int) -> None:
        services.refresh_root([name(number)])

    def first_read(number: int) -> None:
        reads.get(root, "index.html" if number % 2 else "index.json")

    rows = [
        {"what": "whole page (before)", **_time(whole_page, max(3, repeat // 4))},
        {"what": "add a project (after)", **_time(add_a_project, repeat, new_project)},
    ]
    rows.append({"what": "first read after a change", **_time(first_read, 2)})
    shutil.rmtree(export)
    return [{"projects": projects, **row} for row in rows]


def run(projects: int, repeat: int, work: Path) -> list[dict]:
    source = work / "search" / f"data-{projects}"
    if not (source / "bastion.sqlite3").exists():
        source.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        generate(source, projects)
        print(json.dumps({"generated_s": round(time.perf_counter() - start, 1)}), flush=True)
    data_dir = work / "root_page" / f"run-{projects}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    shutil.copy2(source / "bastion.sqlite3", data_dir / "bastion.sqlite3")
    if (source / "secret_key").exists():
        shutil.copy2(source / "secret_key", data_dir / "secret_key")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(BASTION_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="bastion.settings")
    result = subprocess.run(
        [sys.executable, __file__, "--measure", "--repeat", str(repeat), "--work", str(work)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    shutil.rmtree(data_dir)
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, nargs="+", default=[2000, 500_000])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--work", type=Path, default=ROOT / "bench" / "work", help="scratch indexes (cached)"
    )
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        for row in measure(args.repeat, args.work):
            print(json.dumps(row), flush=True)
        return
    (args.work / "root_page").mkdir(parents=True, exist_ok=True)
    rows = []
    for projects in args.projects:
        for row in run(projects, args.repeat, args.work):
            print(json.dumps(row), flush=True)
            rows.append(row)
    args.results.mkdir(parents=True, exist_ok=True)
    with (args.results / "root_page.jsonl").open("a") as out:
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        out.write(json.dumps({"at": at, "rows": rows}) + "\n")


if __name__ == "__main__":
    main()
