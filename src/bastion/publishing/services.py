"""Trusted publishing: configuring publishers, and trading a CI job's OIDC token for an upload
token.

Adding or removing a publisher is a change to who may publish a project, so it asks the gate
(:data:`authz.Action.MANAGE_PUBLISHERS`; the 2FA mandate applies) and mails the owners. A pending
publisher is checked against the same name rules and the same gate as creating the project.

The trade (:func:`exchange`) verifies the token's signature with its issuer's key, its issuer,
audience, expiry and not-before, then matches its claims against a publisher
(:mod:`bastion.publishing.kinds`), claims its ``jti`` so it can never be traded again, and mints
an ordinary API token scoped to that publisher's project that lives :data:`TOKEN_LIFETIME`.
Every refusal is a :class:`ClaimRefused` with a code and a sentence naming the claim at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from bastion import authz
from bastion.accounts.models import User
from bastion.authz import creation
from bastion.events import services as events
from bastion.events.services import CLI, Origin
from bastion.mfa.services import has_two_factor
from bastion.packaging import notifications
from bastion.packaging import services as packaging
from bastion.packaging.models import Project, Role, RoleName
from bastion.packaging.services import PackagingError
from bastion.publishing import issuers
from bastion.publishing.kinds import KINDS, ClaimRefused, InvalidPublisher, kind_of
from bastion.publishing.models import Exchange, Publisher, SeenToken
from bastion.tokens import services as tokens
from bastion.tokens.models import APIToken

if TYPE_CHECKING:
    import jwt  # imported where used: see exchange() and issuers._fetch_keys()

__all__ = ["ClaimRefused", "InvalidPublisher", "Minted", "exchange"]

TOKEN_LIFETIME = timedelta(minutes=15)
#: Clock skew allowed between the CI's issuer and this index, for exp, nbf and iat.
LEEWAY = timedelta(seconds=30)
#: Pending publishers one account may hold at once (PyPI's limit).
MAX_PENDING_PER_USER = 3
_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]


# -- configuring --------------------------------------------------------------------------------


def _clean(kind: str, repository: str, workflow: str, environment: str, issuer: str | None):
    if kind not in KINDS:
        known = ", ".join(KINDS)
        raise PackagingError(f"'{kind}' is not a kind of trusted publisher: use {known}.")
    issuer = (issuer or kind_of(kind).default_issuer).rstrip("/")
    if issuer not in issuers.issuers_of_kind(kind):
        raise PackagingError(
            f"The issuer {issuer} is not configured for {kind_of(kind).label} here "
            "(BASTION_OIDC_ISSUERS)."
        )
    try:
        return (issuer, *kind_of(kind).clean(repository, workflow, environment or ""))
    except InvalidPublisher as exc:
        raise PackagingError(str(exc)) from exc


def add_publisher(
    *,
    actor: authz.Actor,
    project: Project,
    kind: str,
    repository: str,
    workflow: str,
    environment: str = "",
    issuer: str | None = None,
    origin: Origin = CLI,
) -> Publisher:
    """Let a CI identity publish ``project``, if the gate lets ``actor`` (an owner, or the
    operator at the CLI) manage its publishers."""
    authz.require(actor, authz.Action.MANAGE_PUBLISHERS, project)
    issuer, repository, workflow, environment = _clean(
        kind, repository, workflow, environment, issuer
    )
    user = actor.user
    try:
        with transaction.atomic():
            publisher = Publisher.objects.create(
                kind=kind,
                issuer=issuer,
                project=project,
                repository=repository,
                workflow=workflow,
                environment=environment,
                added_by=user,
                added_with_second_factor=_with_second_factor(actor),
            )
            _record_added(publisher, project, user, origin)
    except IntegrityError as exc:
        raise PackagingError(f"{project.name} already has this trusted publisher.") from exc
    return publisher


def _with_second_factor(actor: authz.Actor) -> bool:
    """Whether the actor adding a publisher vouches for it under the 2FA mandate."""
    return actor.user is None or has_two_factor(actor.user)


def _record_added(
    publisher: Publisher, project: Project, user: User | None, origin: Origin, **extra
) -> None:
    pending = bool(extra.get("reified_from_pending"))
    events.record(
        "publisher:add",
        user=user,
        project=project,
        origin=origin,
        publisher=str(publisher),
        publisher_id=publisher.pk,
        notified=notifications.publisher_added(project, user, str(publisher), pending=pending),
        **extra,
    )


def add_pending_publisher(
    *,
    actor: authz.Actor,
    name: str,
    kind: str,
    repository: str,
    workflow: str,
    environment: str = "",
    issuer: str | None = None,
    origin: Origin = CLI,
) -> Publisher:
    """Let a CI identity create ``name`` at its first token trade, owned by the actor's user.

    The name rules and the gate's rules for creating a project are checked now, so the
    registrant hears at once, and again when the project is created.
    """
    if packaging.get_project(name) is not None:
        raise PackagingError(
            f"The project '{name}' already exists: add the publisher on its settings page."
        )
    creation.validate_new_project_name(name)
    authz.require(
        actor,
        authz.Action.CREATE_PROJECT,
        Project(name=name, normalized_name=packaging.normalize(name)),
    )
    if pending_of(actor.account).count() >= MAX_PENDING_PER_USER:
        raise PackagingError(
            f"An account may have at most {MAX_PENDING_PER_USER} pending publishers; remove one "
            "or let one create its project first."
        )
    issuer, repository, workflow, environment = _clean(
        kind, repository, workflow, environment, issuer
    )
    try:
        with transaction.atomic():
            publisher = Publisher.objects.create(
                kind=kind,
                issuer=issuer,
                pending_name=name,
                pending_normalized_name=packaging.normalize(name),
                repository=repository,
                workflow=workflow,
                environment=environment,
                added_by=actor.user,
                added_with_second_factor=_with_second_factor(actor),
            )
            events.record(
                "publisher:add-pending",
                user=actor.user,
                origin=origin,
                publisher=str(publisher),
                publisher_id=publisher.pk,
                project_name=name,
            )
    except IntegrityError as exc:
        raise PackagingError(
            "This CI identity already has a pending publisher; each identity may have one."
        ) from exc
    return publisher


def remove_publisher(*, actor: authz.Actor, publisher: Publisher, origin: Origin = CLI) -> None:
    """Stop a publisher; its live upload tokens are deleted with it."""
    user = actor.user
    project = publisher.project
    if project is None:  # pending: only its registrant (or the operator) removes it
        if user is not None and publisher.added_by_id != user.pk:
            raise PackagingError("Only the account that registered it may remove it.", 403)
        events.record(
            "publisher:remove-pending",
            user=user,
            origin=origin,
            publisher=str(publisher),
            project_name=publisher.pending_name,
        )
        publisher.delete()
        return
    authz.require(actor, authz.Action.MANAGE_PUBLISHERS, project)
    with transaction.atomic():
        description = str(publisher)
        _hand_over_shared_tokens(publisher)
        publisher.delete()
        events.record(
            "publisher:remove",
            user=user,
            project=project,
            origin=origin,
            publisher=description,
            notified=notifications.publisher_removed(project, user, description),
        )


def _hand_over_shared_tokens(leaving: Publisher) -> None:
    """A live token minted for ``leaving`` that other projects' publishers also accepted is
    handed to one of them instead of being deleted with it: whoever removes their own
    publisher cannot take a CI job's token away from the other projects it serves."""
    exchanges = Exchange.objects.filter(publisher=leaving, token__expires__gt=timezone.now())
    for exchange_row in exchanges.select_related("token"):
        heir = _first_able(exchange_row.other_publishers.exclude(pk=leaving.pk))
        if heir is None:
            continue  # deleted with the publisher
        token = exchange_row.token
        token.publisher, token.project = heir, heir.project
        token.user = _owner_publishing_for(heir) or token.user
        token.save(update_fields=["publisher", "project", "user"])
        exchange_row.publisher = heir
        exchange_row.save(update_fields=["publisher"])
        exchange_row.other_publishers.remove(heir)


