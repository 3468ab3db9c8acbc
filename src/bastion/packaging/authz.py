"""The one gate: every decision about who may change what passes through :func:`may`.

Views, the upload API, token minting and invitation acceptance all ask here and nowhere else.
Rules are small, named and ordered; the first that refuses wins, with a reason a person can act on.
Later policy (two-factor requirements, the critical-project mandate, recovery freezes) is added as
rules in :data:`RULES`, so it applies to every path at once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from bastion.critical import enforcement as mandate
from bastion.critical.policy import Policy
from bastion.mfa.recovery import publishing_frozen_until
from bastion.mfa.services import PASSKEY, WEBAUTHN, has_two_factor, two_factor_methods
from bastion.packaging.models import Project, ProjectStatus, Role, RoleName

if TYPE_CHECKING:
    from bastion.accounts.models import User
    from bastion.publishing.models import Publisher
    from bastion.tokens.models import APIToken


class Action(enum.StrEnum):
    CREATE_PROJECT = "create"
    UPLOAD = "upload to"
    YANK = "yank releases of"
    DELETE = "delete from"
    MANAGE_ROLES = "manage the roles of"
    SETTINGS = "change the settings of"
    CREATE_TOKEN = "create a token for"  # noqa: S105 - an action name, not a secret
    ACCEPT_ROLE = "accept a role on"
    USE_ADMIN = "use the admin site for"


#: What each action needs: the roles that may perform it on an existing project.
REQUIRED_ROLES: dict[Action, frozenset[str]] = {
    Action.UPLOAD: frozenset({RoleName.OWNER, RoleName.MAINTAINER}),
    Action.CREATE_TOKEN: frozenset({RoleName.OWNER, RoleName.MAINTAINER}),
    Action.YANK: frozenset({RoleName.OWNER}),
    Action.DELETE: frozenset({RoleName.OWNER}),
    Action.MANAGE_ROLES: frozenset({RoleName.OWNER}),
    Action.SETTINGS: frozenset({RoleName.OWNER}),
}

#: Actions a token may authorise. Everything else needs a signed-in person.
TOKEN_ACTIONS = frozenset({Action.UPLOAD, Action.CREATE_PROJECT})


@dataclass(frozen=True)
class Actor:
    """A user acting through a session (``token`` is None) or through an API token.

    ``publisher`` is set when the token is one a trusted publisher's CI job traded for; ``user``
    is then an owner of the publisher's project, the account its uploads are recorded under.
    """

    user: User
    token: APIToken | None = None
    publisher: Publisher | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # shown to people: twine's reason phrase, the page's error
    fix_url: str | None = None
    warning: str = ""  # allowed, but people should hear this (a grace period running out)


ALLOW = Decision(True)

Rule = Callable[[Actor, Action, "Project | None"], Decision]


def _is_new(project: Project | None) -> bool:
    """A project not yet saved: the name someone is about to create. Rules still see its name."""
    return project is not None and project.pk is None


def _label(project: Project | None) -> str:
    if project is None:
        return "any project"
    return f"new project '{project.name}'" if _is_new(project) else f"project '{project.name}'"


def _trusted_publisher_upload(actor: Actor, action: Action, project: Project | None) -> bool:
    """A trusted publisher uploading to its own project. As on PyPI it needs no person's role,
    verified email or second factor: an owner who passed those rules configured it, and its CI
    job proved who it is with a token that lived minutes. Token scope, project status, the
    account's state and recovery freezes still apply."""
    return (
        actor.publisher is not None
        and action == Action.UPLOAD
        and project is not None
        and project.pk is not None
        and actor.publisher.project_id == project.pk
    )


def active_account(actor: Actor, action: Action, project: Project | None) -> Decision:
    if not actor.user.is_active:
        return Decision(False, f"The account '{actor.user.username}' is disabled.")
    return ALLOW


def email_verified(actor: Actor, action: Action, project: Project | None) -> Decision:
    if _trusted_publisher_upload(actor, action, project):
        return ALLOW
    if not actor.user.has_verified_primary_email():
        return Decision(
            False,
            f"User '{actor.user.username}' does not have a verified primary email address. "
            f"Please add a verified primary email before you {action} {_label(project)}.",
            fix_url="/manage/account/",
        )
    return ALLOW


def token_scope(actor: Actor, action: Action, project: Project | None) -> Decision:
    token = actor.token
    if token is None:
        return ALLOW
    if action not in TOKEN_ACTIONS:
        return Decision(False, f"An API token cannot be used to {action} {_label(project)}.")
    if token.project_id is None:
        return ALLOW
    if project is None or _is_new(project):
        return Decision(
            False, "This API token is scoped to one project and cannot create a new project."
        )
    if token.project_id != project.pk:
        return Decision(
            False,
            f"This API token is scoped to project '{token.project.name}' "
            f"and cannot {action} project '{project.name}'.",
        )
    return ALLOW


def has_role(actor: Actor, action: Action, project: Project | None) -> Decision:
    if _trusted_publisher_upload(actor, action, project):
        return ALLOW
    needed = REQUIRED_ROLES.get(action)
    if project is None or _is_new(project) or needed is None:
        return ALLOW
    role = Role.objects.filter(user=actor.user, project=project).values_list("role_name", flat=True)
    if not set(role) & needed:
        return Decision(
            False,
            f"The user '{actor.user.username}' isn't allowed to {action} project '{project.name}'.",
        )
    return ALLOW


