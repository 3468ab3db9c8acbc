"""Minting and checking API tokens.

A token is ``bastion-`` followed by 43 url-safe characters (256 random bits). Its SHA-256 digest
is the lookup key: a fast hash is enough for a secret with that much entropy, and it lets every
upload find its token with one indexed query. The stored digest is compared in constant time.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bastion.accounts.services import notify_account
from bastion.events import services as events
from bastion.events.services import CLI, Origin
from bastion.packaging import authz, notifications
from bastion.packaging.models import Project
from bastion.tokens.models import APIToken

PREFIX = "bastion-"


class TokenRefused(Exception):
    """Token creation was refused; ``decision`` says why."""

    def __init__(self, decision: authz.Decision):
        super().__init__(decision.reason)
        self.decision = decision


@dataclass(frozen=True)
class MintedToken:
    token: APIToken
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    *,
    actor: authz.Actor,
    name: str,
    project: Project | None = None,
    expires_days: int | None = None,
    origin: Origin = CLI,
) -> MintedToken:
    """Mint a token for the actor's user, if the gate allows it, and return its only plain copy."""
    decision = authz.may(actor, authz.Action.CREATE_TOKEN, project)
    if not decision.allowed:
        raise TokenRefused(decision)
    expires = timezone.now() + timedelta(days=expires_days) if expires_days else None
    minted = issue(user=actor.user, name=name, project=project, expires=expires)
    token = minted.token
    # A token scoped to a project is a new way to publish it: its owners hear of it. The
    # creator's own mail (token-changed) covers tokens for all of their projects.
    notified = notifications.token_created(project, actor.user, token.name) if project else []
    events.record(
        "token:create",
        user=actor.user,
        project=project,
        origin=origin,
        token=token.name,
        scope=project.normalized_name if project else "user",
        notified=notified,
    )
    _notify(token, "created")
    return minted


def issue(*, user, name: str, project: Project | None, expires, publisher=None) -> MintedToken:
    """Store a new token's digest and return its only plain copy. No gate, no mail, no event:
    the callers (:func:`create_token`, trusted publishing's exchange) decide those."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = APIToken.objects.create(
        user=user,
        name=name,
        project=project,
        publisher=publisher,
        digest=_digest(secret),
        display_prefix=secret[: len(PREFIX) + 4],
        expires=expires,
    )
    return MintedToken(token=token, secret=secret)


def authenticate(secret: str) -> APIToken | None:
    """Return the usable token matching ``secret``, or None. Never says which check failed."""
    if not secret.startswith(PREFIX):
        return None
    digest = _digest(secret)
    token = APIToken.objects.select_related("user", "project", "publisher")
    token = token.filter(digest=digest).first()
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    if not token.is_usable() or not token.user.is_active:
        return None
    return token


def mark_used(token: APIToken, origin: Origin) -> None:
    """Remember when a token was last used, and leave a trace in the user's history."""
    now = timezone.now()
    APIToken.objects.filter(pk=token.pk).update(last_used=now)
    token.last_used = now
    events.record(
        "token:use", user=token.user, project=token.project, origin=origin, token=token.name
    )


def revoke(token: APIToken, *, origin: Origin = CLI) -> None:
    APIToken.objects.filter(pk=token.pk, revoked__isnull=True).update(revoked=timezone.now())
    events.record(
        "token:revoke", user=token.user, project=token.project, origin=origin, token=token.name
    )
    _notify(token, "revoked")


def tokens_of(user) -> QuerySet[APIToken]:
    """The user's tokens for the token page, newest first; the digest is never needed there."""
    # A trusted publisher's short-lived tokens belong to its project, not to this person.
    mine = APIToken.objects.filter(user=user, publisher__isnull=True)
    return mine.select_related("project").defer("digest")


def _notify(token: APIToken, change: str) -> None:
    """Mail the owner's verified addresses once the change has committed (never the secret)."""
    context = {"token": token, "change": change}
    transaction.on_commit(lambda: notify_account(token.user, "token-changed", context))