def _first_able(publishers: QuerySet[Publisher]) -> Publisher | None:
    """Of the publishers that accepted one job, the one its token acts as: vouched for under
    the 2FA mandate first, then the oldest, and only one whose project has an active owner."""
    ordered = publishers.select_related("project").order_by("-added_with_second_factor", "pk")
    return next((p for p in ordered if _owner_publishing_for(p) is not None), None)


def publishers_of(project: Project) -> QuerySet[Publisher]:
    return Publisher.objects.filter(project=project)


def pending_of(user: User) -> QuerySet[Publisher]:
    return Publisher.objects.filter(project__isnull=True, added_by=user)


def find_publisher(project: Project, publisher_id: int) -> Publisher:
    publisher = publishers_of(project).filter(pk=publisher_id).first()
    if publisher is None:
        raise PackagingError(f"{project.name} has no trusted publisher {publisher_id}.", 404)
    return publisher


def as_dict(publisher: Publisher) -> dict:
    return {
        "id": publisher.pk,
        "kind": publisher.kind,
        "issuer": publisher.issuer,
        "repository": publisher.repository,
        "workflow": publisher.workflow,
        "environment": publisher.environment or None,
        "project": publisher.project.name if publisher.project else None,
        "pending_name": publisher.pending_name or None,
        "added_by": publisher.added_by.username if publisher.added_by else None,
        "created": publisher.created.isoformat(),
    }