def project_status(actor: Actor, action: Action, project: Project | None) -> Decision:
    if project is None or action != Action.UPLOAD:
        return ALLOW
    if project.status in (ProjectStatus.ARCHIVED, ProjectStatus.QUARANTINED):
        return Decision(
            False, f"Project '{project.name}' is {project.status}; it does not accept uploads."
        )
    return ALLOW


def two_factor_mandate(actor: Actor, action: Action, project: Project | None) -> Decision:
    """Critical projects need maintainers with 2FA (and everyone does, when the switch is on).

    During a designation's grace period the action is allowed with a warning; see
    :mod:`bastion.critical.enforcement` for who is refused what, and from when.
    """
    if _trusted_publisher_upload(actor, action, project):
        return ALLOW
    verdict = mandate.for_everyone(actor.user, Policy.from_environment())
    if verdict.allowed and action == Action.CREATE_TOKEN:
        verdict = mandate.for_tokens(actor.user)
    elif verdict.allowed and project is not None:
        verdict = mandate.for_project(
            actor.user,
            project,
            creating=_is_new(project),
            accepting=action == Action.ACCEPT_ROLE,
        )
    if not verdict.allowed:
        return Decision(False, verdict.message, fix_url=mandate.two_factor_url())
    return Decision(True, warning=verdict.message) if verdict.message else ALLOW


#: Actions that change a project, which an owner's "require 2FA" setting covers.
TWO_FACTOR_PROJECT_ACTIONS = frozenset(
    {
        Action.UPLOAD,
        Action.YANK,
        Action.DELETE,
        Action.MANAGE_ROLES,
        Action.SETTINGS,
        Action.CREATE_TOKEN,
        Action.ACCEPT_ROLE,
    }
)


def project_requires_two_factor(actor: Actor, action: Action, project: Project | None) -> Decision:
    """The owners' opt-in: every maintainer (and anyone joining) must use 2FA, tokens included."""
    if _trusted_publisher_upload(actor, action, project):
        return ALLOW
    if project is None or _is_new(project) or not project.requires_two_factor:
        return ALLOW
    if action not in TWO_FACTOR_PROJECT_ACTIONS or has_two_factor(actor.user):
        return ALLOW
    return Decision(
        False,
        f"Project '{project.name}' requires every maintainer to use two-factor authentication, "
        f"and the user '{actor.user.username}' has none, so cannot {action} it. "
        f"Enable two-factor authentication at {mandate.two_factor_url()}",
        fix_url=mandate.two_factor_url(),
    )


def recovery_freeze(actor: Actor, action: Action, project: Project | None) -> Decision:
    """After an admin reset lost factors, the account may not change anything for a while."""
    until = publishing_frozen_until(actor.user)
    if until is None:
        return ALLOW
    return Decision(
        False,
        f"The account '{actor.user.username}' had its two-factor methods reset by an "
        f"administrator, so it cannot {action} {_label(project)} until "
        f"{until:%Y-%m-%d %H:%M} UTC. If you did not ask for that reset, contact the "
        "administrators now.",
    )


def operator_second_factor(actor: Actor, action: Action, project: Project | None) -> Decision:
    """The admin opens only for staff with a second factor, since it can undo any rule here
    (remove a designation, add a role). With ``BASTION_ADMIN_REQUIRE_WEBAUTHN=1`` the factor
    must be a security key or a passkey, which a phishing page cannot relay."""
    if action != Action.USE_ADMIN:
        return ALLOW
    user = actor.user
    if not user.is_staff:
        return Decision(False, f"The user '{user.username}' is not an administrator of this index.")
    methods = two_factor_methods(user)
    if settings.ADMIN_REQUIRE_WEBAUTHN and not methods & {WEBAUTHN, PASSKEY}:
        return Decision(
            False,
            "The admin site needs a security key or a passkey on your account; an authenticator "
            "app alone is not enough here. Add one, then open the admin again.",
            fix_url=mandate.TWO_FACTOR_PATH,
        )
    if not methods:
        return Decision(
            False,
            "The admin site needs a second factor on your account. Add a security key, a passkey "
            "or an authenticator app, then open the admin again.",
            fix_url=mandate.TWO_FACTOR_PATH,
        )
    return ALLOW


RULES: list[Rule] = [
    active_account,
    token_scope,
    operator_second_factor,
    email_verified,
    has_role,
    recovery_freeze,
    two_factor_mandate,
    project_requires_two_factor,
    project_status,
]


def may(actor: Actor, action: Action, project: Project | None = None) -> Decision:
    """The only answer to 'may this actor do this to this project?'.

    ``project`` is None for actions on no particular project (a user-wide token), and an unsaved
    ``Project(name=..., normalized_name=...)`` for :attr:`Action.CREATE_PROJECT`, so that rules
    about names (a critical name not yet hosted here) can see what is about to be created.
    """
    warning = ""
    for rule in RULES:
        decision = rule(actor, action, project)
        if not decision.allowed:
            return decision
        warning = warning or decision.warning
    return Decision(True, warning=warning) if warning else ALLOW
