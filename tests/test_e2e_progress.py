"""The test run names each end-to-end test as it starts and ends, also under pytest-xdist."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CONFTEST = f"""
import sys

import pytest

sys.path.insert(0, {str(REPO)!r})
from tests import e2e_progress


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    e2e_progress.register(config)
"""

SLOW_TESTS = """
import pytest

def test_passes():
    pass

def test_fails():
    assert False

def test_skipped():
    pytest.skip("no tool here")
"""

PYTEST = [sys.executable, "-m", "pytest", "-p", "no:django", "-p", "no:cacheprovider"]


def test_end_to_end_tests_are_named_with_their_outcome_and_time_under_xdist(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "tests" / "e2e").mkdir(parents=True)
    (tmp_path / "tests" / "e2e" / "test_slow.py").write_text(SLOW_TESTS)
    (tmp_path / "tests" / "test_fast.py").write_text("def test_fast():\n    pass\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    result = subprocess.run(
        [*PYTEST, "-n", "1", "-q", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    for name, outcome in [("passes", "passed"), ("fails", "failed"), ("skipped", "skipped")]:
        nodeid = f"tests/e2e/test_slow.py::test_{name}"
        assert f"e2e: {nodeid} …" in lines, result.stdout
        assert any(line.startswith(f"e2e: {nodeid} … {outcome} in ") for line in lines)
    assert not any("test_fast" in line for line in lines if line.startswith("e2e:"))
