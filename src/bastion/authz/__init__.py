"""The one gate: every decision about who may change what passes through :func:`may`.

Views, the upload API, token minting and invitation acceptance all ask here and nowhere else.
Rules are small, named and ordered; the first that refuses wins, with a reason a person can act on
and a stable machine :class:`Code` that programs and tests match on. Later policy (two-factor
requirements, the critical-project mandate, recovery freezes) is added as rules in :data:`RULES`,
so it applies to every path at once.

Every actor asks here: a person through a session or a token, an administrator in the admin
(whose powers are the named ``ADMIN_*`` actions below, not ``is_staff`` checks scattered over the
code), and the operator at the command line. A service that is refused raises :class:`Refused`;
the upload API, the web pages, the admin and the CLI each turn it into their own form.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.utils import timezone

from bastion import statements
from bastion.accounts.models import Email
from bastion.accounts.models import User as UserModel
from bastion.authz.decisions import ALLOW, Code, Decision, Refused, refuse
from bastion.critical import enforcement as mandate
from bastion.critical.models import Designation
from bastion.critical.policy import Policy
from bastion.mfa.models import RecoveryRequest
from bastion.mfa.services import PASSKEY, WEBAUTHN, factor_count, has_two_factor, two_factor_methods
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
    MANAGE_PUBLISHERS = "manage the trusted publishers of"
    CREATE_TOKEN = "create a token for"  # noqa: S105 - an action name, not a secret
    ACCEPT_ROLE = "accept a role on"
    USE_ADMIN = "use the admin site for"
    #: A deletion that would leave the project serving nothing: the whole project, its last
    #: release or its last file. On a critical project it waits for an administrator.
    EMPTY_PROJECT = "delete everything served by"
    READ_HISTORY = "read the security history of"
    REMOVE_FACTOR = "remove a two-factor method"
    # Administrators' powers, taken in the admin (see :func:`admin_powers`).
    ADMIN_MANAGE_ROLES = "manage, as an administrator, the roles of"
    ADMIN_DELETE = "delete, as an administrator, from"
    APPROVE_CRITICAL_DELETION = "approve a deletion from"
    DESIGNATE_CRITICAL = "change which projects are critical"
    RESOLVE_RECOVERY = "resolve account recovery requests"


#: What each action needs: the roles that may perform it on an existing project.
REQUIRED_ROLES: dict[Action, frozenset[str]] = {
    Action.UPLOAD: frozenset({RoleName.OWNER, RoleName.MAINTAINER}),
    Action.CREATE_TOKEN: frozenset({RoleName.OWNER, RoleName.MAINTAINER}),
    Action.YANK: frozenset({RoleName.OWNER}),
    Action.DELETE: frozenset({RoleName.OWNER}),
    Action.MANAGE_ROLES: frozenset({RoleName.OWNER}),
    Action.SETTINGS: frozenset({RoleName.OWNER}),
    Action.MANAGE_PUBLISHERS: frozenset({RoleName.OWNER}),
    Action.EMPTY_PROJECT: frozenset({RoleName.OWNER}),
    Action.READ_HISTORY: frozenset({RoleName.OWNER}),
}

#: Actions about the account itself rather than a project: the publishing rules (a verified
#: email, the recovery freeze) do not apply to them.
ACCOUNT_ACTIONS = frozenset({Action.REMOVE_FACTOR})

#: What the gate grants an administrator acting in the admin, and only there.
ADMIN_ACTIONS = frozenset(
    {
        Action.ADMIN_MANAGE_ROLES,
        Action.ADMIN_DELETE,
        Action.APPROVE_CRITICAL_DELETION,
        Action.DESIGNATE_CRITICAL,
        Action.RESOLVE_RECOVERY,
    }
)

#: Actions that change nothing: no two-factor mandate or freeze stands between an owner and
#: reading their own project's history.
READ_ACTIONS = frozenset({Action.READ_HISTORY})

#: What the operator at the command line may do: they run the index.
OPERATOR_ACTIONS = frozenset({Action.YANK, Action.MANAGE_PUBLISHERS})

#: Where people make tokens, named in refusals a read-only token meets.
TOKENS_PATH = "/manage/account/tokens/"

#: Actions a token may authorise. Everything else needs a signed-in person.
TOKEN_ACTIONS = frozenset({Action.UPLOAD, Action.CREATE_PROJECT})


class ActorKind(enum.StrEnum):
    PERSON = "person"  # a user through a session, or through a token (then ``token`` is set)
    ADMIN = "admin"  # a user in the admin, taking administrators' actions
    OPERATOR = "operator"  # whoever runs ``bastion`` at the command line; no user


@dataclass(frozen=True)
class Actor:
    """Who acts: a user through a session (``token`` is None) or through an API token, an
    administrator in the admin, or the operator at the command line (``user`` is None).

    ``publisher`` is set when the token is one a trusted publisher's CI job traded for; ``user``
    is then an owner of the publisher's project, the account its uploads are recorded under.
    """

    user: User | None
    token: APIToken | None = None
    kind: ActorKind = ActorKind.PERSON
    publisher: Publisher | None = None

    @property
    def account(self) -> User:
        """The user acting, for the rules and services that act for a person or an administrator.

        The operator has none: only :func:`operator_powers` answers the operator, and the
        services it lets through say who acted without an account."""
        if self.user is None:
            raise TypeError("The operator acts without an account.")
        return self.user

    @classmethod
    def admin(cls, user: User) -> Actor:
        return cls(user=user, kind=ActorKind.ADMIN)

    @classmethod
    def operator(cls) -> Actor:
        return cls(user=None, kind=ActorKind.OPERATOR)


Rule = Callable[[Actor, Action, "Project | None"], Decision]


def _is_new(project: Project | None) -> bool:
    """A project not yet saved: the name someone is about to create. Rules still see its name."""
    return project is not None and project.pk is None


def _label(project: Project | None) -> str:
    if project is None:
        return "any project"
    return f"new project '{project.name}'" if _is_new(project) else f"project '{project.name}'"


def _doing(action: Action, project: Project | None) -> str:
    """The action and its project, for actions that may concern no project at all."""
    return f"{action} {_label(project)}" if project is not None else str(action)


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


@dataclass(frozen=True)
class _AccountFacts:
    """What the rules read about the acting account: asked in one query per decision, not one
    per rule (an upload's decision about its project needed three, and the one before its
    body two), and never kept from one decision to the next."""

    verified_email: bool
    frozen_until: datetime | None
    role: str | None  # on the decision's project; None without a saved project, or without one
    #: The active designation of the project's name (saved or about to be created), or None.
    #: Only what the mandate needs is loaded: its id (for its stewards) and enforcement date.
    designation: Designation | None = None


_NO_FACTS = _AccountFacts(verified_email=False, frozen_until=None, role=None)


def _facts_statement(connection: BaseDatabaseWrapper) -> str:
    """The facts as one parameterised statement, its names taken from the models.

    Written out because building the same question with ``Exists`` and ``Subquery`` cost the
    ORM more than the database spent answering it: it was most of the gate's time in an upload.
    The statement is plain SQL that SQLite and PostgreSQL both run. Its facts are those of
    ``Email.verified_primary_of``, ``mfa.recovery.freezes_of`` and ``critical.enforcement.
    designation_of``: a change to one of those is a change here.
    """

    def table(model: type[Model]) -> str:
        return statements.table(connection, model)

    def column(model: type[Model], name: str) -> str:
        return statements.column(connection, model, name)

    frozen_until = column(RecoveryRequest, "publishing_frozen_until")
    account, designation = table(UserModel), table(Designation)
    return (
        f"SELECT EXISTS (SELECT 1 FROM {table(Email)} WHERE {column(Email, 'user')} = %s"  # noqa: S608 - names from _meta
        f" AND {column(Email, 'primary')} = %s AND {column(Email, 'verified')} = %s),"
        f" (SELECT {frozen_until} FROM {table(RecoveryRequest)}"
        f" WHERE {column(RecoveryRequest, 'user')} = %s AND {frozen_until} > %s"
        f" ORDER BY {frozen_until} DESC LIMIT 1),"
        f" (SELECT {column(Role, 'role_name')} FROM {table(Role)}"
        f" WHERE {column(Role, 'user')} = %s AND {column(Role, 'project')} = %s LIMIT 1),"
        f" {designation}.{column(Designation, 'id')},"
        f" {designation}.{column(Designation, 'enforcement_date')}"
        f" FROM {account} LEFT JOIN {designation}"
        f" ON {designation}.{column(Designation, 'normalized_name')} = %s"
        f" AND {designation}.{column(Designation, 'removed_at')} IS NULL"
        f" WHERE {account}.{column(UserModel, 'id')} = %s"
    )


def _read_facts(user: User, project: Project | None) -> _AccountFacts:
    """The account's facts in one statement: a verified primary address, the latest recovery
    freeze still running, the role on ``project`` when it is saved, and the designation of
    ``project``'s name."""
    if user.pk is None:  # an unsaved user has no rows to read
        return _NO_FACTS
    connection = connections[router.db_for_read(UserModel)]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    project_pk = project.pk if project is not None else None  # None: no role to read
    name = project.normalized_name if project is not None else None  # None: no designation
    row = statements.fetch_one(
        connection,
        _facts_statement(connection),
        [user.pk, True, True, user.pk, now, user.pk, project_pk, name, user.pk],
    )
    if row is None:  # the account was deleted meanwhile: nothing of it allows anything
        return _NO_FACTS
    verified_email, frozen_until, role_name, designation_pk, enforcement_date = row
    frozen_until = statements.converted(
        connection, RecoveryRequest, "publishing_frozen_until", frozen_until
    )
    designation = None
    if designation_pk is not None:
        enforcement_date = statements.converted(
            connection, Designation, "enforcement_date", enforcement_date
        )
        designation = Designation.from_db(
            connection.alias,
            ["id", "normalized_name", "enforcement_date"],
            [designation_pk, name, enforcement_date],
        )
    return _AccountFacts(bool(verified_email), frozen_until, role_name, designation)


