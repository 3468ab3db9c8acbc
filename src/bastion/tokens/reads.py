"""API tokens on reads: the credentials pip, uv, poetry and pdm send, checked without the
database on every request.

With ``BASTION_READ_ACCESS=authenticated`` every page and file needs a token or a session, and an
installer sends its token with each of the hundreds of requests of one resolve. Looking each one
up would put the database on the read path, so a verdict is kept in this process for
``BASTION_READ_TOKEN_CACHE_SECONDS`` (5 s by default), keyed by the token's SHA-256 digest, never
by the token. The price: a revoked or expired token, or the token of a disabled account, keeps
reading for at most that long in each server process. Unknown tokens are remembered too, so a
client repeating a wrong token costs no query either (failures still count against the rate
limit; see :mod:`bastion.web.read_access`).

Any usable token of an active account may read, read-only or not: reads are index-wide, and an
upload token already proves more than a read needs.
"""

import base64
import binascii
import threading
import time

from django.conf import settings

from bastion.tokens import services
from bastion.tokens.services import PREFIX, TOKEN_USERNAME

#: Entries beyond this are dropped (expired ones first), so a flood of distinct wrong tokens
#: cannot grow the process without bound.
MAX_ENTRIES = 10_000


def secret_from(authorization: str) -> str | None:
    """The API token in an ``Authorization`` header, or None when it carries none.

    Accepts what clients send: Basic ``__token__:TOKEN`` (pip, uv, poetry, pdm, twine, netrc and
    keyring entries), Basic with an empty username and the token as password, Basic with the
    token alone as the username (pip's ``https://TOKEN@host/``), and ``Bearer TOKEN``.
    """
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, _, password = decoded.partition(":")
    if username in (TOKEN_USERNAME, ""):
        return password or None
    if username.startswith(PREFIX) and not password:
        return username
    return None


class VerdictCache:
    """Whether a token may read, by its digest, for a few seconds. Safe to share between threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str, now: float) -> bool | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= now:
            return None
        return entry[1]

    def put(self, digest: str, valid: bool, now: float, seconds: float) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[digest] = (now + seconds, valid)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_verdicts = VerdictCache()


def cached_verdict(secret: str) -> bool | None:
    """True or False when this process checked the token in the last few seconds, else None."""
    return _verdicts.get(services.digest_of(secret), time.monotonic())


def may_read(secret: str) -> bool:
    """Whether ``secret`` is a usable token of an active account; the database at most once per
    token, process and ``READ_TOKEN_CACHE_SECONDS``. The caller manages the connection."""
    digest = services.digest_of(secret)
    now = time.monotonic()
    known = _verdicts.get(digest, now)
    if known is not None:
        return known
    valid = services.authenticate(secret) is not None
    _verdicts.put(digest, valid, now, settings.READ_TOKEN_CACHE_SECONDS)
    return valid


def forget_verdicts() -> None:
    """Drop every cached verdict (tests, and anything that must see a revocation at once)."""
    _verdicts.clear()
