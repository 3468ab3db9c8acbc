"""Invitations to register, for an index whose registration is not open to everyone.

``BASTION_REGISTRATION`` is ``open`` (anyone may register), ``invite`` (an administrator's
invitation by email creates the account) or ``closed`` (accounts come from the admin or
``bastion users create``). An invitation is a link mailed to one address; it registers one
account with that address already verified (the link proves it), within
:data:`INVITATION_LIFETIME`, and never again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from bastion.accounts import mail
from bastion.accounts.models import Email, Invitation, User
from bastion.accounts.services import AccountError, complete_login, create_user
from bastion.events import services as events
from bastion.events.services import CLI, Origin

OPEN, INVITE, CLOSED = "open", "invite", "closed"
INVITATION_LIFETIME = timedelta(days=7)
NOT_USABLE = (
    "This invitation link does not work: it was used already, or it has expired. "
    "Ask an administrator for a new one."
)


def registration_mode() -> str:
    return settings.REGISTRATION


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def invite(*, email: str, invited_by: User | None = None, origin: Origin = CLI) -> str:
    """Record an invitation for ``email``, mail it its link, and return the link (shown once)."""
    if Email.objects.filter(email__iexact=email).exists():
        raise AccountError("That email address already belongs to an account.")
    secret = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=email,
        digest=_digest(secret),
        invited_by=invited_by,
        expires=timezone.now() + INVITATION_LIFETIME,
    )
    link = settings.BASE_URL + reverse("accounts:invitation", kwargs={"secret": secret})
    events.record("account:invite", user=invited_by, origin=origin, email=email)
    context = {"link": link, "inviter": invited_by, "expires": invitation.expires}
    transaction.on_commit(lambda: mail.send_later("registration-invitation", [email], context))
    return link


def pending(secret: str) -> Invitation | None:
    """The invitation behind a link, while it may still register an account."""
    return Invitation.objects.filter(
        digest=_digest(secret), accepted__isnull=True, expires__gt=timezone.now()
    ).first()


def accept(request: HttpRequest, *, secret: str, username: str, password: str) -> User:
    """Register the invited address's account and sign it in; the link then stops working.

    The invitation is marked used by a conditional update in the same transaction as the
    account, so two submissions of one link create one account.
    """
    origin = Origin.from_request(request)
    with transaction.atomic():
        invitation = pending(secret)
        if invitation is None or (
            Invitation.objects.filter(pk=invitation.pk, accepted__isnull=True).update(
                accepted=timezone.now()
            )
            != 1
        ):
            raise AccountError(NOT_USABLE)
        user = create_user(
            username=username,
            email=invitation.email,
            password=password,
            verified=True,
            origin=origin,
        )
    complete_login(request, user, method="invitation")
    return user