@dataclass
class _Asking:
    """The decision being made, whose facts are read on the first rule that needs them."""

    actor: Actor
    project: Project | None
    facts: _AccountFacts | None = None


_asking: ContextVar[_Asking | None] = ContextVar("authz_asking", default=None)


@contextmanager
def _deciding(actor: Actor, project: Project | None) -> Iterator[None]:
    reset = _asking.set(_Asking(actor, project))
    try:
        yield
    finally:
        _asking.reset(reset)


def _facts(actor: Actor, project: Project | None) -> _AccountFacts:
    """The account's facts for this decision, read once whichever rules ask; a rule called on
    its own (outside :func:`may`) reads them afresh."""
    asking = _asking.get()
    if asking is None or asking.actor is not actor or asking.project is not project:
        return _read_facts(actor.account, project)
    if asking.facts is None:
        asking.facts = _read_facts(actor.account, project)
    return asking.facts


def active_account(actor: Actor, action: Action, project: Project | None) -> Decision:
    if not actor.account.is_active:
        return refuse(Code.ACCOUNT_DISABLED, f"The account '{actor.account.username}' is disabled.")
    return ALLOW


def email_verified(actor: Actor, action: Action, project: Project | None) -> Decision:
    if action in ACCOUNT_ACTIONS or _trusted_publisher_upload(actor, action, project):
        return ALLOW
    if not _facts(actor, project).verified_email:
        return refuse(
            Code.EMAIL_UNVERIFIED,
            f"User '{actor.account.username}' does not have a verified primary email address. "
            f"Please add a verified primary email before you {action} {_label(project)}.",
            fix_url="/manage/account/",
        )
    return ALLOW


