"""bench/simple/root_page.py still runs, at a tiny size (its numbers are for bench/README.md)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "simple" / "root_page.py"


def test_the_project_list_benchmark_runs_at_a_tiny_size(tmp_path):
    command = [sys.executable, str(SCRIPT), "--projects", "30", "--repeat", "2"]
    command += ["--work", str(tmp_path / "work"), "--results", str(tmp_path / "results")]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    [run] = [json.loads(line) for line in (tmp_path / "results" / "root_page.jsonl").open()]
    assert [(row["projects"], row["what"]) for row in run["rows"]] == [
        (30, "whole page (before)"),
        (30, "add a project (after)"),
        (30, "first read after a change"),
    ]
    assert all(row["median_cpu_ms"] > 0 for row in run["rows"])
