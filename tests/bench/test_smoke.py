"""Every benchmark under bench/ runs, at a tiny size, so one that no longer runs fails CI.

Nothing here times anything (performance is measured by the benchmarks themselves, at full
size). Each script runs as an operator runs it, in its own process, from a copy of bench/ in a
temporary directory, so its work files and results never touch the checkout's bench/work/.
Parts that need a peer (wrk, nginx, devpi-server, pypiserver) run when the peer is there and are
reported missing otherwise (see tests/tools.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import missing, require_executable

# Each starts its own processes on SQLite, whatever the database of the run: once, on the first leg.
pytestmark = pytest.mark.e2e


REPO = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.executable)
SMOKE_TIMEOUT_SECONDS = 300


@pytest.fixture
def bench(tmp_path) -> Path:
    """A copy of bench/ (without its work and results) beside links to the rest of the checkout."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(
        REPO / "bench", root / "bench", ignore=shutil.ignore_patterns("work", "results")
    )
    for shared in ("src", "tests", ".git"):
        (root / shared).symlink_to(REPO / shared)
    return root / "bench"


def run(script: Path, *args: str) -> str:
    """Run one benchmark script with this interpreter; fail with its output if it fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "DJANGO_"))}
    result = subprocess.run(
        [str(PYTHON), str(script), *args],
        cwd=next(parent for parent in script.parents if parent.name == "repo"),
        env=env,
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def last_json(output: str) -> dict:
    """The JSON document a benchmark prints last (after any progress lines)."""
    return json.loads(output[output.rindex("\n{") + 1 :] if "\n{" in output else output)


def peer_venv(bench: Path, name: str) -> None:
    """Link bench/run.py's virtualenv of a competitor into the copy, or report it missing."""
    venv = REPO / "bench" / "work" / f"venv-{name}"
    if not (venv / "bin" / "python").exists():
        missing(f"{name} (bench/work/venv-{name}, installed by a full bench/run.py)")
    (bench / "work").mkdir(exist_ok=True)
    (bench / "work" / f"venv-{name}").symlink_to(venv)


def clients_venv(bench: Path) -> None:
    """pip and twine for bench/run.py: this virtualenv's own, not a fresh install from PyPI."""
    clients = bench / "work" / "venv-clients" / "bin"
    clients.mkdir(parents=True)
    for tool in ("pip", "twine"):
        (clients / tool).symlink_to(PYTHON.parent / tool)


def test_wheel_check(bench):
    assert "read_wheel" in run(bench / "wheel_check.py", "--megabytes", "1", "--repeat", "1")


def test_critical_designation(bench):
    output = run(bench / "critical" / "designation.py", "--projects", "300", "--edges", "900")
    first, rerun = (json.loads(line) for line in output.splitlines()[-2:])
    assert first["critical"] == rerun["critical"] > 0
    assert first["added"] == first["critical"] and rerun["added"] == 0


def test_critical_upload_methods(bench):
    output = run(
        bench / "critical" / "upload_methods.py",
        "--files",
        "200",
        "--projects",
        "20",
        "--repeat",
        "1",
    )
    result = last_json(output)
    assert result["files"] == 200
    assert result["with_index"]["median_ms"] >= 0 and result["without_index"]["median_ms"] >= 0


def test_upload_server_time(bench):
    output = run(bench / "upload" / "run.py", "--projects", "50", "--uploads", "2")
    rows = [json.loads(line) for line in output.splitlines() if '"kind"' in line]
    assert {row["kind"].split(" ")[0] for row in rows} == {"new", "second"}
    assert all(row["uploads"] == 2 and row["queries"] > 0 for row in rows)
    assert all(row["cpu_probe_ms"] > 0 for row in rows)  # the CPU's speed beside each figure


def test_upload_through_a_live_server(bench):
    require_executable("wrk")
    arguments = ("--projects", "2", "--uploads", "2", "--read-seconds", "1")
    output = run(bench / "upload" / "live.py", *arguments)
    result = last_json(output)
    assert result["uploads"] == 2 and result["median_ms"] > 0
    assert len(result["worker_rss_mib"]) >= 2  # every web worker, after the uploads and reads


def test_bulk_load_alone(bench):
    output = run(bench / "upload" / "bulk.py", "--projects", "3", "--servers", "bastion")
    result = last_json(output)["bastion"]
    assert result["files"] == 15 and result["server_cpu_ms_per_file"] > 0


def test_downloads_import(bench):
    output = run(bench / "downloads" / "run_import.py", "--events", "20000", "--projects", "300")
    results = last_json(output)
    assert results["rows_imported"] == 20_000
    assert results["ranked_names"] > 0


def test_downloads_recorder(bench):
    assert last_json(run(bench / "downloads" / "run_recorder.py", "2000"))["calls"] == 2000


def test_downloads_serving(bench):
    require_executable("wrk")
    output = run(
        bench / "downloads" / "run_serving.py", "--rounds", "1", "--seconds", "1",
        "--connections", "2", "--workers", "1",
    )  # fmt: skip
    assert last_json(output)["downloads_recorded"] > 0


def test_search(bench):
    output = run(bench / "search" / "run.py", "--projects", "300", "--repeat", "1")
    assert "home list" in output


def test_upstream(bench):
    output = run(
        bench / "upstream" / "run.py", "--rounds", "1", "--burst", "0.05", "--files", "2",
        "--size", "1000",
    )  # fmt: skip
    assert last_json(output)["file_bytes"] == 1000


def test_private_reads(bench):
    require_executable("wrk")
    output = run(bench / "private_reads.py", "--projects", "2", "--duration", "1")
    assert "private, no cache" in output


def test_storage(bench):
    require_executable("wrk")
    output = run(
        bench / "storage.py", "--projects", "2", "--upload-files", "2", "--duration", "1",
        "--quiet-cores", "64", "--quiet-wait", "0",
    )  # fmt: skip
    assert "twine upload" in output


SMALL_INDEX = [
    "--projects", "3", "--duration", "1", "--warmup", "1", "--read-rounds", "2",
    "--pip-projects", "2", "--upload-files", "2", "--load-threads", "2", "--quiet-cores", "64",
    "--quiet-wait", "0", "--skip-install",
]  # fmt: skip


def test_index_bastion_and_nginx(bench, tmp_path):
    require_executable("wrk")
    require_executable("nginx")
    clients_venv(bench)
    run(bench / "run.py", *SMALL_INDEX, "--servers", "bastion,nginx", "--out", str(tmp_path))
    (result,) = tmp_path.glob("*.json")
    servers = json.loads(result.read_text())["servers"]
    assert servers["bastion"]["reads"]["project_html"]["requests_per_s"] > 0
    assert len(servers["bastion"]["reads"]["project_html"]["rounds"]) == 2
    assert servers["nginx"]["reads"]["project_html"]["requests_per_s"] > 0
    assert servers["bastion"]["load"]["foreign_cores"] >= 0  # every figure has its load beside it
    assert servers["bastion"]["reads"]["project_html"]["cpu_probe_ms_before"] > 0


@pytest.mark.parametrize("peer", ["devpi", "pypiserver"])
def test_index_peer(bench, tmp_path, peer):
    require_executable("wrk")
    require_executable("nginx")  # bench/run.py asks for both whichever servers it measures
    peer_venv(bench, peer)
    clients_venv(bench)
    run(bench / "run.py", *SMALL_INDEX, "--servers", peer, "--out", str(tmp_path))
    (result,) = tmp_path.glob("*.json")
    assert json.loads(result.read_text())["servers"][peer]["reads"]