# -- the exchange ---------------------------------------------------------------------------------


def audience() -> str:
    return settings.OIDC_AUDIENCE


@dataclass(frozen=True)
class Minted:
    secret: str
    expires: datetime
    publisher: Publisher
    exchange: Exchange


def exchange(oidc_token: object, origin: Origin) -> Minted:
    """Trade a CI job's OIDC token for an upload token, or raise :class:`ClaimRefused`."""
    import jwt  # with cryptography's key types: loaded by the processes that exchange tokens

    if not isinstance(oidc_token, str) or not oidc_token:
        raise ClaimRefused("invalid-payload", 'Send a JSON object {"token": "<OIDC token>"}.')
    try:
        unverified = jwt.decode(oidc_token, options={"verify_signature": False})
        header = jwt.get_unverified_header(oidc_token)
    except jwt.PyJWTError as exc:
        raise ClaimRefused("invalid-token", f"The token is not a JWT ({exc}).") from exc
    issuer = issuers.issuer_for(unverified.get("iss"))
    key = issuers.signing_key(issuer, header.get("kid"))
    claims = _verified_claims(oidc_token, key, issuer)
    candidates = Publisher.objects.filter(kind=issuer.kind.name, issuer=issuer.url)
    publisher, *others = issuer.kind.matching(candidates.select_related("project"), claims)
    if publisher.is_pending and any(
        other.is_pending and other.added_by_id != publisher.added_by_id for other in others
    ):
        raise ClaimRefused(
            "invalid-pending-publisher",
            "Pending publishers of more than one account accept this job, so no project is "
            "created from it: each of them would own it. Remove all but one, or create the "
            "project by uploading with an API token and add the publisher on its settings page.",
        )
    try:
        return _trade(publisher, [p for p in others if not p.is_pending], issuer, claims, origin)
    except _StalePendingPublisher as stale:
        Publisher.objects.filter(pk=stale.publisher_id, project__isnull=True).delete()
        raise


class _StalePendingPublisher(ClaimRefused):
    """A pending publisher for a name created meanwhile: it is removed (after the rollback)."""

    def __init__(self, publisher: Publisher):
        super().__init__(
            "invalid-pending-publisher",
            f"The project '{publisher.pending_name}' was created meanwhile, so this pending "
            "publisher was removed; an owner of the project must add the publisher on its "
            "settings page.",
        )
        self.publisher_id = publisher.pk


