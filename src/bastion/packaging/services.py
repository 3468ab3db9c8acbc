"""What the packaging app does: names, journal serials, yanking and role bookkeeping."""

import logging
import re
import sys

from django.conf import settings
from django.db import transaction
from packaging.utils import canonicalize_name, canonicalize_version

from bastion.accounts import ratelimit
from bastion.critical.models import Designation
from bastion.events import services as events
from bastion.events.services import CLI, Origin
from bastion.packaging import authz, notifications, storage
from bastion.packaging.models import (
    File,
    JournalEntry,
    Project,
    ProjectStatus,
    Release,
    Role,
    RoleName,
    Ultranormalized,
)
from bastion.packaging.signals import project_changed

logger = logging.getLogger(__name__)

_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE)


class PackagingError(Exception):
    """Bad input people read (a mistyped name, nothing to delete): ``status`` is the HTTP status,
    the message says what to do. The gate's refusals are ``authz.Refused`` instead."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def is_valid_project_name(name: str) -> bool:
    return bool(_VALID_NAME.match(name)) and name.isascii()


def normalize(name: str) -> str:
    return canonicalize_name(name)


#: Letters people mistake for digits, folded the way PyPI's ``ultranormalize_name`` does.
_CONFUSABLE = str.maketrans({"l": "1", "i": "1", "o": "0"})


def ultranormalize(name: str) -> str:
    """The key under which names that look alike collide: no separators, l/I as 1, o as 0."""
    return normalize(name).replace("-", "").translate(_CONFUSABLE)


def _stdlib_names() -> frozenset[str]:
    return frozenset(normalize(module) for module in sys.stdlib_module_names)


def _confusable_project(name: str) -> Project | None:
    """An existing project whose name differs from ``name`` but looks the same."""
    return (
        Project.objects.annotate(ultranormalized=Ultranormalized("normalized_name"))
        .filter(ultranormalized=ultranormalize(name))
        .exclude(normalized_name=normalize(name))
        .first()
    )


def _confusable_protected_name(name: str) -> str | None:
    """A protected name that differs from ``name`` but looks the same.

    Protected are the names of every active designation, hosted here or not: critical by
    downloads or dependency (often designated from imported data before anyone uploads here),
    designated by an admin, and the names of deleted critical projects kept for their former
    maintainers. Without this, ``ghostpkg`` could pre-empt the critical ``ghost-pkg`` and the
    rightful maintainer would then be refused as too similar. A name that is itself protected is
    its own rightful claim and is not refused for resembling another protected name; the mandate
    (``bastion.critical.enforcement.for_project``) decides who may create it.
    """
    normalized = normalize(name)
    protected = Designation.objects.active()
    if protected.filter(normalized_name=normalized).exists():
        return None
    return (
        protected.annotate(ultranormalized=Ultranormalized("normalized_name"))
        .filter(ultranormalized=ultranormalize(name))
        .values_list("normalized_name", flat=True)
        .first()
    )


def validate_new_project_name(name: str) -> None:
    """Refuse names nobody may create: invalid, a stdlib module, confusable with a project or
    with a protected (critical or reserved) name, or on the upstream index unless allowed."""
    help_url = f"{settings.BASE_URL}/help/#project-name"
    if not is_valid_project_name(name):
        raise PackagingError(
            f"The name '{name}' is invalid: start and end with a letter or numeral containing "
            "only ASCII numeric and '.', '_' and '-'."
        )
    if normalize(name) in _stdlib_names():
        raise PackagingError(
            f"The name '{name}' isn't allowed (conflict with Python Standard Library module "
            f"name). See {help_url} for more information."
        )
    if _confusable_project(name) is not None:
        raise PackagingError(
            f"The name '{name}' is too similar to an existing project. "
            f"See {help_url} for more information."
        )
    protected = _confusable_protected_name(name)
    if protected is not None:
        raise PackagingError(
            f"The name '{name}' is too similar to '{protected}', a name reserved for a critical "
            f"project. See {help_url} for more information."
        )
    from bastion.upstream.services import upstream_clash  # it builds on this module

    clash = upstream_clash(name)
    if clash is not None:  # dependency confusion: a local name would shadow the upstream's
        raise PackagingError(clash, status=403)


TOO_MANY_NEW_PROJECTS = "Too many new projects created."


def check_project_creation_limits(user, origin: Origin) -> None:
    """Raise ``ratelimit.RateLimited`` when the account or the address (if there is one, so not
    the command line) has created too many projects lately, as PyPI limits both."""
    ratelimit.PROJECTS_PER_ACCOUNT.check(str(user.pk), TOO_MANY_NEW_PROJECTS)
    if origin.ip_address:
        ratelimit.PROJECTS_PER_IP.check(origin.ip_address, TOO_MANY_NEW_PROJECTS)


def _count_project_creation(user, origin: Origin) -> None:
    """Counted in the caller's transaction: a creation that is rolled back does not count."""
    ratelimit.PROJECTS_PER_ACCOUNT.hit(str(user.pk))
    if origin.ip_address:
        ratelimit.PROJECTS_PER_IP.hit(origin.ip_address)


