"""What the 2FA mandate says about one actor and one project, for the gate and the warnings.

The gate's ``two_factor_mandate`` rule (``bastion.authz``) turns a :class:`Verdict` into
its Decision; the banner, the upload notice and the reminder mail read the same verdicts, so a
warning and a refusal can never disagree about the facts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from bastion.critical.models import Designation
from bastion.critical.policy import Policy
from bastion.mfa.services import has_two_factor
from bastion.packaging.models import Role

if TYPE_CHECKING:
    from bastion.accounts.models import User
    from bastion.packaging.models import Project

#: Where people enable a second factor; every refusal and warning points here.
TWO_FACTOR_PATH = "/manage/account/two-factor/"


def two_factor_url() -> str:
    return f"{settings.BASE_URL}{TWO_FACTOR_PATH}"


class Outcome(enum.Enum):
    ALLOW = "allow"
    WARN = "warn"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str = ""
    reserved: bool = False  # refused because the name is kept for its former maintainers

    @property
    def allowed(self) -> bool:
        return self.outcome is not Outcome.REFUSE


ALLOWED = Verdict(Outcome.ALLOW)


def today() -> date:
    return timezone.localdate()


def designation_of(normalized_name: str) -> Designation | None:
    """The active designation of a name, hosted here or not."""
    return Designation.objects.active().filter(normalized_name=normalized_name).first()


def is_enforced(designation: Designation, on: date | None = None) -> bool:
    return (on or today()) >= designation.enforcement_date


def _critical_message(name: str, designation: Designation, *, enforced: bool) -> str:
    when = designation.enforcement_date.isoformat()
    if enforced and is_enforced(designation):
        return (
            f"Project '{name}' is critical: its maintainers must use two-factor authentication "
            f"since {when}. Enable it at {two_factor_url()}"
        )
    if enforced:  # creating the name or joining the project: no grace period for a newcomer
        return (
            f"Project '{name}' is critical: creating it or joining it needs two-factor "
            f"authentication now (its maintainers must use it from {when}). "
            f"Enable it at {two_factor_url()}"
        )
    return (
        f"Project '{name}' is critical: from {when} its maintainers must use two-factor "
        f"authentication, and this will be refused without it. Enable it at {two_factor_url()}"
    )


def for_everyone(user: User, policy: Policy) -> Verdict:
    """PyPI's 2024 policy, as a switch: no project-changing action without 2FA for anyone."""
    if policy.require_2fa_for_all and not has_two_factor(user):
        return Verdict(
            Outcome.REFUSE,
            "This index requires two-factor authentication for every account that changes "
            f"projects or creates tokens. Enable it at {two_factor_url()}",
        )
    return ALLOWED


def for_project(
    user: User,
    project: Project,
    designation: Designation | None,
    *,
    creating: bool,
    accepting: bool,
) -> Verdict:
    """The mandate on one project (or on a name about to be created) for one user.

    ``designation`` is the active designation of the project's name (:func:`designation_of`;
    the gate reads it together with its other facts). Creating a project under a critical name,
    and accepting a role on a critical project, need 2FA at once: nobody relies on a grace
    period for a role they do not hold yet. A deleted critical project's name can only be
    created again by the people who held it.
    """
    if designation is None:
        return ALLOWED
    stewards = designation.stewards
    if creating and stewards.exists() and not stewards.filter(pk=user.pk).exists():
        return Verdict(
            Outcome.REFUSE,
            f"The name '{project.name}' belonged to a critical project that was deleted; "
            "it is reserved for that project's former maintainers.",
            reserved=True,
        )
    if has_two_factor(user):
        return ALLOWED
    enforced = creating or accepting or is_enforced(designation)
    message = _critical_message(project.name, designation, enforced=enforced)
    return Verdict(Outcome.REFUSE if enforced else Outcome.WARN, message)


def for_publisher(
    added_with_second_factor: bool, project: Project, designation: Designation | None
) -> Verdict:
    """The mandate on a trusted publisher's upload to one project.

    A CI job has no second factor of its own: its publisher stands in for one only if whoever
    added it had one (or was the operator), as on PyPI, where adding one needs 2FA. A publisher
    added without, before the project was critical or during its grace period, is warned about
    until the mandate is enforced and refused after, until an owner with 2FA adds it again.
    """
    if designation is None or added_with_second_factor:
        return ALLOWED
    when = designation.enforcement_date.isoformat()
    enforced = is_enforced(designation)
    return Verdict(
        Outcome.REFUSE if enforced else Outcome.WARN,
        f"Project '{project.name}' is critical: {'since' if enforced else 'from'} {when} its "
        "trusted publishers must have been added by a maintainer using two-factor "
        "authentication, and this one was not. An owner with two-factor authentication must "
        f"remove it and add it again at {publishers_url(project)}",
    )


def publishers_url(project: Project) -> str:
    """Where a project's owners manage its trusted publishers."""
    return f"{settings.BASE_URL}/manage/project/{project.normalized_name}/publishing/"


@dataclass(frozen=True)
class CriticalProject:
    """A critical project someone holds a role on, and from when its mandate is enforced."""

    name: str  # the display name
    normalized_name: str
    enforcement_date: date
    designation: Designation


def critical_projects_of(user: User) -> list[CriticalProject]:
    """The one answer to "which critical projects does this user maintain (as Owner or
    Maintainer), and from when is each enforced?", ordered by name."""
    if user.pk is None:
        return []
    names = dict(
        Role.objects.filter(user=user).values_list("project__normalized_name", "project__name")
    )
    designations = Designation.objects.active().filter(normalized_name__in=list(names))
    return [
        CriticalProject(names[d.normalized_name], d.normalized_name, d.enforcement_date, d)
        for d in designations.order_by("normalized_name")
    ]


def unprotected_designations(user: User) -> list[tuple[str, Designation]]:
    """The critical projects ``user`` holds a role on, when the user has no second factor;
    the soonest enforced first."""
    if has_two_factor(user):
        return []
    critical = sorted(critical_projects_of(user), key=lambda c: c.enforcement_date)
    return [(c.name, c.designation) for c in critical]


def for_tokens(user: User) -> Verdict:
    """No token of any scope while the user maintains a critical project without 2FA.

    A token outlives the session that minted it; warehouse#11850 was exactly this hole.
    """
    at_risk = unprotected_designations(user)
    if not at_risk:
        return ALLOWED
    name, designation = at_risk[0]
    enforced = is_enforced(designation)
    verdict = Outcome.REFUSE if enforced else Outcome.WARN
    message = _critical_message(name, designation, enforced=enforced)
    if enforced:
        message = f"No token can be created while you maintain it without 2FA. {message}"
    return Verdict(verdict, message)