def token_scope(actor: Actor, action: Action, project: Project | None) -> Decision:
    token = actor.token
    if token is None:
        return ALLOW
    if action not in TOKEN_ACTIONS:
        return refuse(
            Code.TOKEN_SCOPE, f"An API token cannot be used to {action} {_label(project)}."
        )
    if token.read_only:
        return refuse(
            Code.TOKEN_READ_ONLY,
            f"This API token is read-only: it can install packages but cannot {action} "
            f"{_label(project)}. Use an upload token, made at {settings.BASE_URL}{TOKENS_PATH}",
            fix_url=TOKENS_PATH,
        )
    # A trusted publisher's token serves the project of the publisher it acts as, which may be
    # another one that accepted the same CI job (publishing.services.publishing_to).
    scope_id = actor.publisher.project_id if actor.publisher is not None else token.project_id
    if scope_id is None:
        return ALLOW
    if project is None and action == Action.UPLOAD:
        return ALLOW  # an upload whose body, naming the project, is not read yet: asked again then
    if project is None or _is_new(project):
        return refuse(
            Code.TOKEN_SCOPE,
            "This API token is scoped to one project and cannot create a new project.",
            fix_url=TOKENS_PATH,
        )
    if scope_id != project.pk:
        scope = Project.objects.get(pk=scope_id)  # loaded only to name it
        return refuse(
            Code.TOKEN_SCOPE,
            f"This API token is scoped to project '{scope.name}' "
            f"and cannot {action} project '{project.name}'.",
            fix_url=TOKENS_PATH,
        )
    return ALLOW