def check_new_project(actor: authz.Actor, name: str) -> authz.Decision:
    """Whether ``actor`` may create a project named ``name``: the name's rules, then the gate.

    Raises :class:`PackagingError` for a name nobody may create and ``authz.Refused`` when the
    gate refuses; returns the gate's decision (with any warning) otherwise.
    """
    validate_new_project_name(name)
    unsaved = Project(name=name, normalized_name=normalize(name))
    return authz.require(actor, authz.Action.CREATE_PROJECT, unsaved)


def create_project(
    *,
    actor: authz.Actor,
    name: str,
    origin: Origin = CLI,
    ratelimited: bool = True,
    checked: authz.Decision | None = None,
) -> Project:
    """Create a project named ``name`` (its display name) with the actor's user as Owner.

    Call inside the caller's transaction: the project only exists together with whatever the
    caller creates next (the first file of an upload), so a refused upload leaves no project.
    Raises ``ratelimit.RateLimited`` past the creation limits unless ``ratelimited`` is False.
    ``checked`` is what :func:`check_new_project` answered this caller for this actor and name
    (an upload asks before it reads the archive); without it the name and the gate are checked
    here.
    """
    if checked is None or not checked.allowed:
        check_new_project(actor, name)
    project = Project(name=name, normalized_name=normalize(name))
    if ratelimited:
        check_project_creation_limits(actor.user, origin)
        _count_project_creation(actor.user, origin)
    project.save()
    Role.objects.create(user=actor.user, project=project, role_name=RoleName.OWNER)
    journal(project, "create", user=actor.user)
    journal(project, f"add {RoleName.OWNER} {actor.user.username}", user=actor.user)
    events.record("project:create", user=actor.user, project=project, origin=origin)
    return project


def get_project(name: str) -> Project | None:
    return Project.objects.filter(normalized_name=normalize(name)).first()


def journal(project: Project, action: str, *, version: str = "", user=None) -> int:
    """Record a change and bump the project's serial; pages are re-rendered after commit."""
    entry = JournalEntry.objects.create(
        project_name=project.normalized_name, action=action, version=version, submitted_by=user
    )
    Project.objects.filter(pk=project.pk).update(last_serial=entry.pk)
    project.last_serial = entry.pk
    _announce_after_commit(project.normalized_name)
    return entry.pk


class _Announcement:
    """Sends ``project_changed`` for one project once the transaction has committed, unless a
    later announcement of the same project in the same transaction superseded it."""

    def __init__(self, normalized_name: str):
        self.normalized_name = normalized_name
        self.superseded = False

    def __call__(self) -> None:
        if not self.superseded:
            project_changed.send(sender=Project, normalized_name=self.normalized_name)


def _announce_after_commit(normalized_name: str) -> None:
    """Announce a change once per transaction, however many entries it journals.

    An upload journals up to four (the project, its owner, the release, the file), and each
    announcement re-reads the project in every receiver. The new announcement supersedes those
    pending for this project that were registered at this savepoint level or in savepoints
    released into it: a rollback drops those and the new one together, or none of them.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        level = set(connection.savepoint_ids)
        # Django's pending callbacks, each with the savepoints open when it was registered;
        # tests/packaging/test_journal.py fails if that shape changes.
        for sids, callback, _ in connection.run_on_commit:
            if (
                isinstance(callback, _Announcement)
                and callback.normalized_name == normalized_name
                and sids >= level
            ):
                callback.superseded = True
    transaction.on_commit(_Announcement(normalized_name))


def place_files_for_status(*, normalized_name: str, **_signal_kwargs) -> None:
    """``project_changed`` receiver: a quarantined project offers no files (PEP 792), so its
    files leave the served directory, and they come back when the quarantine ends."""
    try:
        project = Project.objects.filter(normalized_name=normalized_name).first()
        if project is None:
            return
        if project.status != ProjectStatus.QUARANTINED:
            storage.restore(normalized_name)
            return
        stored = File.objects.filter(release__project=project).values_list("path", "metadata_path")
        storage.withhold(normalized_name, [key for keys in stored for key in keys if key])
    except Exception:
        logger.exception("could not place the files of %s for its status", normalized_name)


def last_serial() -> int:
    latest = JournalEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    return latest or 0


def find_release(project: Project, version: str) -> Release | None:
    return project.releases.filter(canonical_version=canonicalize_version(version)).first()


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
        release.yanked = yanked
        release.yanked_reason = reason if yanked else ""
        release.save(update_fields=["yanked", "yanked_reason"])
        user = actor.user
        journal(
            project,
            "yank release" if yanked else "unyank release",
            version=release.version,
            user=user,
        )
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
