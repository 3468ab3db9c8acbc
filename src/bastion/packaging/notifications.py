"""Telling a project's people that it changed, so a takeover through one account is seen by all.

One function per kind of change, each taking the project, the actor and what changed, all built
on :func:`tell`. The services call them (not the views), so the web pages, the admin and the CLI
notify alike. As on PyPI:

- changes to who may publish (roles, tokens, trusted publishers, deletion requests) go to the
  project's **owners**, and the person whose role changed gets a mail of their own;
- changes to what the project serves (yanks, deletions) go to **everyone with a role**, so the
  maintainer who uploaded a release learns that it was yanked or deleted.

The actor is not left out: a mail to the account that made the change is the only sign its
rightful owner gets when someone else acted through a stolen session or password, which is the
takeover these mails exist for. Only verified addresses get mail, as for the account mails.

Recipients are chosen when the change is made (a deleted project's roles go with it) and the
mail is handed to the task queue once the change has committed, so a refused or rolled-back
change tells nobody. Each function returns the usernames it told, for the security event.

A later kind of change is one call, as :func:`publisher_added` shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bastion.accounts import mail
from bastion.accounts.models import Email, User
from bastion.packaging.models import Project, Role, RoleName

MESSAGE = "project-changed"


class Audience(Enum):
    """Who of the project's people hear about a change."""

    OWNERS = "owners"
    EVERYONE_WITH_A_ROLE = "everyone with a role"


@dataclass(frozen=True)
class Notice:
    """What one mail says: a short headline for the subject, a sentence, and labelled facts."""

    headline: str
    summary: str
    details: tuple[tuple[str, str], ...] = ()
    #: Point to the project's security history (not for a project that no longer exists).
    history: bool = True


def tell(
    project: Project,
    actor: User | None,
    notice: Notice,
    *,
    audience: Audience = Audience.OWNERS,
    affected: User | None = None,
    affected_notice: Notice | None = None,
) -> list[str]:
    """Mail ``audience`` of ``project`` (and ``affected``, with its own notice) after commit.

    Returns the usernames that will get a mail (those with a verified address), sorted.
    """
    roles = Role.objects.filter(project=project, user__is_active=True).select_related("user")
    if audience is Audience.OWNERS:
        roles = roles.filter(role_name=RoleName.OWNER)
    people = {role.user: role.role_name for role in roles if role.user != affected}
    addresses = _verified_addresses([*people, *([affected] if affected is not None else [])])
    told: set[str] = set()
    for role_name in RoleName.values:
        group = [user for user, held in people.items() if held == role_name]
        because = f"you are {_a(role_name)} of {project.name}"
        told |= _send(project, actor, notice, group, addresses, because)
    if affected is not None and affected.is_active:
        because = f"your role on {project.name} changed"
        told |= _send(project, actor, affected_notice or notice, [affected], addresses, because)
    return sorted(told)


def _send(
    project: Project,
    actor: User | None,
    notice: Notice,
    users: list[User],
    addresses: dict[int, list[str]],
    because: str,
) -> set[str]:
    """Queue one mail to the verified addresses of ``users``; the usernames it reaches."""
    reached = [user for user in users if addresses.get(user.pk)]
    if not reached:
        return set()
    to = [address for user in reached for address in addresses[user.pk]]
    context = {
        "project": project.name,
        "history": reverse("project_history", args=[project.normalized_name])
        if notice.history
        else "",
        "headline": notice.headline,
        "summary": notice.summary,
        "details": [("Project", project.name), *notice.details, ("By", _name(actor))],
        "time": timezone.now(),
        "because": because,
    }
    transaction.on_commit(lambda: mail.send_later(MESSAGE, to, context))
    return {user.username for user in reached}


