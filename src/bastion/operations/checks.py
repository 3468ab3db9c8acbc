"""One registry of the services an installation depends on, and how to reach each of them.

``bastion check`` runs every check and says which dependency fails and why; ``/healthz`` runs
only the ``quick`` ones (a load balancer polls it every few seconds, so each costs at most one
round trip). A new dependency (object storage, an upstream index) adds one function here with
``@dependency``, and both the command and the health page report it.

A check returns a short description of what it reached, returns ``None`` when the dependency is
not configured (nothing to check), and raises on failure: the exception's text is the reason.
Descriptions and reasons never contain a password: URLs are shown without their credentials.
"""

from __future__ import annotations

import functools
import os
import smtplib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

#: Seconds a network check may take before its dependency counts as failing.
TIMEOUT_SECONDS = 5.0

Probe = Callable[[], "str | None"]


@dataclass(frozen=True)
class Dependency:
    name: str
    probe: Probe
    quick: bool  # cheap enough for /healthz
    required: bool  # the index cannot serve without it: /healthz answers 503


@dataclass(frozen=True)
class Result:
    name: str
    state: str  # "ok", "failing" or "not configured"
    detail: str
    required: bool
    seconds: float

    @property
    def failed(self) -> bool:
        return self.state == "failing"

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "state": self.state,
            "detail": self.detail,
            "required": self.required,
            "seconds": round(self.seconds, 4),
        }


REGISTRY: list[Dependency] = []


def dependency(name: str, *, quick: bool, required: bool = True) -> Callable[[Probe], Probe]:
    """Register ``probe`` as the check of one dependency."""

    def register(probe: Probe) -> Probe:
        REGISTRY.append(Dependency(name, probe, quick, required))
        return probe

    return register


def run_checks(*, quick_only: bool = False) -> list[Result]:
    """Every registered check (or only the quick ones), in registration order; never raises."""
    return [_run(dep) for dep in REGISTRY if dep.quick or not quick_only]


def _run(dep: Dependency) -> Result:
    started = time.perf_counter()
    try:
        detail = dep.probe()
    except Exception as error:  # any failure is the state of the dependency
        reason = " ".join(str(error).split()) or type(error).__name__  # one line
        return Result(dep.name, "failing", reason, dep.required, time.perf_counter() - started)
    state = "not configured" if detail is None else "ok"
    return Result(dep.name, state, detail or "", dep.required, time.perf_counter() - started)


def without_credentials(url: str) -> str:
    """``url`` with any user name and password removed, fit for output and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@dependency("configuration", quick=False)
def check_configuration() -> str:
    """Settings that load can still be wrong together: Django's system checks find that."""
    from django.core import checks

    errors = [m for m in checks.run_checks() if m.level >= checks.ERROR]
    if errors:
        raise RuntimeError("; ".join(f"{m.id}: {m.msg}" for m in errors))
    return f"settings load; base URL {settings.BASE_URL}"


@dependency("database", quick=True)
def check_database() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    where = connection.settings_dict["NAME"]
    if connection.vendor != "sqlite":
        host = connection.settings_dict.get("HOST") or "localhost"
        where = f"{host}:{connection.settings_dict.get('PORT') or 5432}/{where}"
    return f"{connection.vendor} {where}"


@dependency("migrations", quick=False)
def check_migrations() -> str:
    """A database reached but not migrated fails on the first request that needs a new table."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:3])
        more = f" and {len(plan) - 3} more" if len(plan) > 3 else ""
        raise RuntimeError(f"unapplied migrations ({names}{more}): run 'bastion migrate'")
    return "all applied"


@dependency("redis", quick=True)
def check_redis() -> str | None:
    if not settings.REDIS_URL:
        return None
    _redis_client(settings.REDIS_URL).ping()
    return without_credentials(settings.REDIS_URL)


@functools.lru_cache(maxsize=4)
def _redis_client(url: str):
    """One client (and connection pool) per process: a health poll reuses its connection."""
    import redis

    return redis.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
    )


#: The data directory's entries that the processes write to.
_WRITTEN = ("files", "pages", "downloads", "uploads")


@dependency("data directory", quick=True)
def check_data_directory() -> str:
    """A directory this account may write in, as may its trees the processes write to."""
    data_dir = Path(settings.DATA_DIR)
    if not data_dir.is_dir():
        raise RuntimeError(f"{data_dir} is not a directory")
    for directory in (data_dir, *(data_dir / name for name in _WRITTEN)):
        if directory.exists() and not os.access(directory, os.W_OK | os.X_OK):
            raise RuntimeError(f"{directory} is not writable by this account")
    return str(data_dir)


@dependency("data directory writes", quick=False)
def check_data_directory_writes() -> str:
    """Private to this account (``bastion.datadir``), and a file can really be written in each
    tree: ``os.access`` trusts the mode bits, a read-only or full file system shows only here."""
    data_dir = Path(settings.DATA_DIR)
    mode = data_dir.stat().st_mode & 0o777
    if mode & 0o066:
        raise RuntimeError(f"{data_dir} has mode {mode:o}: others may read or write it (want 711)")
    for directory in (data_dir, *(data_dir / name for name in _WRITTEN)):
        if directory.is_dir():
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".check-") as handle:
                handle.write(b"bastion check\n")
                handle.flush()
                os.fsync(handle.fileno())
    return f"{data_dir} is private, and its {', '.join(_WRITTEN)} accept a file"


@dependency("smtp", quick=False, required=False)
def check_smtp() -> str | None:
    """Connect and say EHLO (and STARTTLS when configured); no mail is sent, no login is tried."""
    if not os.environ.get("BASTION_SMTP_URL"):
        return None
    host, port = settings.EMAIL_HOST, settings.EMAIL_PORT
    connection_class = smtplib.SMTP_SSL if settings.EMAIL_USE_SSL else smtplib.SMTP
    try:
        with connection_class(host, port, timeout=TIMEOUT_SECONDS) as server:
            code, _ = server.ehlo()
            if code != 250:
                raise RuntimeError(f"answered EHLO with {code}")
            if settings.EMAIL_USE_TLS:
                server.starttls()
                server.ehlo()
    except (OSError, smtplib.SMTPException, RuntimeError) as error:
        raise RuntimeError(f"{host}:{port}: {error}") from error
    return f"{host}:{port}"
