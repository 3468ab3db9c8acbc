"""Benchmark: import a generated BigQuery export and roll it up, as an operator would.

Each step runs as its own ``bastion`` process, so wall time, CPU time and peak RSS (from
wait4's rusage) are exactly those of that command. Results go to stdout as a Markdown table and
to ``bench/work/downloads/import-results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from generate import connect, generate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from procs import ForeignCpu  # bench/procs.py, beside this script's directory

from bastion.downloads import queries

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "bench" / "work" / "downloads"
BASTION = Path(sys.executable).parent / "bastion"
RANKING = """
import json, time, datetime, django
django.setup()
from bastion.downloads.services import daily_series, installer_downloads
def timed(call):
    started = time.perf_counter()
    result = call()
    return result, round(time.perf_counter() - started, 4)
ranking, seconds = timed(lambda: installer_downloads(datetime.date(2026, 5, 29), LAST_DAY))
series = {}
for name in ("project-1", "project-250000"):  # the head and the tail of the Zipf draw
    _, first = timed(lambda: daily_series(name, today=LAST_DAY))
    _, again = timed(lambda: daily_series(name, today=LAST_DAY))
    series[name] = {"first_s": first, "cached_s": again}
print(json.dumps({"names": len(ranking), "installs": sum(ranking.values()),
                  "seconds": seconds, "project_series": series}))
""".replace("LAST_DAY", "datetime.date(2026, 11, 24)")


# The peer: what import + rollup is measured against in the same run. One plain DuckDB GROUP BY
# of the export by normalized name, UTC day and installer class (the rollup query's DuckDB twin),
# written as Parquet, under the memory cap the import has.
BASELINE = """
import sys, duckdb
from datetime import date
from bastion.downloads import queries
export, target, memory = sys.argv[1:4]
con = duckdb.connect(config={"memory_limit": memory})
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar_print = false")
con.execute(f"CREATE VIEW file_downloads AS SELECT * FROM read_parquet('{export}')")
query = queries.rollup_query(queries.DUCKDB, date(2000, 1, 1))
con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet)")
"""


def measured(command: list[str], env: dict[str, str]) -> dict:
    """Run one command; return its wall and CPU seconds, peak RSS, the CPU other processes on
    the machine used meanwhile (in cores), and its output."""
    started = time.perf_counter()
    with ForeignCpu(None) as others:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{command} failed with {process.returncode}")
    return {
        "wall_s": round(time.perf_counter() - started, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "foreign_cores": round(others.cores, 2),
        "output": output,
    }


def compile_bytecode() -> None:
    """Compile the virtualenv and Bastion's sources once, before anything is timed, as the
    Dockerfile's ``pip install`` does: with ``PYTHONDONTWRITEBYTECODE=1`` set (as on this
    machine) and no ``.pyc`` files, every ``bastion`` process compiled Django and Bastion again
    on start, about 1.5 s of CPU each. A few third-party files do not compile (tests written
    for other Python versions), so compileall's exit status is not asked."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", sys.prefix, str(ROOT / "src")],
        stdout=subprocess.DEVNULL,
        check=False,
    )


def bigquery_path(export: Path, args: argparse.Namespace) -> dict:
    """PyPI's scale: the rollup query's result, as BigQuery would return it, imported.

    The result is computed here by the query's DuckDB twin over the same export (what
    ``bastion downloads bigquery-sql`` prints, rendered for DuckDB), written as CSV, then loaded
    with ``import-rollup`` (which also publishes its days) in a fresh data directory.
    """
    result = WORK / f"bigquery-result-{args.events // 1_000_000}M.csv"
    if not result.exists():
        con = connect()
        con.execute(f"CREATE VIEW file_downloads AS SELECT * FROM read_parquet('{export}')")  # noqa: S608
        query = queries.rollup_query(queries.DUCKDB, date(2026, 5, 29))
        con.execute(f"COPY ({query}) TO '{result}' (HEADER, DELIMITER ',')")
    data = WORK / "data-bigquery"
    shutil.rmtree(data, ignore_errors=True)
    env = dict(os.environ, BASTION_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="bastion.settings")
    subprocess.run([str(BASTION), "migrate"], env=env, check=True)
    loaded = measured([str(BASTION), "downloads", "import-rollup", "--json", str(result)], env)
    report = json.loads(loaded["output"])
    return {
        "bigquery_result_rows": report["rows_read"],
        "bigquery_rows_imported": report["rows_imported"],
        **{f"import_rollup_{key}": value for key, value in loaded.items() if key != "output"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--projects", type=int, default=500_000)
    parser.add_argument("--days", type=int, default=180)
    args = parser.parse_args()
    export = WORK / f"events-{args.events // 1_000_000}M-{args.projects}-{args.days}d.parquet"
    if not export.exists():
        started = time.perf_counter()
        generate(export, args.events, args.projects, args.days)
        print(f"generated {export.name} in {time.perf_counter() - started:.0f} s")
    compile_bytecode()
    data = WORK / "data"
    shutil.rmtree(data, ignore_errors=True)
    env = dict(os.environ, BASTION_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="bastion.settings")
    subprocess.run([str(BASTION), "migrate"], env=env, check=True)
    load_before = os.getloadavg()[0]
    baseline_target = WORK / "baseline-group-by.parquet"
    memory = os.environ.get("BASTION_DUCKDB_MEMORY_LIMIT", "2GB")
    steps = {
        "baseline": measured(
            [sys.executable, "-c", BASELINE, str(export), str(baseline_target), memory], env
        ),
        "import": measured([str(BASTION), "downloads", "import", "--json", str(export)], env),
        "rollup": measured([str(BASTION), "downloads", "rollup", "--json"], env),
        "ranking": measured([sys.executable, "-c", RANKING], env),
    }
    imported = json.loads(steps["import"]["output"])["imports"][0]
    rolled = json.loads(steps["rollup"]["output"])
    ranked = json.loads(steps["ranking"]["output"])
    results = {
        "events": args.events,
        "projects": args.projects,
        "days": args.days,
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before, 1),
        "rows_imported": imported["rows_imported"],
        "projects_touched": imported["projects"],
        "rollup_rows": rolled["rollup_rows"],
        "ranked_names": ranked["names"],
        "ranked_installs": ranked["installs"],
        "ranking_query_s": round(ranked["seconds"], 2),
        "project_series_s": ranked["project_series"],
        **{
            f"{step}_{key}": value
            for step, numbers in steps.items()
            for key, value in numbers.items()
            if key != "output"
        },
    }
    results.update(bigquery_path(export, args))
    total = results["import_wall_s"] + results["rollup_wall_s"]
    results["import_and_rollup_wall_s"] = round(total, 2)
    results["import_and_rollup_over_baseline"] = round(total / results["baseline_wall_s"], 2)
    # On a shared machine the wall times carry the other tenants' load; CPU time does not.
    cpu = results["import_cpu_s"] + results["rollup_cpu_s"]
    results["import_and_rollup_cpu_over_baseline"] = round(cpu / results["baseline_cpu_s"], 2)
    results["events_per_s_import"] = round(args.events / results["import_wall_s"])
    results["events_per_s_import_and_rollup"] = round(args.events / total)
    results["peak_rss_mib"] = max(results["import_peak_rss_mib"], results["rollup_peak_rss_mib"])
    (WORK / "import-results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
