"""Changes to a user's factors that the gate answers: removing one, and an administrator
resetting all of them for a person who lost every factor (an account recovery request).

Removing a factor is ``Action.REMOVE_FACTOR``, whose ``last_factor`` rule applies the same
mandate as uploads; resolving a recovery request is the administrators' ``RESOLVE_RECOVERY``.
Adding and checking factors needs no one's permission and stays in :mod:`bastion.mfa.services`.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bastion import authz
from bastion.accounts.models import User
from bastion.accounts.services import notify_account
from bastion.authz.decisions import Decision, Refused
from bastion.events import services as events
from bastion.events.services import Origin
from bastion.mfa import services
from bastion.mfa.models import (
    RecoveryCode,
    RecoveryRequest,
    RecoveryStatus,
    TOTPDevice,
    WebAuthnCredential,
)
from bastion.mfa.recovery import RecoveryError
from bastion.mfa.services import TOTP, FactorError, has_two_factor


class FactorRefused(Refused, FactorError):
    """The gate refused a change to the factors (removing the last one: code ``last_factor``).

    It is the gate's :class:`~bastion.authz.decisions.Refused`, with its decision and code,
    and a :class:`FactorError` too, so every caller that reports a factor change's errors
    (the pages, scripts) reports this one with them."""

    def __init__(self, decision: Decision):
        Refused.__init__(self, decision)
        self.message = decision.reason


def _factor_removed(user: User, method: str, origin: Origin, label: str = "") -> None:
    events.record(
        "account:two_factor:method_removed", user=user, origin=origin, method=method, label=label
    )
    notify_account(
        user, "two-factor-removed", {"method": services.method_name(method), "label": label}
    )


def _check_may_remove_one(user: User) -> None:
    """Removing a factor is an action the gate answers (its ``last_factor`` rule: the mandate
    that covers uploads); raises :class:`FactorRefused` with code ``last_factor``."""
    decision = authz.may(authz.Actor(user=user), authz.Action.REMOVE_FACTOR)
    if not decision.allowed:
        raise FactorRefused(decision)


def _after_removal(user: User) -> None:
    """Recovery codes stand in for a factor; with no factor left they have nothing to stand for."""
    if not has_two_factor(user):
        RecoveryCode.objects.filter(user=user).delete()


def remove_totp(user: User, *, origin: Origin) -> None:
    with transaction.atomic():
        services.lock_account(user)
        device = TOTPDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            raise FactorError("This account has no authenticator app.")
        _check_may_remove_one(user)
        device.delete()
        _after_removal(user)
    _factor_removed(user, TOTP, origin)


def remove_webauthn(user: User, *, credential_pk: int, origin: Origin) -> None:
    with transaction.atomic():
        services.lock_account(user)
        credential = (
            WebAuthnCredential.objects.select_for_update()
            .filter(user=user, pk=credential_pk)
            .first()
        )
        if credential is None:
            raise FactorError("There is no such key on this account.")
        _check_may_remove_one(user)
        credential.delete()
        _after_removal(user)
    _factor_removed(user, credential.method, origin, credential.label)


def _resolve(request: RecoveryRequest, admin: User, reason: str) -> None:
    if not authz.may(authz.Actor.admin(admin), authz.Action.RESOLVE_RECOVERY).allowed:
        raise RecoveryError("Only an administrator can resolve a recovery request.")
    if not reason.strip():
        raise RecoveryError("Record how you verified the person (or why you declined).")
    if request.status != RecoveryStatus.OPEN:
        raise RecoveryError(f"This request is already {request.get_status_display().lower()}.")


def reset_factors(
    request: RecoveryRequest, *, admin: User, reason: str, origin: Origin
) -> RecoveryRequest:
    """Remove every factor and recovery code of the account, and freeze its publishing."""
    _resolve(request, admin, reason)
    user = request.user
    if user is None:
        raise RecoveryError(
            "This request names no account. Set its user after verifying who they are."
        )
    now = timezone.now()
    frozen_until = now + timedelta(hours=settings.RECOVERY_COOLING_OFF_HOURS)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        WebAuthnCredential.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        request.status = RecoveryStatus.RESET
        request.resolved_by = admin
        request.resolved_at = now
        request.resolution_reason = reason.strip()
        request.publishing_frozen_until = frozen_until
        request.save()
        events.record(
            "account:recovery:factors_reset",
            user=user,
            origin=origin,
            request=request.pk,
            admin=admin.username,
            reason=request.resolution_reason,
            frozen_until=frozen_until.isoformat(),
        )
    notify_account(user, "account-recovery-reset", {"request": request})
    return request


def decline(
    request: RecoveryRequest, *, admin: User, reason: str, origin: Origin
) -> RecoveryRequest:
    _resolve(request, admin, reason)
    request.status = RecoveryStatus.DECLINED
    request.resolved_by = admin
    request.resolved_at = timezone.now()
    request.resolution_reason = reason.strip()
    request.save()
    if request.user is not None:
        events.record(
            "account:recovery:declined",
            user=request.user,
            origin=origin,
            request=request.pk,
            admin=admin.username,
        )
    return request
