"""An upload's own server time at two sizes of index, in-process, without the network.

    .venv/bin/python bench/upload/run.py [--projects 2000 500000] [--uploads 40] [--profile]

1. Builds (once per size, cached under bench/work/upload/) a migrated SQLite data directory of
   ``--projects`` projects, each with one release, one wheel's row and one journal entry, written
   straight into the database with bulk inserts; then a user with a verified address and a token.
2. In this process, with the server's settings (SQLite, the ``immediate`` task backend, rate
   limits as in ``bench/run.py``), it posts the legacy upload form twine sends to Django's WSGI
   handler and times that call alone: the upload's server time, from the request's arrival to
   its response, including what runs after the commit (the project page, the project list).
   Three kinds, ``--uploads`` of each, after a few unmeasured warm-up uploads:
   the first upload of a new project, a new release of an existing project (what ``twine upload``
   does in ``bench/run.py``), and a second file (the sdist) of that release.
3. Prints one JSON line per kind and size (median and 90th percentile wall ms, median CPU ms of
   this process, queries per upload, and the CPU that other processes used meanwhile) and
   appends them to bench/results/upload.jsonl. ``--profile`` writes a cProfile of the measured
   uploads of each size to bench/results/upload-<projects>.prof.

Each size runs in its own process, so Django's settings point at that size's data directory.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import dists  # noqa: E402 - bench/ is not a package
import procs  # noqa: E402

WORK = ROOT / "bench" / "work" / "upload"
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
WARM_UP = 5
SERVER_ENV = {
    "BASTION_ACCESS_LOG": "0",
    "BASTION_WORKER": "external",
    "BASTION_BASE_URL": "http://localhost:8000",
    "BASTION_RATELIMIT_PROJECTS_PER_USER": "1000000/hour",
    "BASTION_RATELIMIT_PROJECTS_PER_IP": "1000000/hour",
    "BASTION_RATELIMIT_UPLOADS_PER_USER": "1000000/minute",
}


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(
        SERVER_ENV, BASTION_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="bastion.settings"
    )
    return env


def _seed_name(number: int) -> str:
    return f"seed-pkg-{number:06d}"


def generate(data_dir: Path, projects: int) -> None:
    """Projects, releases, file rows and journal entries, inserted straight into SQLite."""
    env = _env(data_dir)
    subprocess.run([str(BIN / "bastion"), "migrate"], env=env, check=True, capture_output=True)
    database = sqlite3.connect(data_dir / "bastion.sqlite3")
    database.execute("PRAGMA synchronous=OFF")
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    columns = {
        table: [row[1] for row in database.execute(f"PRAGMA table_info({table})")]
        for table in (
            "packaging_project",
            "packaging_release",
            "packaging_file",
            "packaging_journalentry",
        )
    }
    lists = {
        "license_files", "classifiers", "platform", "supported_platform", "requires_dist",
        "provides_dist", "obsoletes_dist", "requires_external", "provides_extra", "dynamic",
        "import_names", "import_namespaces",
    }  # fmt: skip
    neutral = {"id": None, "created": now, "project_urls": "{}", **{name: "[]" for name in lists}}

    def insert(table: str, rows) -> None:
        cols = columns[table]
        database.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",  # noqa: S608
            (tuple({**neutral, **row}.get(column, "") for column in cols) for row in rows),
        )

    numbers = range(1, projects + 1)
    insert(
        "packaging_journalentry",
        ({"id": n, "project_name": _seed_name(n), "action": "create", "submitted_by_id": None,
          "time": now} for n in numbers),
    )  # fmt: skip
    insert(
        "packaging_project",
        ({"id": n, "name": _seed_name(n), "normalized_name": _seed_name(n), "status": "active",
          "requires_two_factor": 0, "last_serial": n} for n in numbers),
    )  # fmt: skip
    insert(
        "packaging_release",
        ({"id": n, "project_id": n, "version": "1.0", "canonical_version": "1",
          "yanked": 0, "is_prerelease": 0, "metadata_version": "2.1", "uploader_id": None,
          "summary": "A seeded project"} for n in numbers),
    )  # fmt: skip
    insert(
        "packaging_file",
        ({"id": n, "release_id": n, "filename": f"seed_pkg_{n:06d}-1.0-py3-none-any.whl",
          "packagetype": "bdist_wheel", "python_version": "py3", "size": 1000,
          "sha256_digest": f"{n:064x}", "blake2_256_digest": f"{n:064x}",
          "md5_digest": f"{n:032x}", "path": f"seed/{n}", "upload_time": now} for n in numbers),
    )  # fmt: skip
    database.commit()
    database.execute("ANALYZE")
    database.close()
    cli = [str(BIN / "bastion")]
    subprocess.run(
        [*cli, "users", "create", "bench", "--email", "bench@example.com", "--verified"],
        env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    token = subprocess.run(
        [*cli, "tokens", "create", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    (data_dir / "bench-token").write_text(token)


def _stats(wall: list[float], cpu: list[float]) -> dict:
    wall = sorted(wall)
    return {
        "uploads": len(wall),
        "median_ms": round(statistics.median(wall), 2),
        "p90_ms": round(wall[int(len(wall) * 0.9) - 1], 2),
        "median_cpu_ms": round(statistics.median(cpu), 2),
    }


def measure(
    data_dir: Path, projects: int, uploads: int, profile: bool, show_queries: bool
) -> list[dict]:
    """Time the WSGI handler on each upload form; the run's first free names and versions."""
    os.environ.update(_env(data_dir))
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    handler, factory = WSGIHandler(), RequestFactory()
    auth = (
        "Basic "
        + base64.b64encode(f"__token__:{(data_dir / 'bench-token').read_text()}".encode()).decode()
    )
    run = time.strftime("%Y%m%d%H%M%S")  # fresh names on every run over the cached directory
    files = WORK / "dists" / run
    profiler = cProfile.Profile() if profile else None

    def post(dist: dists.Dist, profiled: bool = False) -> tuple[float, float, int]:
        data, parts = dists.upload_form(dist)
        filename, content, _ = parts["content"]
        data["content"] = SimpleUploadedFile(filename, content)
        environ = factory.post(
            "/legacy/", data, HTTP_AUTHORIZATION=auth, REMOTE_ADDR="127.0.0.1"
        ).environ
        statuses = []
        with CaptureQueriesContext(connection) as queries:
            start, start_cpu = time.perf_counter(), time.process_time()
            if profiled:
                profiler.enable()
            response = handler(environ, lambda status, headers: statuses.append(status))
            if profiled:
                profiler.disable()
            wall = (time.perf_counter() - start) * 1000
            cpu = (time.process_time() - start_cpu) * 1000
        response.close()
        if not statuses[0].startswith("200"):
            raise RuntimeError(f"{dist.path.name}: {statuses[0]}")
        if show_queries:
            print(f"-- {dist.path.name}: {len(queries)} queries", file=sys.stderr)
            for query in queries:
                print(query["sql"][:300], file=sys.stderr)
        return wall, cpu, len(queries)

    def build(number: int, version: str, kind: str) -> dists.Dist:
        name = f"up_{run}_{number:04d}"
        files.mkdir(parents=True, exist_ok=True)
        if kind == "sdist":
            path = files / f"{name}-{version}.tar.gz"
            path.write_bytes(dists.sdist_bytes(name, version))
        else:
            path = files / f"{name}-{version}-py3-none-any.whl"
            path.write_bytes(dists.wheel_bytes(name, version))
        return dists.Dist(path, name, version, kind)

    kinds = {
        "new project (first wheel)": ("1.0.0", "bdist_wheel"),
        "new release of an existing project (wheel)": ("2.0.0", "bdist_wheel"),
        "second file of that release (sdist)": ("2.0.0", "sdist"),
    }
    total = WARM_UP + uploads
    built = {kind: [build(n, *spec) for n in range(total)] for kind, spec in kinds.items()}
    rows = []
    for kind, batch in built.items():
        for dist in batch[:WARM_UP]:
            post(dist)
        wall, cpu, queries = [], [], []
        probe = procs.cpu_probe_ms()  # how fast the CPU runs right now, beside the figure
        with procs.ForeignCpu(None) as others:
            for dist in batch[WARM_UP:]:
                one_wall, one_cpu, one_queries = post(dist, profiled=profiler is not None)
                wall.append(one_wall)
                cpu.append(one_cpu)
                queries.append(one_queries)
        row = {"projects": projects, "kind": kind, **_stats(wall, cpu)}
        row |= {
            "queries": max(queries),
            "foreign_cores": round(others.cores, 2),
            "cpu_probe_ms": probe,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if profiler:
        profiler.dump_stats(RESULTS / f"upload-{projects}.prof")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, nargs="+", default=[2_000, 500_000])
    parser.add_argument("--uploads", type=int, default=40)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--queries", action="store_true", help="print each upload's SQL")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a size's process
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.one:
        for projects in args.projects:
            extra = [f"--{flag}" for flag in ("profile", "queries") if getattr(args, flag)]
            subprocess.run(
                [sys.executable, __file__, "--one", "--projects", str(projects),
                 "--uploads", str(args.uploads), *extra],
                check=True,
            )  # fmt: skip
        return
    projects = args.projects[0]
    data_dir = WORK / f"data-{projects}"
    if not (data_dir / "bench-token").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        generate(data_dir, projects)
        print(
            json.dumps({"projects": projects, "generated_s": round(time.perf_counter() - start, 1)})
        )
    # A cached directory gets the migrations of the code under test (an index, say).
    subprocess.run(
        [str(BIN / "bastion"), "migrate"], env=_env(data_dir), check=True, capture_output=True
    )
    rows = measure(data_dir, projects, args.uploads, args.profile, args.queries)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with (RESULTS / "upload.jsonl").open("a") as out:
        out.write(json.dumps({"at": stamp, "commit": commit, "rows": rows}) + "\n")


if __name__ == "__main__":
    main()
