"""Serving with uWSGI (the ``pyuwsgi`` wheel): a real multi-process server, never runserver.

Two things decided the choice. uWSGI writes the status line the application gives it, so the
one-line reason phrase that twine prints for a refused upload reaches the user (servers built on
hyper or on ASGI replace it with the standard phrase). And it is written in C, with HTTP/1.1
keep-alive straight into the workers: on the simple index's hot path it served about six times
what gunicorn's threaded workers did on the same two processes (see bench/README.md).

What an operator sees: one line saying where the index listens, then an access log in the
combined log format, all on standard output. uWSGI's own start-up and shutdown chatter is
dropped unless ``--verbose`` asks for it; anything else a process writes (a traceback, a
warning) is kept.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import pyuwsgi
from django.conf import settings

#: Apache's combined log format, which log tools parse without configuration.
ACCESS_LOG_FORMAT = (
    '%(addr) - - [%(ltime)] "%(method) %(uri) %(proto)" %(status) %(size) "%(referer)" "%(uagent)"'
)

#: uWSGI's informational lines at start-up and shutdown. Anchored, so request lines, Python's
#: warnings and tracebacks never match.
UWSGI_CHATTER = (
    r"^(\*\*\* |compiled with version|os: |nodename: |machine: |clock source|pcre |detected "
    r"|current working directory|uWSGI running as root|your |lock engine|thunder lock"
    r"|uwsgi socket \d+ bound|Python version|--- Python VM|Python main interpreter"
    r"|python threads support|mapped \d+ bytes|spawned uWSGI|WSGI app \d+ |SIGINT/SIGTERM"
    r"|worker \d+ buried|goodbye to uWSGI|[Gg]racefully killing|Respawned uWSGI|\[uwsgi-daemons\]"
    r"|spawned \d+ offload|cache |chdir\(\) to |VACUUM|running \"(?:print|unix_signal):"
    r"|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d [\d:]{8} \d{4} - graceful shutdown triggered)"
)


#: Threads per worker process: each serves one kept-alive connection at a time (see below).
THREADS = 8


def default_workers() -> int:
    return max(2, os.cpu_count() or 1)


@dataclass(frozen=True)
class Options:
    """What ``bastion serve`` was asked for, beyond the address."""

    workers: int | None = None
    verbose: bool = False
    access_log: bool = True
    builtin_worker: bool = True  # run ``bastion worker`` beside the web processes


def cpu_for_worker(worker_id: int, allowed: Sequence[int]) -> int:
    """The CPU that uWSGI worker ``worker_id`` (1, 2, ...) keeps its threads on: the workers
    take the CPUs this process may use in turn, so two workers on two CPUs never share one."""
    return sorted(allowed)[(worker_id - 1) % len(allowed)]


def pin_worker_threads() -> int | None:
    """Keep every thread of this uWSGI worker on one CPU; the CPU, or None when not pinned.

    A worker's threads share one interpreter lock. Left to the scheduler, a worker's threads
    sometimes ran on both CPUs at once for whole seconds, handing the lock from one CPU to the
    other on every request: a project page was then served at about 25,000 requests/s instead
    of 60,000 to 86,000, whole 4 s wrk runs at one speed or the other. Pinned, every run was
    fast (bench/README.md, "Workers pinned to a CPU"). Off with ``BASTION_PIN_WORKERS=0``, with
    one worker, or where only one CPU is allowed; the allowed CPUs are the process's own (a
    container's cpuset included), not the machine's.
    """
    try:
        import uwsgi  # only importable inside a uWSGI worker
    except ImportError:
        return None
    allowed = os.sched_getaffinity(0)
    if not settings.PIN_WORKERS or int(uwsgi.numproc) < 2 or len(allowed) < 2:
        return None
    if uwsgi.worker_id() < 1:  # the master, loading the app before it forks
        return None
    cpu = cpu_for_worker(uwsgi.worker_id(), list(allowed))
    for thread in os.listdir("/proc/self/task"):  # threads started later inherit the mask
        os.sched_setaffinity(int(thread), {cpu})
    return cpu


def worker_command() -> str:
    """The shell command of the built-in worker: this interpreter, this package's CLI."""
    return f"{shlex.quote(sys.executable)} -m bastion.cli worker"