def has_role(actor: Actor, action: Action, project: Project | None) -> Decision:
    if _trusted_publisher_upload(actor, action, project):
        return ALLOW
    needed = REQUIRED_ROLES.get(action)
    if project is None or _is_new(project) or needed is None:
        return ALLOW
    if _facts(actor, project).role not in needed:
        return refuse(
            Code.ROLE_REQUIRED,
            f"The user '{actor.account.username}' isn't allowed to {action} "
            f"project '{project.name}'.",
            fix_url=f"/project/{project.normalized_name}/",  # its maintainers, to ask for a role
        )
    return ALLOW


def project_status(actor: Actor, action: Action, project: Project | None) -> Decision:
    if project is None or action != Action.UPLOAD:
        return ALLOW
    if project.status in (ProjectStatus.ARCHIVED, ProjectStatus.QUARANTINED):
        return refuse(
            Code.PROJECT_NOT_ACCEPTING_UPLOADS,
            f"Project '{project.name}' is {project.status}; it does not accept uploads.",
        )
    return ALLOW


def two_factor_mandate(actor: Actor, action: Action, project: Project | None) -> Decision:
    """Critical projects need maintainers with 2FA (and everyone does, when the switch is on).

    During a designation's grace period the action is allowed with a warning; see
    :mod:`bastion.critical.enforcement` for who is refused what, and from when. Reading (a
    project's history) and the account's own factors are not covered: :func:`last_factor`
    applies the mandate to removing a factor.
    """
    if action in READ_ACTIONS or action in ACCOUNT_ACTIONS:
        return ALLOW
    if _trusted_publisher_upload(actor, action, project):
        return _publisher_mandate(actor, project)
    verdict = mandate.for_everyone(actor.account, Policy.from_environment())
    if verdict.allowed and action == Action.CREATE_TOKEN:
        verdict = mandate.for_tokens(actor.account)
    elif verdict.allowed and project is not None:
        verdict = mandate.for_project(
            actor.account,
            project,
            _facts(actor, project).designation,
            creating=_is_new(project),
            accepting=action == Action.ACCEPT_ROLE,
        )
    if not verdict.allowed:
        code = Code.CRITICAL_NAME_RESERVED if verdict.reserved else Code.TWO_FACTOR_REQUIRED
        return refuse(code, verdict.message, fix_url=mandate.two_factor_url())
    return Decision(True, warning=verdict.message) if verdict.message else ALLOW


def _publisher_mandate(actor: Actor, project: Project | None) -> Decision:
    """:func:`two_factor_mandate` for a trusted publisher's upload: the person who added the
    publisher stands in for the CI job (:func:`bastion.critical.enforcement.for_publisher`)."""
    assert actor.publisher is not None and project is not None  # _trusted_publisher_upload
    verdict = mandate.for_publisher(
        actor.publisher.added_with_second_factor, project, _facts(actor, project).designation
    )
    if not verdict.allowed:
        return refuse(
            Code.TWO_FACTOR_REQUIRED,
            verdict.message,
            fix_url=mandate.publishers_url(project),
        )
    return Decision(True, warning=verdict.message) if verdict.message else ALLOW


#: Actions that change a project, which an owner's "require 2FA" setting covers.
TWO_FACTOR_PROJECT_ACTIONS = frozenset(
    {
        Action.UPLOAD,
        Action.YANK,
        Action.DELETE,
        Action.MANAGE_ROLES,
        Action.SETTINGS,
        Action.MANAGE_PUBLISHERS,
        Action.CREATE_TOKEN,
        Action.ACCEPT_ROLE,
        Action.EMPTY_PROJECT,
    }
)


