"""Recovering an account that lost every factor and every recovery code.

The person files a request from the sign-in page. It waits in the admins' queue, oldest first,
with its age shown. An admin who has verified the person (how is recorded) resets the factors,
an action the gate answers (:mod:`bastion.authz.factors`). Then, for a cooling-off period
(``BASTION_RECOVERY_COOLING_OFF_HOURS``, 72 by default), the account may not publish or change
any project, and every verified address is told at once. If a hijacker fooled support, the real
owner hears of it before anything can be published.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from bastion.accounts import ratelimit
from bastion.accounts.models import User
from bastion.accounts.services import notify_account
from bastion.events import services as events
from bastion.events.services import Origin
from bastion.mfa.models import (
    RecoveryRequest,
    RecoveryStatus,
)

REQUESTS_PER_IP = ratelimit.RateLimiter("recovery-request.ip", ratelimit.Limit(5, ratelimit.DAY))
TOO_MANY_REQUESTS = "Too many account recovery requests."


class RecoveryError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _account_named(identifier: str) -> User | None:
    identifier = identifier.strip()
    return (
        User.objects.filter(
            Q(username__iexact=identifier)
            | Q(emails__email__iexact=identifier, emails__verified=True)
        )
        .distinct()
        .first()
    )


def file_request(*, identifier: str, details: str, origin: Origin) -> RecoveryRequest:
    """Queue a request. The answer is the same whether or not the account exists."""
    REQUESTS_PER_IP.check(origin.ip_address or "unknown", TOO_MANY_REQUESTS)
    REQUESTS_PER_IP.hit(origin.ip_address or "unknown")
    user = _account_named(identifier)
    request = RecoveryRequest.objects.create(
        user=user,
        identifier=identifier.strip()[:254],
        details=details,
        ip_address=origin.ip_address,
    )
    if user is not None:
        events.record("account:recovery:requested", user=user, origin=origin, request=request.pk)
        notify_account(user, "account-recovery-requested", {"request": request})
    return request


def queue():
    """Open requests, oldest first: the one that has waited longest is handled first."""
    return RecoveryRequest.objects.filter(status=RecoveryStatus.OPEN).select_related("user")


def freezes_of(
    user: User, now: datetime | None = None
) -> QuerySet[RecoveryRequest, datetime | None]:
    """The ends of the user's cooling-off periods still running, latest first (the gate asks
    the same in its facts' statement, ``bastion.authz._facts_statement``)."""
    return (
        RecoveryRequest.objects.filter(
            Q(user=user), publishing_frozen_until__gt=now or timezone.now()
        )
        .order_by("-publishing_frozen_until")
        .values_list("publishing_frozen_until", flat=True)
    )


def publishing_frozen_until(user: User, now: datetime | None = None) -> datetime | None:
    """When the cooling-off after an admin reset ends, or None when the account is not frozen."""
    if user.pk is None:
        return None
    return freezes_of(user, now).first()
