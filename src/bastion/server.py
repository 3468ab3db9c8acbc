"""Serving with uWSGI (the ``pyuwsgi`` wheel): a real multi-process server, never runserver.

Two things decided the choice. uWSGI writes the status line the application gives it, so the
one-line reason phrase that twine prints for a refused upload reaches the user (servers built on
hyper or on ASGI replace it with the standard phrase). And it is written in C, with HTTP/1.1
keep-alive straight into the workers: on the simple index's hot path it served about six times
what gunicorn's threaded workers did on the same two processes (see bench/README.md).
"""

import os

import pyuwsgi


def default_workers() -> int:
    return max(2, os.cpu_count() or 1)


def uwsgi_arguments(*, bind: str, workers: int | None = None) -> list[str]:
    """The uWSGI command line; kept separate so tests can check what production runs."""
    return [
        "--strict",
        "--master",
        "--need-app",
        "--die-on-term",  # SIGTERM stops the server (uWSGI's default is a reload)
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
        str(workers or default_workers()),
        "--threads",
        "4",
        "--buffer-size",
        "32768",  # request headers: browsers with several cookies exceed the 4 KiB default
        "--socket-timeout",
        "120",
        "--listen",
        "128",
        "--disable-logging",
        "--log-4xx",
        "--log-5xx",
        "--ignore-sigpipe",
        "--ignore-write-errors",
        "--disable-write-exception",
    ]


def serve(*, bind: str, workers: int | None = None) -> None:
    """Run until stopped (SIGTERM or SIGINT)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bastion.settings")
    pyuwsgi.run(uwsgi_arguments(bind=bind, workers=workers))
