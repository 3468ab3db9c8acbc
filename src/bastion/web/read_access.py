"""Who may read the index: everyone (``BASTION_READ_ACCESS=public``, the default) or only people
signed in and clients with an API token (``authenticated``, a private index).

One answer, :func:`check`, asked from two places: :class:`ReadAccessMiddleware` for every Django
view, and the read path (``bastion.simple.readpath``, ``/simple/`` and ``/files/``), which runs in
front of Django. Both verify tokens through :mod:`bastion.tokens.reads`, which keeps verdicts in
the process for a few seconds so that an installer's hundreds of requests cost no query each.

A request without credentials gets 401 with ``WWW-Authenticate: Basic`` (never 404: pip sends
the credentials from its keyring or netrc, or prompts, only after a 401), and a person at a
browser page is sent to the sign-in page instead. Wrong credentials get 401 too and count against
``BASTION_RATELIMIT_TOKEN_FAILURES_PER_IP``, the limit the upload endpoint uses, so guessing
stops at the same point wherever it is tried (429 with ``Retry-After``).

Signing in, registering, resetting a password, ``/healthz``, static files and ``/legacy/``
(which authenticates on its own) stay reachable: :data:`OPEN_PATHS`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from bastion.accounts import ratelimit
from bastion.client_address import client_address_from_environ
from bastion.tokens import reads

PUBLIC, AUTHENTICATED = "public", "authenticated"
REALM = 'Basic realm="Bastion"'

#: Paths anyone may reach on a private index: how to get in, and what authenticates on its own.
OPEN_PATHS = (
    "/account/login/",
    "/account/logout/",
    "/account/register/",
    "/account/invitation/",
    "/account/reset-password/",
    "/account/two-factor/",  # the second step of signing in
    "/account/passkey/",  # signing in with a passkey
    "/account/recovery/",  # lost second factors: before signing in
    "/healthz",
    "/static/",
    "/legacy",
)
#: Answered to programs, not people: refused with 401 rather than sent to the sign-in page.
API_PREFIXES = ("/pypi/", "/stats/project/")

CREDENTIALS_NEEDED = (
    "Authentication required: this index is private. Sign in, or send an API token with HTTP "
    "Basic auth (username __token__, the token as password), e.g. "
    "--index-url https://__token__:TOKEN@HOST/simple/"
)
BAD_CREDENTIALS = (
    "Invalid or non-existent authentication information: send an API token with HTTP Basic "
    "auth, username __token__ and the token as password."
)
TOO_MANY_FAILURES = "Too many failed authentications from your address."


@dataclass(frozen=True)
class ReadVerdict:
    allowed: bool
    status: int = 200  # 401 or 429 when refused
    message: str = ""
    retry_after: int | None = None

    @property
    def headers(self) -> list[tuple[str, str]]:
        if self.status == 401:
            return [("WWW-Authenticate", REALM)]
        if self.retry_after is not None:
            return [("Retry-After", str(self.retry_after))]
        return []


ALLOWED = ReadVerdict(True)


def is_private() -> bool:
    return settings.READ_ACCESS == AUTHENTICATED


def is_open_path(path: str) -> bool:
    return path.startswith(OPEN_PATHS)


def check(
    environ: dict,
    signed_in: Callable[[], bool],
    database: Callable[[], AbstractContextManager] = nullcontext,
) -> ReadVerdict:
    """May this request read? ``environ`` is the WSGI environ (a Django request's ``META``).

    ``signed_in`` says whether a session stands behind the request; ``database`` wraps the
    moments that may query (a token not checked in the last few seconds, a failure to count),
    so that the read path, which runs outside Django's request cycle, can open and close its
    connection there and nowhere else.
    """
    if not is_private():
        return ALLOWED
    authorization = environ.get("HTTP_AUTHORIZATION")
    if not authorization:
        return ALLOWED if signed_in() else ReadVerdict(False, 401, CREDENTIALS_NEEDED)
    secret = reads.secret_from(authorization)
    if secret is not None and reads.cached_verdict(secret):
        return ALLOWED  # the fast path: checked in this process a moment ago
    address = client_address_from_environ(environ) or "unknown"
    with database():
        limiter = ratelimit.TOKEN_FAILURES_PER_IP
        try:
            limiter.check(address, TOO_MANY_FAILURES)
        except ratelimit.RateLimited as limited:
            return ReadVerdict(False, 429, limited.message, limited.retry_after)
        if secret is not None and reads.may_read(secret):
            return ALLOWED
        limiter.hit(address)
    return ReadVerdict(False, 401, BAD_CREDENTIALS)


# Sessions on the read path: people browsing /simple/ in a signed-in browser. Cached like tokens.
_sessions = reads.VerdictCache()


def session_signed_in(environ: dict, database: Callable[[], AbstractContextManager]) -> bool:
    """Whether the session cookie in ``environ`` belongs to a signed-in, active account.

    For the read path, which has no Django request; remembered for
    ``READ_TOKEN_CACHE_SECONDS`` by a digest of the session key, as tokens are.
    """
    try:
        morsel = SimpleCookie(environ.get("HTTP_COOKIE", "")).get(settings.SESSION_COOKIE_NAME)
    except CookieError:
        return False
    if morsel is None or not morsel.value:
        return False
    digest = hashlib.sha256(morsel.value.encode()).hexdigest()
    now = time.monotonic()
    known = _sessions.get(digest, now)
    if known is None:
        store = import_module(settings.SESSION_ENGINE).SessionStore(morsel.value)
        with database():
            request = HttpRequest()  # all get_user reads is the session
            request.session = store
            user = get_user(request)
            known = bool(user.is_authenticated and user.is_active)
        _sessions.put(digest, known, now, settings.READ_TOKEN_CACHE_SECONDS)
    return known


def forget_sessions() -> None:
    _sessions.clear()


class ReadAccessMiddleware:
    """Every Django view asks :func:`check` on a private index, except :data:`OPEN_PATHS`.

    Sits after ``AuthenticationMiddleware``, which provides the session's user.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_private() or is_open_path(request.path_info):
            return self.get_response(request)
        verdict = check(request.META, signed_in=lambda: request.user.is_authenticated)
        if verdict.allowed:
            return self.get_response(request)
        if _is_person_at_a_page(request, verdict):
            return redirect_to_login(request.get_full_path())
        return refusal(verdict)


def _is_person_at_a_page(request: HttpRequest, verdict: ReadVerdict) -> bool:
    """A browser without credentials at an HTML page: the sign-in page helps it, a 401 would not."""
    return (
        verdict.status == 401
        and "HTTP_AUTHORIZATION" not in request.META
        and not request.path_info.startswith(API_PREFIXES)
        and not request.path_info.endswith(".json")
    )


def refusal(verdict: ReadVerdict) -> HttpResponse:
    """401 or 429 in plain text, the message also in the reason phrase that clients print."""
    response = HttpResponse(
        verdict.message + "\n",
        status=verdict.status,
        reason=verdict.message.partition(":")[0] if verdict.status == 401 else verdict.message,
        content_type="text/plain; charset=utf-8",
    )
    for name, value in verdict.headers:
        response[name] = value
    return response
