"""What owners and invitees do to projects: yanks, roles, invitations, settings, deletion.

Every function asks the gate first (:func:`authz.require`, which raises :class:`authz.Refused`),
so the web views, the admin, the CLI and any later API share one set of rules. An administrator
in the admin (``authz.Actor.admin``) calls the same functions, with the gate's administrators'
actions in place of an owner's. Each change leaves a security event, and the project's
people hear of it by mail (:mod:`bastion.packaging.notifications`; the event lists who); changes
that alter what the index serves also write a journal entry, which re-renders the simple pages.
"""

from copy import copy
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from bastion import authz
from bastion.accounts.models import User
from bastion.accounts.services import notify_account
from bastion.authz import deletions as critical_deletions
from bastion.events import services as events
from bastion.events.services import CLI, Origin
from bastion.packaging import notifications, storage
from bastion.packaging.models import (
    DeletionRecord,
    File,
    FilenameReservation,
    Project,
    Release,
    Role,
    RoleInvitation,
    RoleName,
)
from bastion.packaging.services import PackagingError, find_release, journal

INVITATION_LIFETIME = timedelta(days=7)


def _managing_roles(actor: authz.Actor) -> authz.Action:
    """Owners manage roles on their pages; administrators in the admin, as their own action."""
    if actor.kind == authz.ActorKind.ADMIN:
        return authz.Action.ADMIN_MANAGE_ROLES
    return authz.Action.MANAGE_ROLES


def invite(
    *, actor: authz.Actor, project: Project, username: str, role_name: str, origin: Origin
) -> RoleInvitation:
    """Offer ``username`` a role. Nothing changes until the invitee accepts."""
    authz.require(actor, _managing_roles(actor), project)
    if role_name not in RoleName.values:
        raise PackagingError(f"'{role_name}' is not a role. Choose Owner or Maintainer.")
    invitee = User.objects.filter(username__iexact=username, is_active=True).first()
    if invitee is None:
        raise PackagingError(f"There is no active user named '{username}'.", 404)
    if Role.objects.filter(project=project, user=invitee).exists():
        raise PackagingError(f"'{invitee.username}' already has a role on '{project.name}'.")
    with transaction.atomic():
        stale = RoleInvitation.objects.filter(project=project, invitee=invitee)
        if stale.filter(expires__gt=timezone.now()).exists():
            raise PackagingError(
                f"'{invitee.username}' already has a pending invitation to '{project.name}'."
            )
        stale.delete()
        invitation = RoleInvitation.objects.create(
            project=project,
            invitee=invitee,
            invited_by=actor.user,
            role_name=role_name,
            expires=timezone.now() + INVITATION_LIFETIME,
        )
        events.record(
            "role:invite",
            user=actor.user,
            project=project,
            origin=origin,
            invitee=invitee.username,
            role=role_name,
        )
        context = {
            "inviter": actor.account.username,
            "role": role_name,
            "project": project.name,
            "expires": invitation.expires,
        }
        transaction.on_commit(lambda: notify_account(invitee, "role-invitation", context))
    return invitation


def accept_invitation(*, actor: authz.Actor, invitation: RoleInvitation, origin: Origin) -> Role:
    """Turn the invitation into a role, if it is the actor's, still valid, and the gate agrees."""
    _check_invitee(actor, invitation)
    project = invitation.project
    authz.require(actor, authz.Action.ACCEPT_ROLE, project)
    with transaction.atomic():
        role, _ = Role.objects.get_or_create(
            user=actor.account, project=project, defaults={"role_name": invitation.role_name}
        )
        invitation.delete()
        notified = notifications.collaborator_added(
            project, actor.account, actor.account, role.role_name, invited_by=invitation.invited_by
        )
        _record_role_change(
            actor, role, origin, tag="role:add",
            entry=f"add {role.role_name} {actor.account.username}", role=role.role_name,
            notified=notified,
        )  # fmt: skip
    return role


def decline_invitation(*, actor: authz.Actor, invitation: RoleInvitation, origin: Origin) -> None:
    """The invitee says no; the owners see that in the project's history."""
    _check_invitee(actor, invitation)
    with transaction.atomic():
        invitation.delete()
        events.record(
            "role:decline_invite",
            user=actor.user,
            project=invitation.project,
            origin=origin,
            role=invitation.role_name,
        )


