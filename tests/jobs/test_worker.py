"""The schedule and the worker: due jobs run once per interval, queued tasks run in the worker."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from bastion.accounts import mail as account_mail
from bastion.critical.models import StatsSnapshot
from bastion.jobs import worker
from bastion.jobs.models import ScheduledRun
from bastion.jobs.schedule import SCHEDULE, enqueue_due, rollup_interval

pytestmark = pytest.mark.django_db(transaction=True)

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_every_job_runs_once_per_interval():
    start = timezone.now()
    assert enqueue_due(start) == [job.name for job in SCHEDULE]
    assert StatsSnapshot.objects.count() == 1  # the critical job really ran (immediate backend)
    rollup = rollup_interval()
    assert enqueue_due(start + rollup - timedelta(seconds=1)) == []
    assert enqueue_due(start + rollup) == ["downloads-rollup"]
    assert enqueue_due(start + timedelta(hours=23)) == ["downloads-rollup"]
    assert set(enqueue_due(start + timedelta(days=1, hours=1))) == {j.name for j in SCHEDULE}
    assert ScheduledRun.objects.count() == len(SCHEDULE)


@override_settings(TASKS=DATABASE_TASKS)
def test_with_the_database_backend_jobs_wait_for_the_worker():
    enqueue_due()
    queued = DBTaskResult.objects.all()
    assert queued.count() == len(SCHEDULE)
    assert StatsSnapshot.objects.count() == 0
    worker.run(once=True)
    assert StatsSnapshot.objects.count() == 1
    assert set(queued.values_list("status", flat=True)) == {"SUCCESSFUL"}


@override_settings(
    TASKS=DATABASE_TASKS, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
)
def test_request_mail_is_delivered_by_the_worker_not_the_request():
    account_mail.send_later("verify-email", ["ann@example.com"], {"user": None, "link": "x"})
    assert mail.outbox == []
    worker.run(once=True)
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_by_default_request_mail_goes_out_at_once():
    account_mail.send_later("verify-email", ["ann@example.com"], {"user": None, "link": "x"})
    assert len(mail.outbox) == 1


def test_a_failing_pass_does_not_stop_the_scheduler(monkeypatch):
    def broken(now=None):
        raise RuntimeError("database went away")

    monkeypatch.setattr(worker, "enqueue_due", broken)
    assert worker.tick() == []


def test_downloads_are_rolled_up_every_half_minute_and_the_scheduler_looks_often_enough():
    assert rollup_interval() == timedelta(seconds=30)
    assert worker.tick_seconds() == 5  # so a rollup starts at most 5 s after it is due