def project_requires_two_factor(actor: Actor, action: Action, project: Project | None) -> Decision:
    """The owners' opt-in: every maintainer (and anyone joining) must use 2FA, tokens included."""
    if _trusted_publisher_upload(actor, action, project):
        return ALLOW
    if project is None or _is_new(project) or not project.requires_two_factor:
        return ALLOW
    if action not in TWO_FACTOR_PROJECT_ACTIONS or has_two_factor(actor.account):
        return ALLOW
    return refuse(
        Code.PROJECT_REQUIRES_TWO_FACTOR,
        f"Project '{project.name}' requires every maintainer to use two-factor authentication, "
        f"and the user '{actor.account.username}' has none, so cannot {action} it. "
        f"Enable two-factor authentication at {mandate.two_factor_url()}",
        fix_url=mandate.two_factor_url(),
    )


def recovery_freeze(actor: Actor, action: Action, project: Project | None) -> Decision:
    """After an admin reset lost factors, the account may not change anything for a while."""
    if action in ACCOUNT_ACTIONS or action in READ_ACTIONS:
        return ALLOW
    until = _facts(actor, project).frozen_until
    if until is None:
        return ALLOW
    return refuse(
        Code.RECOVERY_FREEZE,
        f"The account '{actor.account.username}' had its two-factor methods reset by an "
        f"administrator, so it cannot {action} {_label(project)} until "
        f"{until:%Y-%m-%d %H:%M} UTC. If you did not ask for that reset, contact the "
        "administrators now.",
    )


def projects_requiring_two_factor(user: User) -> list[str]:
    """The projects (display names) whose mandate covers ``user``: the critical ones they
    maintain and those whose owners require 2FA."""
    names = {critical.name for critical in mandate.critical_projects_of(user)}
    names.update(
        Project.objects.filter(roles__user=user, requires_two_factor=True).values_list(
            "name", flat=True
        )
    )
    return sorted(names)


def last_factor(actor: Actor, action: Action, project: Project | None) -> Decision:
    """The last second factor stays while any mandate covers the user: the index-wide switch,
    a critical project they maintain (already during its grace period: the factor would be
    needed soon) or a project whose owners require 2FA. The same mandate as for uploads."""
    if action != Action.REMOVE_FACTOR or factor_count(actor.account) > 1:
        return ALLOW
    names = projects_requiring_two_factor(actor.account)
    if names:
        listed = ", ".join(f"'{name}'" for name in sorted(names))
        why = (
            f"{listed} {'requires' if len(names) == 1 else 'require'} every maintainer to use "
            "two-factor authentication. Add another method first, or leave the project."
        )
    elif Policy.from_environment().require_2fa_for_all:
        why = (
            "this index requires two-factor authentication for every account that changes "
            "projects or creates tokens. Add another method first."
        )
    else:
        return ALLOW
    return refuse(
        Code.LAST_FACTOR,
        f"You cannot remove your last two-factor method: {why}",
        fix_url=mandate.TWO_FACTOR_PATH,
    )


def critical_deletion_approval(actor: Actor, action: Action, project: Project | None) -> Decision:
    """Emptying a critical project (the atomicwrites lesson) waits for an administrator.

    An administrator's approval (:attr:`Action.APPROVE_CRITICAL_DELETION`) overrides exactly this
    refusal, once: see :mod:`bastion.authz.deletions`.
    """
    if action != Action.EMPTY_PROJECT or project is None or _is_new(project):
        return ALLOW
    if _facts(actor, project).designation is None:
        return ALLOW
    return refuse(
        Code.CRITICAL_DELETION_NEEDS_APPROVAL,
        f"Project '{project.name}' is critical, so an administrator must approve deleting "
        "everything it serves.",
    )


def is_admin(user: User | None) -> bool:
    """Who the gate grants administrators' actions: an active superuser."""
    return user is not None and user.is_active and user.is_superuser


def admin_powers(actor: Actor, action: Action, project: Project | None) -> Decision:
    """Administrators' actions, for an administrator acting in the admin, and nobody else."""
    if action in ADMIN_ACTIONS and not (actor.kind == ActorKind.ADMIN and is_admin(actor.user)):
        who = actor.user.username if actor.user else "the operator"
        return refuse(
            Code.ADMIN_REQUIRED,
            f"'{who}' is not an administrator, so cannot {_doing(action, project)}.",
        )
    if actor.kind == ActorKind.ADMIN and action not in ADMIN_ACTIONS:
        return refuse(
            Code.ADMIN_REQUIRED,
            f"In the admin, an administrator cannot {_doing(action, project)}; "
            "that is for the project's owners.",
        )
    return ALLOW