def _trade(
    publisher: Publisher,
    others: list[Publisher],
    issuer: issuers.Issuer,
    claims: dict,
    origin: Origin,
) -> Minted:
    with transaction.atomic():
        _claim_once(issuer.url, claims)
        # A concurrent trade may have turned a pending publisher into a project's meanwhile.
        locked = Publisher.objects.select_for_update(of=("self",)).select_related("project")
        current = locked.filter(pk=publisher.pk).first()
        if current is None:
            raise ClaimRefused("invalid-publisher", "The publisher was removed meanwhile.")
        if current.is_pending:
            _create_project_for(current, origin)
        _pin_owner_id(current, claims)
        minted = _mint(current, claims, origin)
        for other in others:
            _pin_owner_id(other, claims)
        minted.exchange.other_publishers.set(
            [other for other in others if other.project_id != current.project_id]
        )
        return minted


def _verified_claims(oidc_token: str, key: jwt.PyJWK, issuer: issuers.Issuer) -> dict:
    """The claims, once signature, issuer, audience, expiry and not-before hold."""
    import jwt

    try:
        return jwt.decode(
            oidc_token,
            key=key,
            algorithms=[key.algorithm_name] if key.algorithm_name in _ALGORITHMS else _ALGORITHMS,
            audience=audience(),
            issuer=issuer.url,
            leeway=LEEWAY,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise ClaimRefused("expired-token", "The token has expired (claim exp).") from exc
    except jwt.ImmatureSignatureError as exc:
        raise ClaimRefused(
            "immature-token", "The token is not valid yet (claim nbf or iat)."
        ) from exc
    except jwt.InvalidAudienceError as exc:
        raise ClaimRefused(
            "invalid-audience",
            f"The token is for another audience (claim aud); request it for '{audience()}', "
            "as GET /_/oidc/audience says.",
        ) from exc
    except jwt.InvalidIssuerError as exc:
        raise ClaimRefused("unknown-issuer", f"The token's issuer is wrong ({exc}).") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise ClaimRefused("missing-claim", f"The token has no '{exc.claim}' claim.") from exc
    except jwt.PyJWTError as exc:
        raise ClaimRefused("invalid-token", f"The token does not verify ({exc}).") from exc


def _claim_once(issuer_url: str, claims: dict) -> None:
    """Remember the token's ``jti`` until it could no longer verify; a second trade fails."""
    now = timezone.now()
    SeenToken.objects.filter(expires__lt=now).delete()
    expires = datetime.fromtimestamp(int(claims["exp"]), tz=UTC) + LEEWAY
    try:
        with transaction.atomic():
            SeenToken.objects.create(issuer=issuer_url, jti=str(claims["jti"]), expires=expires)
    except IntegrityError as exc:
        raise ClaimRefused(
            "invalid-reuse-token", "The token was already traded once (claim jti)."
        ) from exc


def _create_project_for(publisher: Publisher, origin: Origin) -> None:
    """A pending publisher's first trade: create its project, owned by its registrant."""
    name = publisher.pending_name
    if packaging.get_project(name) is not None:
        raise _StalePendingPublisher(publisher)
    registrant = publisher.added_by
    if registrant is None or not registrant.is_active:
        raise ClaimRefused(
            "invalid-pending-publisher",
            f"The account that registered the pending publisher for '{name}' is gone.",
        )
    try:
        project = creation.create_project(
            actor=authz.Actor(user=registrant), name=name, origin=origin, ratelimited=False
        )
    except authz.Refused as exc:
        raise ClaimRefused("project-refused", exc.reason) from exc
    except PackagingError as exc:
        raise ClaimRefused("project-refused", exc.message) from exc
    publisher.project = project
    publisher.pending_name = publisher.pending_normalized_name = ""
    publisher.save(update_fields=["project", "pending_name", "pending_normalized_name"])
    Publisher.objects.filter(
        project__isnull=True, pending_normalized_name=project.normalized_name
    ).delete()  # other accounts' pending publishers for the name can never be used now
    _record_added(publisher, project, registrant, origin, reified_from_pending=True)


def _pin_owner_id(publisher: Publisher, claims: dict) -> None:
    """Pin the owner's numeric id at the first trade, where the CI sends one (GitHub)."""
    owner_id = str(claims.get("repository_owner_id") or "")
    if owner_id and not publisher.owner_id:
        publisher.owner_id = owner_id
        publisher.save(update_fields=["owner_id"])


def _account_for(publisher: Publisher) -> User:
    """The account its uploads are recorded under: the owner who added it, or another owner."""
    account = _owner_publishing_for(publisher)
    if account is None:
        raise ClaimRefused(
            "invalid-publisher",
            f"The project '{publisher.project}' has no active owner to publish under.",
        )
    return account


def _owner_publishing_for(publisher: Publisher) -> User | None:
    owners = Role.objects.filter(
        project=publisher.project, role_name=RoleName.OWNER, user__is_active=True
    ).select_related("user")
    owner = owners.filter(user=publisher.added_by_id).first() or owners.order_by("pk").first()
    return owner.user if owner is not None else None


def publishing_to(actor: authz.Actor, project: Project | None) -> authz.Actor:
    """The actor a trusted publisher's token uploads to ``project`` as.

    A token minted for one project's publisher also serves the other projects whose publishers
    accepted the same CI job (:meth:`Kind.matching`): for those it acts as their own publisher,
    recorded under their own owner. Any other actor, or project, is returned unchanged, and the
    gate answers as before.
    """
    if actor.publisher is None or actor.token is None or project is None:
        return actor
    if project.pk is None or actor.publisher.project_id == project.pk:
        return actor
    other = _first_able(
        Publisher.objects.filter(shared_exchanges__token=actor.token, project=project)
    )
    if other is None:
        return actor
    account = _owner_publishing_for(other)
    if account is None:  # its last owner left meanwhile: the gate refuses as before
        return actor
    return authz.Actor(user=account, token=actor.token, publisher=other)


def _mint(publisher: Publisher, claims: dict, origin: Origin) -> Minted:
    user = _account_for(publisher)
    expires = timezone.now() + TOKEN_LIFETIME
    minted = tokens.issue(
        user=user,
        name=f"trusted publisher {publisher.pk}",
        project=publisher.project,
        expires=expires,
        publisher=publisher,
    )
    details = kind_of(publisher.kind).event_claims(claims)
    exchange = Exchange.objects.create(token=minted.token, publisher=publisher, claims=details)
    events.record(
        "publisher:token",
        user=user,
        project=publisher.project,
        origin=origin,
        publisher=str(publisher),
        publisher_id=publisher.pk,
        expires=expires.isoformat(),
        claims=details,
    )
    return Minted(secret=minted.secret, expires=expires, publisher=publisher, exchange=exchange)


def claims_of(token: APIToken) -> dict:
    """The run's claims recorded when a publisher's ``token`` was minted (empty if gone)."""
    exchange_row = Exchange.objects.filter(token=token).first()
    return exchange_row.claims if exchange_row else {}


def upload_details(actor: authz.Actor) -> dict:
    """What an upload's security event adds when a trusted publisher's token made it: the
    publisher it uploaded as (:func:`publishing_to`) and the run's claims."""
    if actor.publisher is None or actor.token is None:
        return {}
    return {
        "publisher": str(actor.publisher),
        "publisher_id": actor.publisher.pk,
        "claims": claims_of(actor.token),
    }


#: How long a publisher's expired upload token is kept (PyPI keeps them a day).
EXPIRED_TOKENS_KEPT = timedelta(days=1)


def forget_expired() -> int:
    """Delete publisher tokens (with their exchange rows) expired more than a day ago, and seen
    token ids past their expiry; return how many rows went."""
    now = timezone.now()
    tokens_gone, _ = APIToken.objects.filter(
        publisher__isnull=False, expires__lt=now - EXPIRED_TOKENS_KEPT
    ).delete()
    seen_gone, _ = SeenToken.objects.filter(expires__lt=now).delete()
    return tokens_gone + seen_gone
