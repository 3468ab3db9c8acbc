"""``bastion worker``: the scheduler, and with the database task backend, the task runner.

With the default immediate backend a task runs the moment it is enqueued, so the worker is just
the scheduler. With ``BASTION_TASK_BACKEND=database`` the web processes only write task rows,
and this process both schedules and runs them (django-tasks-db's worker), so mail and rollups
never hold up a request.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management import call_command
from django.db import close_old_connections

from bastion.jobs.backend import uses_database_backend
from bastion.jobs.schedule import SCHEDULE, enqueue_due

logger = logging.getLogger(__name__)

#: The longest the scheduler sleeps between two looks for due jobs.
MAX_TICK_SECONDS = 60


def tick_seconds() -> float:
    """A sixth of the shortest interval: a job runs at most a sixth of its interval late."""
    shortest = min(job.every.total_seconds() for job in SCHEDULE)
    return max(0.5, min(MAX_TICK_SECONDS, shortest / 6))


def tick() -> list[str]:
    """One scheduler pass; never lets a failing job stop the loop."""
    try:
        return enqueue_due()
    except Exception:
        logger.exception("The scheduler pass failed; it will be tried again")
        return []
    finally:
        close_old_connections()


def _schedule_until(stopped: threading.Event) -> None:
    while not stopped.is_set():
        tick()
        stopped.wait(tick_seconds())


def run_once() -> tuple[list[str], int]:
    """Enqueue what is due and, with the database backend, run every queued task (for cron).

    Returns the names of the due jobs and how many queued tasks ran, for the command to report.
    """
    due = enqueue_due()
    if not uses_database_backend():
        return due, 0
    from django_tasks_db.models import DBTaskResult

    finished_before = DBTaskResult.objects.finished().count()
    call_command("db_worker", batch=True, verbosity=0)
    return due, DBTaskResult.objects.finished().count() - finished_before


def run(*, once: bool = False) -> None:
    if once:
        run_once()
        return
    stopped = threading.Event()
    if uses_database_backend():
        scheduler = threading.Thread(target=_schedule_until, args=(stopped,), daemon=True)
        scheduler.start()
        try:
            call_command("db_worker", verbosity=1)  # returns on SIGTERM or SIGINT
        finally:
            stopped.set()
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    _schedule_until(stopped)