def operator_powers(actor: Actor, action: Action, project: Project | None) -> Decision:
    """The operator runs the index: they may take the operator's actions, and only those."""
    if action not in OPERATOR_ACTIONS:
        return refuse(
            Code.NOT_FOR_THE_OPERATOR,
            f"The operator cannot {_doing(action, project)} from the command line.",
        )
    return ALLOW


def keep_an_owner(role: Role, *, owners: int) -> Decision:
    """A project must always have someone to manage it: the last owner stays an owner.

    ``owners`` is the number of owners now (counted under a lock by the caller)."""
    if role.role_name == RoleName.OWNER and owners <= 1:
        return refuse(
            Code.LAST_OWNER,
            f"'{role.user.username}' is the last owner of '{role.project.name}'. "
            "Make someone else an owner first.",
            fix_url=f"/manage/project/{role.project.normalized_name}/roles/",
        )
    return ALLOW


def operator_second_factor(actor: Actor, action: Action, project: Project | None) -> Decision:
    """The admin opens only for staff with a second factor, since it can undo any rule here
    (remove a designation, add a role). With ``BASTION_ADMIN_REQUIRE_WEBAUTHN=1`` the factor
    must be a security key or a passkey, which a phishing page cannot relay."""
    if action != Action.USE_ADMIN:
        return ALLOW
    user = actor.account
    if not is_admin(user):
        return refuse(
            Code.ADMIN_REQUIRED,
            f"The user '{user.username}' is not an administrator of this index.",
        )
    methods = two_factor_methods(user)
    if settings.ADMIN_REQUIRE_WEBAUTHN and not methods & {WEBAUTHN, PASSKEY}:
        return refuse(
            Code.SECURITY_KEY_REQUIRED,
            "The admin site needs a security key or a passkey on your account; an authenticator "
            "app alone is not enough here. Add one, then open the admin again.",
            fix_url=mandate.TWO_FACTOR_PATH,
        )
    if not methods:
        return refuse(
            Code.TWO_FACTOR_REQUIRED,
            "The admin site needs a second factor on your account. Add a security key, a passkey "
            "or an authenticator app, then open the admin again.",
            fix_url=mandate.TWO_FACTOR_PATH,
        )
    return ALLOW


RULES: list[Rule] = [
    active_account,
    token_scope,
    admin_powers,
    operator_second_factor,
    email_verified,
    has_role,
    recovery_freeze,
    two_factor_mandate,
    project_requires_two_factor,
    project_status,
    last_factor,
    critical_deletion_approval,
]

#: The rules an administrator in the admin meets: an active account and administrators' powers.
#: The rules about the people concerned (the 2FA of a new maintainer, the last owner) are asked
#: by the services for those people.
ADMIN_RULES: list[Rule] = [active_account, admin_powers]

RULES_FOR: dict[ActorKind, list[Rule]] = {
    ActorKind.PERSON: RULES,
    ActorKind.ADMIN: ADMIN_RULES,
    ActorKind.OPERATOR: [operator_powers],
}


def may(actor: Actor, action: Action, project: Project | None = None) -> Decision:
    """The only answer to 'may this actor do this to this project?'.

    ``project`` is None for actions on no particular project (a user-wide token, or an upload
    before its body has named the project: only what the account and token allow), and an unsaved
    ``Project(name=..., normalized_name=...)`` for :attr:`Action.CREATE_PROJECT`, so that rules
    about names (a critical name not yet hosted here) can see what is about to be created.
    """
    warning = ""
    with _deciding(actor, project):
        for rule in RULES_FOR[actor.kind]:
            decision = rule(actor, action, project)
            if not decision.allowed:
                return decision
            warning = warning or decision.warning
    return Decision(True, warning=warning) if warning else ALLOW


def require(actor: Actor, action: Action, project: Project | None = None) -> Decision:
    """Ask :func:`may` and raise :class:`Refused` with its decision if refused; the allowed
    decision (with any warning) is returned."""
    decision = may(actor, action, project)
    if not decision.allowed:
        raise Refused(decision)
    return decision


def with_reason(decision: Decision, reason: str) -> Decision:
    """The same refusal (code, fix link) told with more of what the service knows."""
    return replace(decision, reason=reason)