def _check_invitee(actor: authz.Actor, invitation: RoleInvitation) -> None:
    if invitation.invitee_id != actor.account.pk:
        raise PackagingError("This invitation is not addressed to you.", 404)
    if invitation.is_expired():
        raise PackagingError(
            f"This invitation to '{invitation.project.name}' has expired. "
            "Ask an owner of the project to invite you again."
        )


def revoke_invitation(*, actor: authz.Actor, invitation: RoleInvitation, origin: Origin) -> None:
    """An owner withdraws an invitation that has not been answered yet."""
    authz.require(actor, _managing_roles(actor), invitation.project)
    with transaction.atomic():
        invitation.delete()
        events.record(
            "role:revoke_invite",
            user=actor.user,
            project=invitation.project,
            origin=origin,
            invitee=invitation.invitee.username,
            role=invitation.role_name,
        )


def _keep_an_owner(role: Role, consequence: str) -> None:
    """Refuse to take the last owner away (the gate's ``last_owner``); locks the owners so two
    removals cannot race."""
    project = role.project
    owners = Role.objects.select_for_update().filter(project=project, role_name=RoleName.OWNER)
    decision = authz.keep_an_owner(role, owners=owners.count())
    if not decision.allowed:
        raise authz.Refused(
            authz.with_reason(
                decision,
                f"'{role.user.username}' is the last owner of '{project.name}' and {consequence}",
            )
        )


def grant_role(
    *, actor: authz.Actor, project: Project, user: User, role_name: str, origin: Origin
) -> Role:
    """An administrator gives ``user`` a role directly, without an invitation.

    The grant accepts on the person's behalf, so the gate must let *them* accept the role (a
    critical project's maintainer needs 2FA, a project that requires 2FA likewise), as well as
    let the administrator manage the roles. Owners invite instead (:func:`invite`).
    """
    authz.require(actor, authz.Action.ADMIN_MANAGE_ROLES, project)
    if role_name not in RoleName.values:
        raise PackagingError(f"'{role_name}' is not a role. Choose Owner or Maintainer.")
    authz.require(authz.Actor(user=user), authz.Action.ACCEPT_ROLE, project)
    with transaction.atomic():
        role, created = Role.objects.get_or_create(
            user=user, project=project, defaults={"role_name": role_name}
        )
        if not created:
            raise PackagingError(f"'{user.username}' already has a role on '{project.name}'.")
        RoleInvitation.objects.filter(project=project, invitee=user).delete()
        notified = notifications.collaborator_added(project, actor.user, user, role_name)
        _record_role_change(
            actor, role, origin, tag="role:add",
            entry=f"add {role_name} {user.username}", role=role_name, notified=notified,
        )  # fmt: skip
    return role


def _record_role_change(
    actor: authz.Actor, target: Role, origin: Origin, *, tag: str, entry: str, **details
) -> None:
    """Journal a role change (the serial moves) and leave it in the project's history."""
    journal(target.project, entry, user=actor.user)
    events.record(
        tag,
        user=actor.user,
        project=target.project,
        origin=origin,
        username=target.user.username,
        **details,
    )


def remove_role(*, actor: authz.Actor, role: Role, origin: Origin) -> None:
    """Take a role away. The last owner stays: a project must always have someone to manage it."""
    authz.require(actor, _managing_roles(actor), role.project)
    with transaction.atomic():
        _keep_an_owner(role, "cannot be removed. Invite another owner first.")
        role.delete()
        notified = notifications.collaborator_removed(
            role.project, actor.user, role.user, role.role_name
        )
        _record_role_change(
            actor, role, origin, tag="role:remove",
            entry=f"remove {role.role_name} {role.user.username}", role=role.role_name,
            notified=notified,
        )  # fmt: skip


def change_role(*, actor: authz.Actor, role: Role, role_name: str, origin: Origin) -> Role:
    """Make a Maintainer an Owner or the other way round. The last owner stays an owner."""
    authz.require(actor, _managing_roles(actor), role.project)
    if role_name not in RoleName.values:
        raise PackagingError(f"'{role_name}' is not a role. Choose Owner or Maintainer.")
    if role.role_name == role_name:
        return role
    with transaction.atomic():
        _keep_an_owner(role, "must stay an owner. Make someone else an owner first.")
        previous, role.role_name = role.role_name, role_name
        role.save(update_fields=["role_name"])
        notified = notifications.role_changed(
            role.project, actor.user, role.user, previous, role_name
        )
        _record_role_change(
            actor, role, origin, tag="role:change",
            entry=f"change {previous} {role.user.username} to {role_name}",
            role=role_name, previous_role=previous, notified=notified,
        )  # fmt: skip
    return role


