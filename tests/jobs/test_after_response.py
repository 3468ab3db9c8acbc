"""Tasks deferred past a response: enqueued when the server closes it, at once elsewhere."""

import pytest
from django.core.signals import request_finished, request_started
from django_tasks import task

from bastion.jobs.after_response import enqueue_after_response

# Django's own receivers of the request signals close and reopen database connections.
pytestmark = pytest.mark.django_db

ran: list[str] = []


@task()
def note(word: str) -> None:
    ran.append(word)


@task()
def fail() -> None:
    raise RuntimeError("a task that fails")


def test_inside_a_request_the_task_waits_for_the_response_to_close():
    ran.clear()
    request_started.send(sender=None)
    try:
        enqueue_after_response(note, "first")
        enqueue_after_response(fail)
        enqueue_after_response(note, word="second")
        assert ran == []
    finally:
        request_finished.send(sender=None)  # what the WSGI server's close() sends
    assert ran == ["first", "second"]
    request_started.send(sender=None)
    request_finished.send(sender=None)
    assert ran == ["first", "second"]  # each request's tasks run once


def test_outside_a_request_the_task_is_enqueued_at_once():
    ran.clear()
    enqueue_after_response(note, "now")
    assert ran == ["now"]
