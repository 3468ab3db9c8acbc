"""Deleting what a critical project serves needs an admin's approval (the atomicwrites lesson).

In 2022 a maintainer deleted a critical project and re-uploaded it to shed the label, and every
pinned install of the old versions broke. Here the label stays on the name anyway; this module
stops the breakage: a deletion that would leave a critical project with no files at all (its
last release, or its last file) is the gate's ``Action.EMPTY_PROJECT``, which its
``critical_deletion_approval`` rule refuses on a critical project (code
``critical_deletion_needs_approval``). An administrator's approval, itself the gate's
``APPROVE_CRITICAL_DELETION`` and recorded, overrides exactly that refusal, once.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bastion import authz
from bastion.accounts.models import User
from bastion.critical.models import DeletionRequest
from bastion.critical.selectors import what_would_break
from bastion.events import services as events
from bastion.events.services import CLI, Origin
from bastion.packaging import notifications
from bastion.packaging.models import File, Project, Release
from bastion.packaging.services import PackagingError


def _empties(project: Project, release: Release | None, files: list[File]) -> bool:
    """Whether the deletion leaves the project serving no file (``release`` None: all of it)."""
    if release is None:
        return True
    removed = [file.pk for file in files]
    return not File.objects.filter(release__project=project).exclude(pk__in=removed).exists()


def _use_approval(project: Project, version: str) -> bool:
    """Spend an administrator's approval of this deletion, if there is one."""
    approved = DeletionRequest.objects.filter(
        project=project, version=version, approved=True, used_at__isnull=True
    )
    return bool(approved.update(used_at=timezone.now()))


def require_approval(
    *,
    actor: authz.Actor,
    project: Project,
    release: Release | None,
    files: list[File],
    reason: str,
) -> None:
    """Let the deletion through, or file a request for an admin and raise ``authz.Refused``
    (code ``critical_deletion_needs_approval``) saying what would break.

    ``release`` is None when the whole project goes. An approved request for this release (or
    project) is used up by the deletion it allows.
    """
    if not _empties(project, release, files):
        return
    decision = authz.may(actor, authz.Action.EMPTY_PROJECT, project)
    if decision.allowed:
        return
    if decision.code != authz.Code.CRITICAL_DELETION_NEEDS_APPROVAL:
        raise authz.Refused(decision)
    version = release.version if release is not None else ""
    if _use_approval(project, version):
        return
    pending, created = DeletionRequest.objects.get_or_create(
        project=project,
        version=version,
        approved__isnull=True,
        defaults={"requested_by": actor.user, "reason": reason},
    )
    if created:
        events.record(
            "project:critical:deletion_requested",
            user=actor.user,
            project=project,
            version=version,
            reason=reason,
            notified=notifications.deletion_requested(project, actor.account, version, reason),
        )
    what = "the whole project" if release is None else "the last of its files"
    raise authz.Refused(
        authz.with_reason(
            decision,
            f"Project '{project.name}' is critical, and this would delete {what}, so an "
            f"administrator must approve it first (request #{pending.pk} is waiting). What "
            f"would break: {what_would_break(project)}. Once it is approved, delete it again.",
        )
    )


def decide(
    *, admin: User, request: DeletionRequest, approve: bool, note: str = "", origin: Origin = CLI
) -> DeletionRequest:
    """An admin approves or rejects a waiting request; the owner then deletes (or cannot).

    Approving overrides the gate's refusal of the deletion, so deciding is itself the gate's
    ``APPROVE_CRITICAL_DELETION``, and the decision is recorded as the admin's event."""
    authz.require(authz.Actor.admin(admin), authz.Action.APPROVE_CRITICAL_DELETION, request.project)
    with transaction.atomic():
        request = DeletionRequest.objects.select_for_update().get(pk=request.pk)
        if request.approved is not None:
            raise PackagingError(f"Request #{request.pk} was already decided.")
        request.approved = approve
        request.decided_by = admin
        request.decided_at = timezone.now()
        request.note = note
        request.save(update_fields=["approved", "decided_by", "decided_at", "note"])
        events.record(
            "project:critical:deletion_approved"
            if approve
            else "project:critical:deletion_rejected",
            user=admin,
            project=request.project,
            origin=origin,
            version=request.version,
            note=note,
            notified=notifications.deletion_decided(
                request.project, admin, request.version, approve, note
            ),
        )
    return request