def _with_setting(project: Project, **changes) -> Project:
    """A copy of the project as it would be after ``changes``, for asking the gate ahead."""
    preview = copy(project)
    for field, value in changes.items():
        setattr(preview, field, value)
    return preview


def set_requires_two_factor(
    *, actor: authz.Actor, project: Project, enabled: bool, origin: Origin
) -> None:
    """Store the owners' wish that every maintainer uses 2FA. Enforcement is the gate's job.

    Before turning it on, ask the gate whether the owner could still manage the project with the
    setting in force, so nobody locks themselves (and every other owner without 2FA) out.
    """
    authz.require(actor, authz.Action.SETTINGS, project)
    if project.requires_two_factor == enabled:
        return
    if enabled:
        decision = authz.may(
            actor, authz.Action.SETTINGS, _with_setting(project, requires_two_factor=True)
        )
        if not decision.allowed:
            reason = f"You would lock yourself out. {decision.reason}"
            raise authz.Refused(authz.with_reason(decision, reason))
    with transaction.atomic():
        project.requires_two_factor = enabled
        project.save(update_fields=["requires_two_factor"])
        events.record(
            "require_2fa:enabled" if enabled else "require_2fa:disabled",
            user=actor.user,
            project=project,
            origin=origin,
        )


def delete_release(
    *, actor: authz.Actor, project: Project, version: str, confirm: str, reason: str, origin: Origin
) -> DeletionRecord:
    """Delete a release and all its files, once the owner has typed its version."""
    authz.require(actor, authz.Action.DELETE, project)
    release = find_release(project, version)
    if release is None:
        raise PackagingError(f"Project '{project.name}' has no release '{version}'.", 404)
    _check_confirmation(confirm, release.version)
    return _delete(actor, project, release, list(release.files.all()), reason, origin)


def delete_file(
    *,
    actor: authz.Actor,
    project: Project,
    filename: str,
    confirm: str,
    reason: str,
    origin: Origin,
) -> DeletionRecord:
    """Delete one file, once the owner has typed its filename. The name stays reserved."""
    authz.require(actor, authz.Action.DELETE, project)
    file = (
        File.objects.select_related("release")
        .filter(release__project=project, filename=filename)
        .first()
    )
    if file is None:
        raise PackagingError(f"Project '{project.name}' has no file '{filename}'.", 404)
    _check_confirmation(confirm, file.filename)
    return _delete(actor, project, file.release, [file], reason, origin, whole_release=False)


def delete_project(
    *, actor: authz.Actor, project: Project, confirm: str, reason: str, origin: Origin
) -> DeletionRecord:
    """Delete a project, once an owner has typed its name: every release and file, the roles,
    and the project itself.

    As on PyPI the name is then free to register again, but what made it safe stays behind:
    every filename stays reserved, and the journal and the deletion record keep the history. A
    critical name stays critical (designations belong to the name, not to the project row) and
    stays with its maintainers; deleting a critical project waits for an admin's approval, like
    deleting the last of its files.
    """
    authz.require(actor, authz.Action.DELETE, project)
    _check_confirmation(confirm, project.name)
    reason = _required_reason(reason)
    files = list(File.objects.filter(release__project=project).select_related("release"))
    critical_deletions.require_approval(
        actor=actor, project=project, release=None, files=files, reason=reason
    )
    return remove_project(project, user=actor.account, reason=reason, origin=origin, files=files)


def remove_project(
    project: Project, *, user: User, reason: str, origin: Origin, files: list[File] | None = None
) -> DeletionRecord:
    """The deletion itself, for an owner the gate let through or for an admin: rows, bytes,
    reservations, history and pages, all or nothing."""
    if files is None:
        files = list(File.objects.filter(release__project=project).select_related("release"))
    name = project.normalized_name
    filenames = [file.filename for file in files]
    with transaction.atomic():
        _reserve(filenames, name)
        record = DeletionRecord.objects.create(
            project=None,
            project_name=name,
            version="",
            filenames=filenames,
            whole_release=True,
            reason=reason,
            deleted_by=user,
        )
        journal(project, "remove project", user=user)
        releases = sorted({file.release.version for file in files})
        events.record(
            "project:remove",
            user=user,
            project=project,
            origin=origin,
            project_name=name,
            releases=releases,
            filenames=filenames,
            reason=reason,
            notified=notifications.project_deleted(project, user, releases, reason),
        )
        project.delete()
        _discard_after_commit(name, files)
    return record


