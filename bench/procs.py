"""Starting and stopping the servers under test, and sampling the memory of their process trees."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import requests

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A server in its own process group, so stopping it stops every worker it forked.

    Its own group, not its own session: with the kernel's scheduler autogroups
    (``/proc/sys/kernel/sched_autogroup_enabled``), every session is scheduled as one group
    that gets an equal share of the CPU. A server in a session of its own then had half of the
    two cores while wrk ran, whatever it needed: Bastion served a project page at about 25,000
    requests/s started that way and 62,000 to 73,000 started in the benchmark's session, the
    same data, binary and wrk (bench/README.md, "The scheduler's autogroups").
    """

    def __init__(self, argv: list[str], *, log: Path, env: dict[str, str], cwd: Path | None = None):
        self.argv = argv
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_until_up(self, url: str, timeout: float = 90) -> None:
        """Poll ``url`` until it answers at all; fail early with the log if the server died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited:\n{self.log_path.read_text()[-4000:]}")
            try:
                requests.get(url, timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"{self.argv[0]} did not answer {url} within {timeout:.0f} s")

    def stop(self) -> None:
        """SIGTERM to the server's own process group, then SIGKILL if it lingers."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:  # the process ended while we looked
            continue
        # The command name may contain spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(b")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def tree_pids(root: int) -> list[int]:
    parents = _parents()
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid in parents or pid == root:
            found.append(pid)
            stack.extend(children.get(pid, []))
    return found


def tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, in KiB (shared pages count twice)."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE_KB
        except (OSError, IndexError):
            continue
    return total


class RssSampler(threading.Thread):
    """Samples a process tree's RSS every ``interval`` seconds and keeps the peak of each phase."""

    def __init__(self, root: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.phase = "start"
        self.peaks: dict[str, int] = {}
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss = tree_rss_kb(self.root)
            self.samples += 1
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)
            self._stop_event.wait(self.interval)

    def stop(self) -> dict:
        self._stop_event.set()
        self.join()
        return {
            "peak_kib": max(self.peaks.values(), default=0),
            "peak_kib_by_phase": dict(self.peaks),
            "samples": self.samples,
            "interval_s": self.interval,
        }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SERVER_IDLE_CORES = 0.1


def _busy_ticks() -> int:
    """CPU time spent by the whole machine, all cores, in clock ticks (idle and iowait excluded)."""
    with open("/proc/stat", "rb") as handle:
        fields = [int(value) for value in handle.readline().split()[1:9]]
    return sum(fields) - fields[3] - fields[4]


def _tree_ticks(root: int) -> int:
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def _own_ticks() -> float:
    """This process and its finished children (wrk, pip, twine): ours, not someone else's."""
    times = os.times()
    return (times.user + times.system + times.children_user + times.children_system) * CLOCK_TICKS


def cpu_probe_ms(rounds: int = 3) -> float:
    """The median time of a fixed pure-Python loop, in ms: how fast this machine's CPU runs now.

    A shared virtual machine's CPU can run much slower for a while with no other process here
    using it (measured: the same loop 0.28 to 0.44 s one second apart on an idle machine), and
    neither ``foreign_cores`` nor steal time shows that; this figure beside a measurement does.
    """
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        sum(i * i for i in range(300_000))
        times.append(time.perf_counter() - started)
    return round(sorted(times)[len(times) // 2] * 1000, 1)


class ForeignCpu:
    """CPU used on this machine by processes that are neither the server under test nor ours.

    The benchmark shares two cores with whatever else runs here; this says how much it had to
    share during a measurement, so a disturbed number can be recognized as such.
    """

    def __init__(self, server_pid: int | None):
        self.server_pid = server_pid

    def _snapshot(self) -> tuple[float, float, float, float]:
        server = _tree_ticks(self.server_pid) if self.server_pid else 0
        return time.monotonic(), _busy_ticks(), server, _own_ticks()

    def __enter__(self) -> ForeignCpu:
        self._start = self._snapshot()
        return self

    def __exit__(self, *exc) -> None:
        end = self._snapshot()
        seconds, busy, server, own = (
            after - before for after, before in zip(end, self._start, strict=True)
        )
        ticks = CLOCK_TICKS * seconds if seconds else 1
        self.cores = max(0.0, (busy - server - own) / ticks)
        self.server_cores = server / ticks

    def wait_for_quiet(self, limit_cores: float, max_wait: float) -> dict:
        """Wait (one-second windows) until others use under ``limit_cores`` and the server is idle.

        The server must be idle too: a slow server may still be working through requests that
        the previous measurement queued and then abandoned.
        """
        started = time.monotonic()
        while True:
            with self as window:
                time.sleep(1)
            waited = time.monotonic() - started
            settled = window.cores < limit_cores and window.server_cores < SERVER_IDLE_CORES
            if settled or waited >= max_wait:
                return {
                    "waited_s": round(waited, 1),
                    "foreign_cores_before": round(window.cores, 2),
                    "server_cores_before": round(window.server_cores, 2),
                    "cpu_probe_ms_before": cpu_probe_ms(),
                }
