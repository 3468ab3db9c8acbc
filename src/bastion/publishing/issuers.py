"""The OIDC issuers whose tokens may be traded (``BASTION_OIDC_ISSUERS``), and their keys.

Keys come from the issuer's discovery document (``/.well-known/openid-configuration`` names
its ``jwks_uri``), or straight from a configured ``jwks_url``. They are cached per process and
fetched again when a token names a key id the cache does not hold, since issuers rotate keys
without notice; at most once per :data:`REFRESH_SECONDS` per issuer, so a flood of tokens with
made-up key ids cannot make this index hammer the issuer.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings

from bastion.publishing.kinds import KINDS, ClaimRefused, Kind

if TYPE_CHECKING:
    import jwt  # imported where used: see exchange() and issuers._fetch_keys()

REFRESH_SECONDS = 60.0
FETCH_TIMEOUT = 5.0
_MAX_DOCUMENT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Issuer:
    url: str
    kind: Kind
    jwks_url: str | None = None


def configured() -> dict[str, Issuer]:
    """The issuers from the settings; an unknown kind is the operator's mistake, said loudly."""
    issuers = {}
    for url, entry in settings.OIDC_ISSUERS.items():
        if entry["kind"] not in KINDS:
            raise ValueError(
                f"BASTION_OIDC_ISSUERS: issuer {url} has kind '{entry['kind']}'; "
                f"known kinds are {', '.join(KINDS)}"
            )
        issuers[url] = Issuer(url=url, kind=KINDS[entry["kind"]], jwks_url=entry.get("jwks_url"))
    return issuers


def issuer_for(url: object) -> Issuer:
    issuer = configured().get(url.rstrip("/")) if isinstance(url, str) else None
    if issuer is None:
        raise ClaimRefused(
            "unknown-issuer", f"The token's issuer '{url}' is not a trusted publishing issuer here."
        )
    return issuer


def issuers_of_kind(kind: str) -> list[str]:
    return [url for url, issuer in configured().items() if issuer.kind.name == kind]


def fetch_json(url: str) -> dict:
    """GET a JSON document (a discovery document or a key set). Tests replace this."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
        return json.loads(response.read(_MAX_DOCUMENT_BYTES))


@dataclass
class _Cached:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float = float("-inf")


_cache: dict[str, _Cached] = {}
_lock = threading.Lock()


def _jwks_url(issuer: Issuer) -> str:
    if issuer.jwks_url:
        return issuer.jwks_url
    discovery = fetch_json(f"{issuer.url}/.well-known/openid-configuration")
    return discovery["jwks_uri"]


def _fetch_keys(issuer: Issuer) -> dict[str, jwt.PyJWK]:
    import jwt  # with cryptography's key types: only where a key set is fetched

    document = fetch_json(_jwks_url(issuer))
    keys = {}
    for entry in document.get("keys", []):
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue  # a key type or algorithm this index does not use
        if key.key_id:
            keys[key.key_id] = key
    return keys


def signing_key(issuer: Issuer, key_id: str | None) -> jwt.PyJWK:
    """The issuer's key with this id, fetching the key set again if it is new to us."""
    with _lock:
        cached = _cache.setdefault(issuer.url, _Cached())
        if key_id not in cached.keys and time.monotonic() - cached.fetched_at >= REFRESH_SECONDS:
            cached.fetched_at = time.monotonic()
            try:
                cached.keys = _fetch_keys(issuer)
            except (OSError, ValueError, KeyError) as exc:
                raise ClaimRefused(
                    "issuer-unavailable",
                    f"The keys of the issuer {issuer.url} could not be fetched ({exc}); "
                    "try again shortly.",
                ) from exc
        key = cached.keys.get(key_id) if key_id else None
    if key is None:
        raise ClaimRefused(
            "unknown-key",
            f"The token is signed with a key ('{key_id}') that the issuer {issuer.url} does "
            "not publish.",
        )
    return key


def forget_keys() -> None:
    """Drop every cached key set (tests; an operator's shell after a key compromise)."""
    with _lock:
        _cache.clear()