def _discard_after_commit(project_name: str, files: list[File]) -> None:
    """The rows are gone; then the bytes, so no URL keeps serving them (nor a quarantine's
    end brings them back)."""
    keys = [key for file in files for key in (file.path, file.metadata_path) if key]
    transaction.on_commit(lambda: storage.discard(project_name, keys))


def _required_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise PackagingError("Say why you are deleting it; the reason is kept.")
    return reason


def _reserve(filenames: list[str], project_name: str) -> None:
    """A deleted filename can never be uploaded again, by anyone."""
    for filename in filenames:
        FilenameReservation.objects.get_or_create(
            filename=filename, defaults={"project_name": project_name}
        )


def _check_confirmation(confirm: str, expected: str) -> None:
    if confirm.strip() != expected:
        raise PackagingError(f"Type '{expected}' exactly to confirm the deletion.")


def _delete(
    actor: authz.Actor,
    project: Project,
    release: Release,
    files: list[File],
    reason: str,
    origin: Origin,
    *,
    whole_release: bool = True,
) -> DeletionRecord:
    reason = _required_reason(reason)
    critical_deletions.require_approval(
        actor=actor, project=project, release=release, files=files, reason=reason
    )
    return remove_files(
        project,
        release,
        files,
        user=actor.account,
        reason=reason,
        origin=origin,
        whole_release=whole_release,
    )


def remove_files(
    project: Project,
    release: Release,
    files: list[File],
    *,
    user: User,
    reason: str,
    origin: Origin,
    whole_release: bool = True,
) -> DeletionRecord:
    """The deletion of a release (or some of its files) itself, for an owner the gate let
    through or for an admin."""
    filenames = [file.filename for file in files]
    with transaction.atomic():
        _reserve(filenames, project.normalized_name)
        record = DeletionRecord.objects.create(
            project=project,
            project_name=project.normalized_name,
            version=release.version,
            filenames=filenames,
            whole_release=whole_release,
            reason=reason,
            deleted_by=user,
        )
        if whole_release:
            release.delete()
            journal(project, "remove release", version=release.version, user=user)
        else:
            File.objects.filter(pk__in=[file.pk for file in files]).delete()
            for filename in filenames:
                journal(project, f"remove file {filename}", version=release.version, user=user)
        events.record(
            "release:remove" if whole_release else "file:remove",
            user=user,
            project=project,
            origin=origin,
            version=release.version,
            filenames=filenames,
            reason=reason,
            notified=notifications.files_deleted(
                project, user, release.version, filenames, reason, whole_release=whole_release
            ),
        )
        _discard_after_commit(project.normalized_name, files)
    return record


def set_yanked(
    *,
    actor: authz.Actor,
    project: Project,
    version: str,
    yanked: bool,
    reason: str = "",
    origin: Origin = CLI,
) -> Release:
    """Yank or unyank a release, as an owner or as the operator (``authz.Actor.operator()``).

    The operator's change has no user; its event says the operator made it."""
    authz.require(actor, authz.Action.YANK, project)
    with transaction.atomic():
        release = find_release(project, version)
        if release is None:
            raise PackagingError(f"Project '{project.name}' has no release '{version}'.", 404)
        user = actor.user
        # Journalled first: it locks the project's row before this locks the release's, the
        # order an upload into the release takes (the other order deadlocks on PostgreSQL).
        journal(
            project,
            "yank release" if yanked else "unyank release",
            version=release.version,
            user=user,
        )
        release.yanked = yanked
        release.yanked_reason = reason if yanked else ""
        release.save(update_fields=["yanked", "yanked_reason"])
        events.record(
            "release:yank" if yanked else "release:unyank",
            user=user,
            project=project,
            origin=origin,
            version=release.version,
            reason=reason,
            **({"actor": actor.kind} if user is None else {}),
            notified=notifications.release_yanked(project, user, release.version, yanked, reason),
        )
    return release
