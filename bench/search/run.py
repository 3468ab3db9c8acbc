"""Search and project lists at PyPI's scale: 500,000 projects in a scratch SQLite data dir.

    .venv/bin/python bench/search/run.py [--projects 500000] [--repeat 20]

1. Builds (once, cached under bench/work/search/) a migrated SQLite data directory with
   ``--projects`` projects named from a word list (``fast-json-7``, ``py-http-client``…), each
   with two releases (1.9 and 1.10, so PEP 440 ordering matters) and a summary built from the
   same words.
2. Times, in this process, what the home page does for each kind of search and for the list
   without a query: the ranked search's count and first page (``Paginator``), the listing rows
   (latest version, summary, date), and the whole page through Django's test client.
3. Prints one JSON line per measurement (median and worst wall time of ``--repeat`` runs, and
   the median CPU time of this process, in ms) and appends them to bench/results/search.jsonl.
   The first request of all pays for loading templates; its worst time says nothing about search.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "bench" / "work" / "search"
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
WORDS = [
    "py",
    "http",
    "json",
    "fast",
    "async",
    "django",
    "flask",
    "api",
    "client",
    "server",
    "data",
    "tools",
    "test",
    "yaml",
    "toml",
    "sql",
    "orm",
    "cli",
    "web",
    "auth",
    "crypto",
    "image",
    "audio",
    "ml",
    "numpy",
    "pandas",
    "plot",
    "log",
    "cache",
    "queue",
    "task",
    "mail",
    "xml",
    "csv",
    "parser",
    "lint",
    "format",
    "build",
    "cloud",
    "aws",
    "azure",
    "gcp",
    "grpc",
    "redis",
    "kafka",
    "vector",
    "graph",
    "geo",
    "time",
]
SEARCHES = {
    "exact name": "py-http-client",
    "prefix, many matches (py)": "py",
    "prefix, few matches": "fast-json",
    "summary words": "asynchronous toolkit",
    "no match": "zzqqxx",
}


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(BASTION_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="bastion.settings")
    return env


def _names(count: int, rng: random.Random) -> list[str]:
    names, seen = ["py-http-client"], {"py-http-client"}
    while len(names) < count:
        name = "-".join(rng.sample(WORDS, rng.choice((2, 2, 3))))
        if name in seen:
            name = f"{name}-{len(names)}"
        seen.add(name)
        names.append(name)
    return names


def generate(data_dir: Path, projects: int, seed: int = 7) -> None:
    """Write projects and releases straight into the migrated SQLite database of ``data_dir``."""
    subprocess.run([str(BIN / "bastion"), "migrate"], env=_env(data_dir), check=True)
    rng = random.Random(seed)
    database = sqlite3.connect(data_dir / "bastion.sqlite3")
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=OFF")
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    columns = {
        table: [row[1] for row in database.execute(f"PRAGMA table_info({table})")]
        for table in ("packaging_project", "packaging_release")
    }
    json_fields = {
        "license_files", "classifiers", "platform", "supported_platform", "requires_dist",
        "provides_dist", "obsoletes_dist", "requires_external", "provides_extra", "dynamic",
        "import_names", "import_namespaces",
    }  # fmt: skip

    def insert(table: str, rows) -> None:
        cols = columns[table]
        neutral = {"id": None, "created": now, **{field: "[]" for field in json_fields}}
        neutral["project_urls"] = "{}"
        database.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",  # noqa: S608
            (tuple({**neutral, **row}.get(c, "") for c in cols) for row in rows),
        )

    names = _names(projects, rng)
    insert(
        "packaging_project",
        (
            {"id": i + 1, "name": n, "normalized_name": n, "status": "active",
             "requires_two_factor": 0, "last_serial": i + 1}
            for i, n in enumerate(names)
        ),
    )  # fmt: skip
    adjectives = ["A small", "A fast", "An asynchronous", "A friendly", "A typed", "A tiny"]
    kinds = ["toolkit", "library", "client", "framework", "helper", "wrapper"]

    def releases():
        for pid in range(1, projects + 1):
            summary = (
                f"{rng.choice(adjectives)} {rng.choice(kinds)} for {' '.join(rng.sample(WORDS, 2))}"
            )
            for version in ("1.9", "1.10"):
                yield {
                    "project_id": pid, "version": version, "canonical_version": version,
                    "yanked": 0, "is_prerelease": 0, "metadata_version": "2.4",
                    "summary": summary, "uploader_id": None,
                }  # fmt: skip

    insert("packaging_release", releases())
    database.commit()
    database.execute("ANALYZE")
    database.close()


def _time(function, repeat: int) -> dict:
    """Wall time, and this process's CPU time (what the work costs on a machine others share)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return {
        "median_ms": round(statistics.median(wall), 2),
        "max_ms": round(max(wall), 2),
        "median_cpu_ms": round(statistics.median(cpu), 2),
    }


def measure(data_dir: Path, repeat: int) -> list[dict]:
    os.environ.update(_env(data_dir))
    import django

    django.setup()
    from django.core.paginator import Paginator
    from django.test import Client

    from bastion.packaging import selectors
    from bastion.packaging.models import Project

    client = Client(HTTP_HOST="localhost")
    rows = []

    def record(what: str, function) -> None:
        result = {"what": what, **_time(function, repeat)}
        rows.append(result)
        print(json.dumps(result), flush=True)

    for label, query in SEARCHES.items():
        search = selectors.search_projects(query)
        total = search.count()

        def first_page(query=query):
            page = Paginator(selectors.search_projects(query), selectors.PAGE_SIZE).get_page(1)
            selectors.listings(page)

        record(f"search {label} '{query}' ({total} results): count + page 1 + rows", first_page)
        record(
            f"search {label}: whole page GET /?q=",
            lambda query=query: client.get("/", {"q": query}),
        )
    record("home list: whole page GET /", lambda: client.get("/"))
    record("home list: whole page GET /?page=1000", lambda: client.get("/", {"page": 1000}))
    rows.insert(0, {"projects": Project.objects.count()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    data_dir = WORK / f"data-{args.projects}"
    if not (data_dir / "bastion.sqlite3").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        generate(data_dir, args.projects)
        print(json.dumps({"generated_s": round(time.perf_counter() - start, 1)}), flush=True)
    rows = measure(data_dir, args.repeat)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "search.jsonl").open("a") as out:
        out.write(
            json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows})
            + "\n"
        )


if __name__ == "__main__":
    main()
