"""Sending the account mails: one template pair per message, rendered and sent synchronously.

Each message lives in ``accounts/email/<name>.subject.txt`` and ``accounts/email/<name>.body.txt``.
Where mail goes is Django's ``EMAIL_BACKEND``: the file outbox in the data directory by default,
SMTP when ``BASTION_SMTP_URL`` is set (see settings). Sending is synchronous for now; a failure to
deliver is logged and never undoes the change the mail reports.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def send(name: str, to: Iterable[str], context: dict | None = None) -> bool:
    """Render message ``name`` and send one copy to each address; False when nothing was sent."""
    recipients = sorted({address.strip() for address in to if address})
    if not recipients:
        return False
    context = {"base_url": settings.BASE_URL, **(context or {})}
    subject = " ".join(render_to_string(f"accounts/email/{name}.subject.txt", context).split())
    body = render_to_string(f"accounts/email/{name}.body.txt", context)
    messages = [EmailMessage(subject=subject, body=body, to=[address]) for address in recipients]
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages(messages)
    except OSError:
        logger.exception("Could not send the '%s' mail to %d address(es)", name, len(recipients))
        return False
    return True
