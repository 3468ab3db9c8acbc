"""Tasks that a request starts but must not wait for: enqueued once its response has been sent.

With the ``immediate`` task backend (the default), ``task.enqueue`` runs the task inline, so a
request that enqueues work is as slow as the work. Where that time tells something, such as
whether a password reset found an account to mail, the request calls
:func:`enqueue_after_response` instead: the task is enqueued when the WSGI server closes the
response, which it does after the client has the whole answer. With the ``database`` backend
the enqueue is then one insert after the response. Outside a request (the CLI, the worker, a
service called from a test) the task is enqueued at once.

The server closes a response with Django's ``request_finished`` signal. :func:`connect` puts the
receiver ahead of Django's own, which closes the database connections, so the deferred work
runs on the request's connection and nothing stays open after it.
"""

from __future__ import annotations

import logging
import threading
from functools import partial

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django_tasks.base import Task

logger = logging.getLogger(__name__)

_state = threading.local()  # each server thread answers one request at a time


def enqueue_after_response(task: Task, *args, **kwargs) -> None:
    """Enqueue ``task`` once this thread's response is sent; at once outside a request."""
    pending = getattr(_state, "pending", None)
    if pending is None:
        task.enqueue(*args, **kwargs)
        return
    pending.append(partial(task.enqueue, *args, **kwargs))


def _start(**_signal_kwargs) -> None:
    _state.pending = []


def _finish(**_signal_kwargs) -> None:
    pending, _state.pending = getattr(_state, "pending", None), None
    for enqueue in pending or ():
        try:
            enqueue()
        except Exception:  # the answer is sent; one failed task must not stop the others
            logger.exception("a task deferred past its response failed to run or enqueue")


def connect() -> None:
    """Called once from the app's ``ready``; see the module docstring for the order."""
    request_started.connect(_start, dispatch_uid="jobs.after_response.start")
    request_finished.disconnect(close_old_connections)
    request_finished.connect(_finish, dispatch_uid="jobs.after_response.finish")
    request_finished.connect(close_old_connections)
