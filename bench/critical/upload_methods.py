"""How long /stats/ spends counting files by upload method, with the index on
``File.uploaded_via`` and, as the peer in the same run, without it.

    .venv/bin/python bench/critical/upload_methods.py [--files 200000] [--projects 2000]

Builds a fresh, migrated SQLite data directory under bench/work/critical/ holding ``--files``
files spread over ``--projects`` projects (one in a hundred critical; the upload methods in
turn), then times ``bastion.critical.selectors.upload_methods`` (what /stats/ and
``bastion stats`` run) ``--repeat`` times with the index, drops the index and times it again.
Prints one JSON line, with the CPU other processes used during each measurement, and appends it
to bench/results/upload_methods.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "bench" / "work" / "critical" / "upload-methods"
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "bench"))

from procs import ForeignCpu  # noqa: E402 - bench/ is not a package


def _setup(data_dir: Path) -> None:
    os.environ.update(
        BASTION_DATA_DIR=str(data_dir),
        BASTION_DATABASE_URL="",
        DJANGO_SETTINGS_MODULE="bastion.settings",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _fill(files: int, projects: int) -> None:
    from django.utils import timezone

    from bastion.critical.models import Designation
    from bastion.packaging.models import File, Project, Release, UploadMethod

    now = timezone.now()
    made = Project.objects.bulk_create(
        Project(name=f"p{n}", normalized_name=f"p{n}") for n in range(projects)
    )
    releases = Release.objects.bulk_create(
        Release(project=p, version="1", canonical_version="1", is_prerelease=False) for p in made
    )
    methods = list(UploadMethod)
    File.objects.bulk_create(
        (
            File(
                release=releases[n % projects],
                filename=f"f{n}.tar.gz",
                packagetype="sdist",
                python_version="source",
                size=1,
                sha256_digest=f"{n:064x}",
                blake2_256_digest=f"{n:064d}",
                md5_digest="",
                path="k",
                upload_time=now,
                uploaded_via=methods[n % len(methods)],
            )
            for n in range(files)
        ),
        batch_size=5000,
    )
    Designation.objects.bulk_create(
        Designation(
            normalized_name=f"p{n}",
            kind="admin",
            reason={"kind": "admin", "admin": "root", "note": "bench"},
            enforcement_date=now.date(),
        )
        for n in range(0, projects, 100)
    )


def _time(repeat: int) -> dict:
    from bastion.critical.models import Designation
    from bastion.critical.selectors import upload_methods

    upload_methods(Designation.objects.active())  # warm the page cache
    runs = []
    with ForeignCpu(None) as others:
        for _ in range(repeat):
            start = time.perf_counter()
            upload_methods(Designation.objects.active())
            runs.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(runs), 1), "foreign_cores": round(others.cores, 2)}


def _drop_index() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'packaging_file'"
            " AND sql LIKE '%uploaded_via%'"
        )
        (name,) = cursor.fetchone()
        cursor.execute(f'DROP INDEX "{name}"')
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--projects", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    data_dir = WORK / f"{args.files}-{args.projects}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    _setup(data_dir)
    _fill(args.files, args.projects)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": args.files,
        "projects": args.projects,
        "with_index": _time(args.repeat),
    }
    result["dropped"] = _drop_index()
    result["without_index"] = _time(args.repeat)
    line = json.dumps(result)
    print(line)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "upload_methods.jsonl", "a") as out:
        out.write(line + "\n")
    shutil.rmtree(data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
