"""The periodic jobs and the one function that enqueues those that are due.

Each app owns its tasks (``<app>/tasks.py``); this module only says how often each runs. The
jobs are idempotent by construction (designations are sticky, notices and reminders are recorded
once), so a run that happens twice, or late, does no harm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks.base import Task

from bastion.accounts import tasks as accounts_tasks
from bastion.critical import tasks as critical_tasks
from bastion.downloads import tasks as downloads_tasks
from bastion.jobs.models import ScheduledRun
from bastion.keys import tasks as keys_tasks
from bastion.packaging import tasks as packaging_tasks
from bastion.publishing import tasks as publishing_tasks


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    task: Task


def rollup_interval() -> timedelta:
    """How often recorded downloads are folded in: a rollup rebuilds only the days they touch,
    so running it often is cheap, and a download shows on its project page soon after."""
    return timedelta(seconds=settings.DOWNLOADS_ROLLUP_SECONDS)


SCHEDULE: tuple[Job, ...] = (
    Job("downloads-rollup", rollup_interval(), downloads_tasks.rollup_downloads),
    Job("critical-daily", timedelta(days=1), critical_tasks.designate_and_remind),
    Job("keys-reminders", timedelta(days=1), keys_tasks.send_key_reminders),
    Job("accounts-check-domains", timedelta(days=1), accounts_tasks.check_email_domains),
    Job("storage-gc", timedelta(days=1), packaging_tasks.collect_storage_garbage),
    Job("publishing-forget-expired", timedelta(days=1), publishing_tasks.forget_expired),
)


def is_due(last: datetime | None, every: timedelta, now: datetime) -> bool:
    return last is None or now - last >= every


def enqueue_due(now: datetime | None = None, schedule: tuple[Job, ...] = SCHEDULE) -> list[str]:
    """Enqueue every job whose interval has passed; return their names.

    The row is locked and stamped in the same transaction that enqueues the task, so with the
    database backend a crash between the two cannot lose a run or enqueue it twice.
    """
    now = now or timezone.now()
    enqueued = []
    for job in schedule:
        with transaction.atomic():
            ScheduledRun.objects.get_or_create(name=job.name)
            run = ScheduledRun.objects.select_for_update().get(name=job.name)
            if not is_due(run.last_enqueued, job.every, now):
                continue
            run.last_enqueued = now
            run.save(update_fields=["last_enqueued"])
            transaction.on_commit(job.task.enqueue)
        enqueued.append(job.name)
    return enqueued
