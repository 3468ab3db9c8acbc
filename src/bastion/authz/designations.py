"""Administrators designate a project as critical, or take a designation away, by hand.

Both are the gate's ``DESIGNATE_CRITICAL``, an administrators' action; the daily computation
(:mod:`bastion.critical.services`) needs no one's permission and lives below the gate.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from bastion import authz
from bastion.accounts.models import User
from bastion.critical import enforcement
from bastion.critical.designation import ByAdmin
from bastion.critical.models import Designation
from bastion.critical.policy import Policy
from bastion.critical.services import CriticalError, notify_maintainers
from bastion.events import services as events
from bastion.events.services import CLI, Origin
from bastion.packaging.models import Project
from bastion.packaging.services import normalize


def designate_manually(
    *, admin: User, name: str, note: str, grace_days: int | None = None, origin: Origin = CLI
) -> Designation:
    """An admin's designation, with a note saying why. It also restores a removed one."""
    _require_admin(admin)
    note = note.strip()
    if not note:
        raise CriticalError("Say why this project is critical; the note is shown to people.")
    normalized = normalize(name)
    grace = Policy.from_environment().grace_days if grace_days is None else grace_days
    reason = ByAdmin(admin=admin.username, note=note)
    with transaction.atomic():
        designation = (
            Designation.objects.select_for_update().filter(normalized_name=normalized).first()
        )
        if designation is not None and designation.is_active:
            raise CriticalError(f"'{normalized}' is already critical.")
        designation = designation or Designation(normalized_name=normalized)
        designation.kind = reason.kind
        designation.reason = reason.as_dict()
        designation.designated_at = timezone.now()
        designation.enforcement_date = enforcement.today() + timedelta(days=grace)
        designation.designated_by = admin
        designation.removed_at = None
        designation.removed_by = None
        designation.removal_reason = ""
        designation.save()
        events.record(
            "project:critical:designate",
            user=admin,
            project=Project.objects.filter(normalized_name=normalized).first(),
            origin=origin,
            name=normalized,
            reason=reason.describe(),
            enforcement_date=designation.enforcement_date.isoformat(),
        )
    notify_maintainers()
    return designation


def remove(*, admin: User, name: str, reason: str, origin: Origin = CLI) -> Designation:
    """Only an admin takes a designation away, and the reason is kept on the row and the log."""
    _require_admin(admin)
    reason = reason.strip()
    if not reason:
        raise CriticalError("Say why the designation is removed; the reason is kept.")
    normalized = normalize(name)
    with transaction.atomic():
        designation = (
            Designation.objects.active()
            .select_for_update()
            .filter(normalized_name=normalized)
            .first()
        )
        if designation is None:
            raise CriticalError(f"'{normalized}' is not critical.")
        designation.removed_at = timezone.now()
        designation.removed_by = admin
        designation.removal_reason = reason
        designation.save(update_fields=["removed_at", "removed_by", "removal_reason"])
        events.record(
            "project:critical:remove",
            user=admin,
            project=Project.objects.filter(normalized_name=normalized).first(),
            origin=origin,
            name=normalized,
            reason=reason,
        )
    return designation


def _require_admin(user: User) -> None:
    """Designating is an administrators' action the gate grants (``DESIGNATE_CRITICAL``)."""
    decision = authz.may(authz.Actor.admin(user), authz.Action.DESIGNATE_CRITICAL)
    if not decision.allowed:
        raise CriticalError(f"'{user.username}' is not an admin.")