def banner(*, bind: str, public_url: str, options: Options) -> str:
    """The one line printed once the first web process accepts requests."""
    worker = "built in" if options.builtin_worker else "external (run `bastion worker`)"
    log = "access log on standard output" if options.access_log else "access log off"
    return (
        f"Bastion listening on {_where(bind)} (public URL {public_url}, admin at "
        f"{public_url}/admin/); worker: {worker}; {log}"
    )


def _where(bind: str) -> str:
    """``bind`` as a person reads it: a URL, or the Unix socket's path."""
    if ":" not in bind:
        return f"the Unix socket {bind}"
    return f"http://{'0.0.0.0' if bind.startswith(':') else ''}{bind}/"  # noqa: S104 - only words


def uwsgi_arguments(*, bind: str, options: Options = Options(), banner_line: str = "") -> list[str]:
    """The uWSGI command line; kept separate so tests can check what production runs."""
    arguments = [
        "--strict",
        "--master",
        "--need-app",
        # SIGTERM stops the server gracefully (uWSGI 2.0's default is a reload, and its
        # --die-on-term a brutal stop in which a busy worker skips its exit hooks, losing its
        # buffered downloads): each worker finishes its requests, then runs its exit hooks.
        "--hook-master-start",
        "unix_signal:15 gracefully_kill_them_all",
        "--no-orphans",  # a worker whose master died (SIGKILL, OOM) exits instead of lingering
        "--worker-reload-mercy",
        "15",  # then a worker gets 15 s to finish its requests and flush its download buffer
        "--enable-threads",  # the download recorder flushes from a background thread
        "--lazy-apps",  # each worker opens its own database connections and threads
        "--single-interpreter",
        "--tcp-nodelay",  # headers and a sendfile(2) body must not wait on delayed ACKs
        "--http11-socket",  # HTTP/1.1 with keep-alive straight into the workers
        bind,
        "--module",
        "bastion.wsgi:application",
        "--processes",
        str(options.workers or default_workers()),
        # Each thread serves one kept-alive connection until the client closes it or it idles
        # for --socket-timeout, so processes times threads is how many clients are served at once:
        # a connection beyond that waits, unaccepted, in the listen queue. Eight threads per
        # process served project pages at least as fast as four here (bench/README.md, issue 18).
        "--threads",
        str(THREADS),
        "--buffer-size",
        "32768",  # request headers: browsers with several cookies exceed the 4 KiB default
        "--socket-timeout",
        "120",
        "--listen",
        "128",
        "--ignore-sigpipe",
        "--ignore-write-errors",
        "--disable-write-exception",
        # One process collects every worker's output, so lines never interleave mid-line and
        # the chatter filter below applies to all of them.
        "--log-master",
    ]
    if options.access_log:
        arguments += ["--log-format", ACCESS_LOG_FORMAT]
    else:
        arguments += ["--disable-logging", "--log-5xx"]
    if not options.verbose:
        arguments += ["--log-drain", UWSGI_CHATTER]
    if banner_line:
        arguments += ["--hook-accepting1-once", f"print:{banner_line}"]
    if options.builtin_worker:
        # The master starts the worker, restarts it if it dies, and sends it SIGTERM on stop.
        arguments += ["--attach-daemon2", f"cmd={worker_command()},stopsignal=15,reloadsignal=15"]
    return arguments


def serve(*, bind: str, public_url: str, options: Options = Options()) -> None:
    """Run until stopped (SIGTERM or SIGINT)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bastion.settings")
    line = banner(bind=bind, public_url=public_url, options=options)
    pyuwsgi.run(uwsgi_arguments(bind=bind, options=options, banner_line=line))
