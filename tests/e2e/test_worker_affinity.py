"""A real ``bastion serve`` keeps each web process's threads on one CPU of its own."""

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import _start_server, _stop

pytestmark = pytest.mark.e2e


def _web_workers(master: int) -> list[int]:
    """The master's children: its web processes (the test servers run no built-in worker)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == master:
            children.append(int(entry.name))
    return sorted(children)


def _cpus_of_threads(pid: int) -> set[str]:
    """Each thread's allowed CPUs, as the kernel lists them (``0-1``, ``1``)."""
    allowed = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        status = (task / "status").read_text()
        allowed.add(status.split("Cpus_allowed_list:")[1].split()[0])
    return allowed


@pytest.fixture
def two_cpus():
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs a machine with two CPUs, where the workers can be told apart")


def test_each_web_process_keeps_its_threads_on_a_cpu_of_its_own(tmp_path, two_cpus):
    index = _start_server(tmp_path)
    try:
        workers = _web_workers(index.process.pid)
        pinned = [_cpus_of_threads(pid) for pid in workers]
    finally:
        _stop(index.process)

    assert len(workers) == 2
    assert all(len(cpus) == 1 and "-" not in next(iter(cpus)) for cpus in pinned), pinned
    assert pinned[0] != pinned[1]


def test_pinning_can_be_turned_off(tmp_path, two_cpus):
    index = _start_server(tmp_path, {"BASTION_PIN_WORKERS": "0"})
    try:
        pinned = [_cpus_of_threads(pid) for pid in _web_workers(index.process.pid)]
    finally:
        _stop(index.process)

    everywhere = _cpus_of_threads(os.getpid())
    assert pinned == [everywhere, everywhere]
