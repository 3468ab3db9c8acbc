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
from pathlib import Path

from generate import generate

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "bench" / "work" / "downloads"
BASTION = Path(sys.executable).parent / "bastion"
RANKING = """
import time, datetime, django
django.setup()
from bastion.downloads.services import installer_downloads
started = time.perf_counter()
ranking = installer_downloads(datetime.date(2026, 5, 29), datetime.date(2026, 11, 24))
print(len(ranking), sum(ranking.values()), time.perf_counter() - started)
"""


def measured(command: list[str], env: dict[str, str]) -> dict:
    """Run one command; return its wall and CPU seconds, peak RSS and output."""
    started = time.perf_counter()
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
        "output": output,
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
    data = WORK / "data"
    shutil.rmtree(data, ignore_errors=True)
    env = dict(os.environ, BASTION_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="bastion.settings")
    subprocess.run([str(BASTION), "migrate"], env=env, check=True)
    load_before = os.getloadavg()[0]
    steps = {
        "import": measured([str(BASTION), "downloads", "import", "--json", str(export)], env),
        "rollup": measured([str(BASTION), "downloads", "rollup", "--json"], env),
        "ranking": measured([sys.executable, "-c", RANKING], env),
    }
    imported = json.loads(steps["import"]["output"])["imports"][0]
    rolled = json.loads(steps["rollup"]["output"])
    names, installs, query_s = steps["ranking"]["output"].split()
    results = {
        "events": args.events,
        "projects": args.projects,
        "days": args.days,
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before, 1),
        "rows_imported": imported["rows_imported"],
        "projects_touched": imported["projects"],
        "rollup_rows": rolled["rollup_rows"],
        "ranked_names": int(names),
        "ranked_installs": int(installs),
        "ranking_query_s": round(float(query_s), 2),
        **{
            f"{step}_{key}": value
            for step, numbers in steps.items()
            for key, value in numbers.items()
            if key != "output"
        },
    }
    total = results["import_wall_s"] + results["rollup_wall_s"]
    results["events_per_s_import"] = round(args.events / results["import_wall_s"])
    results["events_per_s_import_and_rollup"] = round(args.events / total)
    results["peak_rss_mib"] = max(results["import_peak_rss_mib"], results["rollup_peak_rss_mib"])
    (WORK / "import-results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
