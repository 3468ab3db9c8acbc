"""Sending the account mails: one template pair per message.

Each message lives in ``accounts/email/<name>.subject.txt`` and ``accounts/email/<name>.body.txt``.
Where mail goes is Django's ``EMAIL_BACKEND``: the file outbox in the data directory by default,
SMTP when ``BASTION_SMTP_URL`` is set (see settings). Mail caused by a request goes through the
task backend (:func:`send_later`); jobs that must know whether it went out send directly. A failure
to deliver is logged and never undoes the change the mail reports.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django_tasks import task

logger = logging.getLogger(__name__)


def render(name: str, context: dict | None = None) -> tuple[str, str]:
    """The subject (one line) and body of message ``name``."""
    context = {"base_url": settings.BASE_URL, **(context or {})}
    subject = " ".join(render_to_string(f"accounts/email/{name}.subject.txt", context).split())
    return subject, render_to_string(f"accounts/email/{name}.body.txt", context)


def _recipients(to: Iterable[str]) -> list[str]:
    return sorted({address.strip() for address in to if address})


def deliver(subject: str, body: str, recipients: list[str]) -> bool:
    """Send one copy to each address; False when nothing was sent."""
    if not recipients:
        return False
    messages = [EmailMessage(subject=subject, body=body, to=[address]) for address in recipients]
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages(messages)
    except OSError:
        logger.exception("Could not send '%s' to %d address(es)", subject, len(recipients))
        return False
    return True


@task()
def deliver_mail(subject: str, body: str, recipients: list[str]) -> bool:
    """The task behind :func:`send_later`; its arguments are plain strings, as a queue needs."""
    return deliver(subject, body, recipients)


def send(name: str, to: Iterable[str], context: dict | None = None) -> bool:
    """Render and send now; for jobs that record whether the mail went out."""
    return deliver(*render(name, context), _recipients(to))


def send_later(name: str, to: Iterable[str], context: dict | None = None) -> None:
    """Render now and hand delivery to the task backend, so a request never waits on SMTP.

    Rendering happens here because the context holds model instances; the task gets strings.
    """
    recipients = _recipients(to)
    if recipients:
        subject, body = render(name, context)
        deliver_mail.enqueue(subject, body, recipients)
