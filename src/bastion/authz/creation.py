"""Creating a project: which names nobody may take, how many projects one account or address
may create, and the gate's answer for the name about to be created.

It sits above the critical app (a name that looks like a protected one is refused) and the
upstream index (a name the upstream has is dependency confusion unless allowed), which is why
it is not part of the packaging app's services.
"""

import sys
import time

from django.conf import settings

from bastion import authz
from bastion.accounts import ratelimit
from bastion.critical.models import Designation
from bastion.events import services as events
from bastion.events.services import CLI, Origin
from bastion.packaging.models import Project, Role, RoleName, Ultranormalized
from bastion.packaging.services import (
    PackagingError,
    is_valid_project_name,
    journal_all,
    normalize,
)
from bastion.upstream.services import upstream_clash

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
    alike = list(  # the name itself, if protected, looks like itself: one query answers both
        Designation.objects.active()
        .annotate(ultranormalized=Ultranormalized("normalized_name"))
        .filter(ultranormalized=ultranormalize(name))
        .order_by("normalized_name")
        .values_list("normalized_name", flat=True)
    )
    if normalize(name) in alike:
        return None
    return alike[0] if alike else None


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
    """Count the creation if within the limits, else raise ``ratelimit.RateLimited``.

    Counted in the caller's transaction: a creation that is rolled back does not count. The
    limits were checked before (an upload checks them before it reads the archive), but
    concurrent creations may have used them up meanwhile: each is judged on the count that
    includes it."""
    now = time.time()
    ratelimit.PROJECTS_PER_ACCOUNT.attempt(str(user.pk), TOO_MANY_NEW_PROJECTS, now)
    if origin.ip_address:
        try:
            ratelimit.PROJECTS_PER_IP.attempt(origin.ip_address, TOO_MANY_NEW_PROJECTS, now)
        except ratelimit.RateLimited:  # a refused creation counts against neither limit
            ratelimit.PROJECTS_PER_ACCOUNT.take_back(str(user.pk), now)
            raise


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
    journalled: bool = True,
) -> Project:
    """Create a project named ``name`` (its display name) with the actor's user as Owner.

    Call inside the caller's transaction: the project only exists together with whatever the
    caller creates next (the first file of an upload), so a refused upload leaves no project.
    Raises ``ratelimit.RateLimited`` past the creation limits unless ``ratelimited`` is False.
    ``checked`` is what :func:`check_new_project` answered this caller for this actor and name
    (an upload asks before it reads the archive); without it the name and the gate are checked
    here. A caller that journals as its last step (an upload: journalling holds a lock to the
    commit) passes ``journalled=False`` and journals :func:`creation_entries` itself.
    """
    if checked is None or not checked.allowed:
        check_new_project(actor, name)
    project = Project(name=name, normalized_name=normalize(name))
    if ratelimited:
        _count_project_creation(actor.account, origin)
    project.save()
    Role.objects.create(user=actor.account, project=project, role_name=RoleName.OWNER)
    if journalled:
        journal_all(project, creation_entries(actor), user=actor.account)
    events.record("project:create", user=actor.account, project=project, origin=origin)
    return project


def creation_entries(actor: authz.Actor) -> list[tuple[str, str]]:
    """The journal entries (action, version) of a project's creation by ``actor``."""
    return [("create", ""), (f"add {RoleName.OWNER} {actor.account.username}", "")]
