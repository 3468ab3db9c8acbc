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

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.utils import timezone

from bastion import authz, statements
from bastion.accounts.models import User
from bastion.accounts.services import notify_account
from bastion.events import services as events
from bastion.events.services import CLI, Origin
from bastion.packaging import notifications
from bastion.packaging.models import Project
from bastion.tokens.models import APIToken

PREFIX = "bastion-"
TOKEN_USERNAME = "__token__"  # noqa: S105 - the fixed username of token credentials, not a secret
READ_ONLY_HAS_NO_PROJECT = (
    "A read-only token reads the whole index; it cannot be scoped to a project."
)


@dataclass(frozen=True)
class MintedToken:
    token: APIToken
    secret: str


def digest_of(secret: str) -> str:
    """The SHA-256 digest a token is stored and looked up by; never the token itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    *,
    actor: authz.Actor,
    name: str,
    project: Project | None = None,
    expires_days: int | None = None,
    read_only: bool = False,
    origin: Origin = CLI,
) -> MintedToken:
    """Mint a token for the actor's user, if the gate allows it (else ``authz.Refused``), and
    return its only plain copy.

    A ``read_only`` token installs from a private index and is refused every upload by the gate;
    it reads the whole index, so a project scope would mean nothing and is refused.
    """
    if read_only and project is not None:
        raise ValueError(READ_ONLY_HAS_NO_PROJECT)
    authz.require(actor, authz.Action.CREATE_TOKEN, project)
    expires = timezone.now() + timedelta(days=expires_days) if expires_days else None
    minted = issue(
        user=actor.account, name=name, project=project, expires=expires, read_only=read_only
    )
    token = minted.token
    # A token scoped to a project is a new way to publish it: its owners hear of it. The
    # creator's own mail (token-changed) covers tokens for all of their projects.
    notified = notifications.token_created(project, actor.account, token.name) if project else []
    events.record(
        "token:create",
        user=actor.user,
        project=project,
        origin=origin,
        token=token.name,
        scope="read-only" if read_only else project.normalized_name if project else "user",
        notified=notified,
    )
    _notify(token, "created")
    return minted


def issue(
    *,
    user,
    name: str,
    project: Project | None,
    expires,
    publisher=None,
    read_only: bool = False,
) -> MintedToken:
    """Store a new token's digest and return its only plain copy. No gate, no mail, no event:
    the callers (:func:`create_token`, trusted publishing's exchange) decide those."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = APIToken.objects.create(
        user=user,
        name=name,
        project=project,
        publisher=publisher,
        digest=digest_of(secret),
        display_prefix=secret[: len(PREFIX) + 4],
        expires=expires,
        read_only=read_only,
    )
    return MintedToken(token=token, secret=secret)


def _token_and_account_sql(connection: BaseDatabaseWrapper) -> str:
    """The token with this digest and its account, in one statement.

    Every upload and every API read with a token asks it. Through the ORM (``select_related``)
    :func:`authenticate` cost about 580 µs of CPU here, written out about 80 µs. The
    token's project and publisher are loaded when used: most tokens have neither."""
    token, account = statements.table(connection, APIToken), statements.table(connection, User)
    owner = statements.column(connection, APIToken, "user")
    key = statements.column(connection, User, "id")
    digest = statements.column(connection, APIToken, "digest")
    return (
        f"SELECT {statements.all_columns(connection, APIToken)}, "  # noqa: S608 - names from _meta
        f"{statements.all_columns(connection, User)} "
        f"FROM {token} JOIN {account} ON {token}.{owner} = {account}.{key} "
        f"WHERE {token}.{digest} = %s"
    )


def _token_with_account(digest: str) -> APIToken | None:
    connection = connections[router.db_for_read(APIToken)]
    row = statements.fetch_one(connection, _token_and_account_sql(connection), [digest])
    if row is None:  # the digest is unique: one row or none
        return None
    split = len(APIToken._meta.concrete_fields)
    token = statements.instance(connection, APIToken, row[:split])
    APIToken.user.field.set_cached_value(token, statements.instance(connection, User, row[split:]))
    return token


def authenticate(secret: str) -> APIToken | None:
    """Return the usable token matching ``secret``, or None. Never says which check failed."""
    if not secret.startswith(PREFIX):
        return None
    digest = digest_of(secret)
    token = _token_with_account(digest)
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    if not token.is_usable() or not token.user.is_active:
        return None
    return token


#: How long a token's recorded use stands for its later uses from the same address.
USE_RECORD_INTERVAL = timedelta(minutes=1)


def mark_used(token: APIToken, origin: Origin) -> None:
    """Remember when a token was last used, and leave a trace in the user's history.

    One ``token:use`` event (and one write of ``last_used``) stands for every use of the token
    from the same address within :data:`USE_RECORD_INTERVAL`: ``twine upload`` of 200 files is
    one entry, not 200, and costs one write instead of two per file. A use from another address,
    or after the interval, is recorded at once. Each upload is still recorded on its own as
    ``file:upload``, naming the token. Concurrent first uses may each write: never fewer than one.

    Only uploads call this. A read-only token shown to the upload endpoint is refused by the gate,
    so its use is no "token used" event; reads never write (see :mod:`bastion.tokens.reads`).
    """
    if token.read_only:
        return
    now = timezone.now()
    if (
        token.last_used is not None
        and token.last_used_ip == origin.ip_address
        and timedelta(0) <= now - token.last_used < USE_RECORD_INTERVAL
    ):
        return
    APIToken.objects.filter(pk=token.pk).update(last_used=now, last_used_ip=origin.ip_address)
    token.last_used, token.last_used_ip = now, origin.ip_address
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