def _verified_addresses(users: Iterable[User]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    emails = Email.objects.filter(user__in=list(users), verified=True).order_by("email")
    for user_id, address in emails.values_list("user_id", "email"):
        found.setdefault(user_id, []).append(address)
    return found


def _name(actor: User | None) -> str:
    return actor.username if actor is not None else "an operator at the command line"


def _a(role_name: str) -> str:
    return f"an {role_name.lower()}" if role_name[0] in "AEIOU" else f"a {role_name.lower()}"


# ---------------------------------------------------------------------------------------------
# Who may publish: the owners hear, and the person whose role it is.


def collaborator_added(
    project: Project,
    actor: User | None,
    user: User,
    role: str,
    *,
    invited_by: User | None = None,
) -> list[str]:
    """``user`` now holds ``role`` (an accepted invitation, or an admin's edit)."""
    invited = (("Invited by", invited_by.username),) if invited_by is not None else ()
    return tell(
        project,
        actor,
        Notice(
            f"{user.username} added as {role}",
            f"{user.username} was added as {_a(role)} of {project.name}.",
            (("Collaborator", user.username), ("Role", role), *invited),
        ),
        affected=user,
        affected_notice=Notice(
            f"you were added as {role}",
            f"You were added as {_a(role)} of {project.name}: you may now publish to it.",
            (("Role", role),),
        ),
    )


def collaborator_removed(project: Project, actor: User | None, user: User, role: str) -> list[str]:
    """``user`` lost their ``role``."""
    return tell(
        project,
        actor,
        Notice(
            f"{user.username} removed",
            f"{user.username} was removed as {_a(role)} of {project.name}.",
            (("Collaborator", user.username), ("Role", role)),
        ),
        affected=user,
        affected_notice=Notice(
            "you were removed",
            f"You were removed as {_a(role)} of {project.name} and may no longer publish to it.",
            (("Role", role),),
            history=False,  # no longer theirs to see
        ),
    )


def role_changed(
    project: Project, actor: User | None, user: User, previous: str, role: str
) -> list[str]:
    """``user``'s role went from ``previous`` to ``role``."""
    return tell(
        project,
        actor,
        Notice(
            f"{user.username} is now {role}",
            f"The role of {user.username} on {project.name} changed from {previous} to {role}.",
            (("Collaborator", user.username), ("Role", f"{previous} -> {role}")),
        ),
        affected=user,
        affected_notice=Notice(
            f"you are now {role}",
            f"Your role on {project.name} changed from {previous} to {role}.",
            (("Role", f"{previous} -> {role}"),),
        ),
    )


def token_created(project: Project, actor: User, token_name: str) -> list[str]:
    """A token that can upload to ``project`` was made (its secret is never mailed)."""
    return tell(
        project,
        actor,
        Notice(
            "API token created",
            f"{actor.username} created an API token that can upload to {project.name}.",
            (("Token", token_name), ("Owner of the token", actor.username)),
        ),
    )


def deletion_requested(project: Project, actor: User, version: str, reason: str) -> list[str]:
    """An owner asked to delete what a critical project serves; an admin must approve it."""
    what = f"release {version}" if version else "the whole project"
    return tell(
        project,
        actor,
        Notice(
            f"deletion of {what} requested",
            f"{actor.username} asked to delete {what} of the critical project {project.name}. "
            "It waits for an administrator's approval.",
            (("Deleting", what), ("Reason", reason)),
        ),
    )


def deletion_decided(
    project: Project, admin: User, version: str, approved: bool, note: str
) -> list[str]:
    """An admin approved or rejected a waiting deletion request."""
    what = f"release {version}" if version else "the whole project"
    decision = "approved" if approved else "rejected"
    return tell(
        project,
        admin,
        Notice(
            f"deletion of {what} {decision}",
            f"An administrator {decision} the request to delete {what} of {project.name}."
            + (" An owner may now delete it." if approved else ""),
            (("Deleting", what), ("Decision", decision), ("Note", note or "none")),
        ),
    )


# ---------------------------------------------------------------------------------------------
# What the project serves: everyone with a role hears.


def release_yanked(
    project: Project, actor: User | None, version: str, yanked: bool, reason: str
) -> list[str]:
    """A release was yanked (installers skip it) or restored."""
    change = "yanked" if yanked else "unyanked"
    details = (("Release", version),) + ((("Reason", reason or "none given"),) if yanked else ())
    return tell(
        project,
        actor,
        Notice(
            f"release {version} {change}",
            f"Release {version} of {project.name} was {change}.",
            details,
        ),
        audience=Audience.EVERYONE_WITH_A_ROLE,
    )


def files_deleted(
    project: Project,
    actor: User | None,
    version: str,
    filenames: list[str],
    reason: str,
    *,
    whole_release: bool,
) -> list[str]:
    """A release with all its files, or some files of it, were deleted."""
    what = f"release {version}" if whole_release else f"{len(filenames)} file(s) of {version}"
    summary = (
        f"Release {version} of {project.name} was deleted with all its files."
        if whole_release
        else f"{len(filenames)} file(s) of release {version} of {project.name} were deleted."
    )
    return tell(
        project,
        actor,
        Notice(
            f"{what} deleted",
            f"{summary} Their filenames can never be uploaded again.",
            (("Release", version), ("Files", ", ".join(filenames)), ("Reason", reason)),
        ),
        audience=Audience.EVERYONE_WITH_A_ROLE,
    )


def project_deleted(
    project: Project, actor: User | None, releases: list[str], reason: str
) -> list[str]:
    """The whole project was deleted; call before its roles go with it."""
    return tell(
        project,
        actor,
        Notice(
            "project deleted",
            f"The project {project.name} was deleted with all its releases and files.",
            (("Releases", ", ".join(releases) or "none"), ("Reason", reason)),
            history=False,
        ),
        audience=Audience.EVERYONE_WITH_A_ROLE,
    )


def publisher_added(
    project: Project, actor: User | None, publisher: str, *, pending: bool = False
) -> list[str]:
    """A trusted publisher may now upload to ``project`` from CI, with no person's token."""
    how = (
        f"The trusted publisher {publisher} registered by {_name(actor)} created {project.name} "
        "when its CI job first asked for an upload token, and may publish it."
        if pending
        else f"{_name(actor)} added the trusted publisher {publisher} to {project.name}: its CI "
        "jobs may now upload releases."
    )
    return tell(
        project,
        actor,
        Notice(f"trusted publisher {publisher} added", how, (("Publisher", publisher),)),
    )


def publisher_removed(project: Project, actor: User | None, publisher: str) -> list[str]:
    """A trusted publisher may no longer upload; its live upload tokens went with it."""
    return tell(
        project,
        actor,
        Notice(
            f"trusted publisher {publisher} removed",
            f"{_name(actor)} removed the trusted publisher {publisher} from {project.name}.",
            (("Publisher", publisher),),
        ),
    )
