"""Scale benchmark of ``bastion critical designate``: PyPI-sized inputs, one machine.

    .venv/bin/python bench/critical/designation.py [--projects 500000] [--edges 3000000]

1. Generates (once, cached under bench/work/critical/) a SQLite data directory with the inputs:
   projects with releases (PEP 440 ordering matters: versions like 1.9 and 1.10; some latest
   releases yanked), runtime and extras-only dependency edges, 180 days of download rollups
   with installer and mirror rows (loaded with ``bastion downloads import-rollup``), and
   accounts holding roles (so notices are sent).
2. Copies it, writes the bytecode an installed Bastion has (``compile_bytecode``), then times
   ``bastion critical designate --json`` as an operator runs it (a new process: Django
   start-up, reading the rollups and the graph, the computation, storing the designations, one
   notice per maintainer and the day's grace reminders into the mail outbox, the stats
   snapshot), twice: the first run designates everything, the rerun finds nothing new.
3. Reports wall time, CPU time and peak RSS of each run (``ru_maxrss`` of the child) and the CPU
   other processes used meanwhile as JSON lines in bench/results/critical.jsonl and on stdout.
   When the inputs were generated in the same call, the peak RSS includes the generating
   process's memory (Linux counts the forked parent's pages before ``exec``): run it again.

Popularity is Zipf-like; a project's dependencies are drawn with the same skew (popular
projects are depended on most), and each project is downloaded on a number of days that grows
with its popularity (the top 20,000 every day, the tail on 20 of the 180 days).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import time
from bisect import bisect_left
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from procs import ForeignCpu  # bench/procs.py, beside this script's directory

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "bench" / "work" / "critical"
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
DAYS = 180
#: How strongly dependencies go to popular projects (1 / rank ** skew); tuned so that, as on
#: PyPI in 2022 (3,818 critical of 3,500 ranked), the closure adds about as much again.
DEPENDENCY_SKEW = 1.4
TODAY = date.today()


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(
        BASTION_DATA_DIR=str(data_dir),
        BASTION_BASE_URL="http://localhost:8000",
        DJANGO_SETTINGS_MODULE="bastion.settings",
    )
    return env


def _skewed_picker(rng: random.Random, count: int, exponent: float):
    """Draw indexes 0..count-1 with probability proportional to 1 / (index + 1) ** exponent."""
    cumulative = list(accumulate(1.0 / (i + 1) ** exponent for i in range(count)))
    total = cumulative[-1]

    def pick() -> int:
        return min(count - 1, bisect_left(cumulative, rng.random() * total))

    return pick


def generate(data_dir: Path, projects: int, edges: int, seed: int) -> dict:
    """Write the inputs straight into the migrated SQLite database of ``data_dir``."""
    subprocess.run([str(BIN / "bastion"), "migrate"], env=_env(data_dir), check=True)
    rng = random.Random(seed)
    names = [f"project-{i:06d}" for i in range(projects)]
    database = sqlite3.connect(data_dir / "bastion.sqlite3")
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=OFF")
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    columns = {
        table: [row[1] for row in database.execute(f"PRAGMA table_info({table})")]
        for table in ("packaging_project", "packaging_release", "accounts_user")
    }

    def insert(table: str, rows, values: dict) -> None:
        """Insert rows given as dicts; other columns get ``values``, then neutral defaults."""
        neutral = {"id": None, "created": now, "date_joined": now, "last_serial": 0}
        cols = columns[table]
        database.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",  # noqa: S608
            (tuple({**neutral, **values, **row}.get(c, "") for c in cols) for row in rows),
        )

    json_empty = {"license_files": "[]", "classifiers": "[]", "platform": "[]",
                  "supported_platform": "[]", "requires_dist": "[]", "provides_dist": "[]",
                  "obsoletes_dist": "[]", "requires_external": "[]", "provides_extra": "[]",
                  "project_urls": "{}", "dynamic": "[]", "import_names": "[]",
                  "import_namespaces": "[]"}  # fmt: skip
    insert(
        "packaging_project",
        ({"id": i + 1, "name": n, "normalized_name": n} for i, n in enumerate(names)),
        {"status": "active", "requires_two_factor": 0},
    )
    # Releases: 1.9 then 1.10 (PEP 440 makes 1.10 the latest); 5% also have a yanked 2.0.
    releases, latest = [], {}
    for pid in range(1, projects + 1):
        for version, yanked in (("1.9", 0), ("1.10", 0)) + ((("2.0", 1),) if pid % 20 == 0 else ()):
            releases.append(
                {
                    "project_id": pid,
                    "version": version,
                    "canonical_version": version,
                    "yanked": yanked,
                    "is_prerelease": 0,
                    "metadata_version": "2.4",
                }
            )
    insert("packaging_release", releases, {**json_empty, "uploader_id": None})
    for release_id, project_id, version in database.execute(
        "SELECT id, project_id, version FROM packaging_release"
    ):
        if version == "1.10":
            latest[project_id] = release_id
    older = {pid: rid - 1 for pid, rid in latest.items()}  # 1.9 was inserted just before
    pick = _skewed_picker(rng, projects, DEPENDENCY_SKEW)
    dependency_rows = []
    for _ in range(edges):
        source = rng.randrange(projects) + 1
        target = names[pick()]
        roll = rng.random()
        release = older[source] if roll < 0.15 else latest[source]
        dependency_rows.append((release, target, "", "", 1 if roll > 0.95 else 0))
    database.executemany(
        "INSERT INTO packaging_dependency (release_id, name, specifier, marker, extra_only) "
        "VALUES (?, ?, ?, ?, ?)",
        dependency_rows,
    )
    # Rollups: the top 20,000 are downloaded every day, the tail on 20 days or more. They are
    # loaded as an operator would, as a BigQuery rollup result (import-rollup).
    rollup_rows = 0
    days = [(TODAY - timedelta(days=d)).isoformat() for d in range(1, DAYS + 1)]
    rollup_csv = data_dir / "rollup.csv"
    with open(rollup_csv, "w") as out:
        out.write("project_name,day,installer_class,downloads\n")
        for rank, name in enumerate(names):
            active = min(DAYS, max(20, int(DAYS * 20_000 / (rank + 1))))
            base = max(1, int(50_000_000 / (rank + 1) ** 1.1 / DAYS))
            for day in rng.sample(days, active):
                rollup_rows += 1
                out.write(f"{name},{day},installer,{base + rng.randrange(base + 1)}\n")
            if rank % 50 == 0:  # mirrors fetch everything; never ranked
                rollup_rows += 1
                out.write(f"{name},{days[0]},mirror,1000000\n")
    # Accounts: one user per five projects (100,000 at full size); every project has an owner,
    # every tenth also a maintainer.
    users = max(1, projects // 5)
    insert(
        "accounts_user",
        ({"id": u + 1, "username": f"user{u}", "password": "!"} for u in range(users)),
        {
            "is_superuser": 0,
            "is_staff": 0,
            "is_active": 1,
            "first_name": "",
            "last_name": "",
            "email": "",
            "last_login": None,
        },
    )
    database.executemany(
        'INSERT INTO accounts_email (user_id, email, "primary", verified, created, '
        "verified_at, unverified_reason) VALUES (?, ?, 1, 1, ?, ?, '')",
        ((u + 1, f"user{u}@example.com", now, now) for u in range(users)),
    )
    roles = [(rng.randrange(users) + 1, pid, "Owner", now) for pid in range(1, projects + 1)]
    roles += [
        (rng.randrange(users) + 1, pid, "Maintainer", now) for pid in range(1, projects + 1, 10)
    ]
    database.executemany(
        "INSERT OR IGNORE INTO packaging_role (user_id, project_id, role_name, created) "
        "VALUES (?, ?, ?, ?)",
        roles,
    )
    database.commit()
    database.execute("ANALYZE")
    database.close()
    subprocess.run(
        [str(BIN / "bastion"), "downloads", "import-rollup", str(rollup_csv)],
        env=_env(data_dir),
        check=True,
    )
    rollup_csv.unlink()
    return {
        "projects": projects,
        "releases": len(releases),
        "dependency_edges": edges,
        "rollup_rows": rollup_rows,
        "users": users,
        "roles": len(roles),
    }


def compile_bytecode() -> None:
    """Write the bytecode that a ``pip install`` writes (the Dockerfile's), so that each run
    starts as an installed Bastion does. This machine sets ``PYTHONDONTWRITEBYTECODE`` and uv
    writes none, so without this every run compiled Django and Bastion from source first (about
    1.5 s of CPU on a quiet machine, counted in the figures recorded before issue 18's mail work).
    """
    for path in (sysconfig.get_paths()["purelib"], str(ROOT / "src")):
        compileall.compile_dir(path, quiet=1)


def timed_designate(data_dir: Path) -> dict:
    """Run the job as an operator would, in its own process; its wall time, CPU time and peak
    RSS, and the CPU other processes on the machine used meanwhile (in cores)."""
    output = data_dir / "designate.json"
    start = time.perf_counter()
    with open(output, "w") as stdout, ForeignCpu(None) as others:
        child = subprocess.Popen(
            [str(BIN / "bastion"), "critical", "designate", "--json"],
            env=_env(data_dir),
            stdout=stdout,
        )
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"bastion critical designate failed with status {status}")
    result = json.loads(output.read_text())
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "foreign_cores": round(others.cores, 2),
        "load_average_1min": os.getloadavg()[0],
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "critical": result["critical"],
        "added": len(result["added"]),
        "ranked_names": result["ranked_names"],
        "cutoff_rank": result["cutoff_rank"],
        "notified": result["notified"],
        "reminded": result["reminded"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500_000)
    parser.add_argument("--edges", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()
    pristine = WORK / f"inputs-{args.projects}-{args.edges}-{args.seed}-{TODAY}"
    if not (pristine / "inputs.json").exists():
        shutil.rmtree(pristine, ignore_errors=True)
        pristine.mkdir(parents=True)
        start = time.perf_counter()
        sizes = generate(pristine, args.projects, args.edges, args.seed)
        sizes["generation_seconds"] = round(time.perf_counter() - start, 1)
        (pristine / "inputs.json").write_text(json.dumps(sizes))
    sizes = json.loads((pristine / "inputs.json").read_text())
    run_dir = WORK / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(pristine, run_dir)
    # Inputs are cached across code changes; bring the copy to the current schema first.
    subprocess.run(
        [str(BIN / "bastion"), "migrate"], env=_env(run_dir), check=True, capture_output=True
    )
    compile_bytecode()
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "critical.jsonl", "a") as out:
        for label in ("first run", "rerun"):
            record = {
                "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "run": label,
                "inputs": sizes,
                **timed_designate(run_dir),
            }
            print(json.dumps(record))
            out.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
