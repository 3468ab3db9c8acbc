"""Sudo mode: sensitive actions need the password and a second factor in the last 15 minutes.

Signing in with both (or with a passkey, which is both) counts; so does the re-authentication
page. A sign-in that skipped the second factor because the device was remembered does not, so
a stolen laptop with a remembered session cannot add factors, mint tokens or delete releases.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

WINDOW_SECONDS = 15 * 60
_SESSION_KEY = "mfa.reauthenticated_at"
_METHOD_KEY = "mfa.reauthenticated_with"
#: Factors a phishing page cannot relay: the browser binds their answer to this site's origin.
PHISHING_RESISTANT = frozenset({"webauthn", "passkey"})

NEEDS_REAUTH = (
    "Confirm it's you: enter your password and a second factor. "
    "Then try again; this confirmation lasts 15 minutes."
)


def mark_recent_auth(request: HttpRequest, method: str = "") -> None:
    """Record that the person just proved the password and a second factor in this session.

    ``method`` names the factor ("totp", "webauthn", "passkey", "recovery-code"; "password" for
    an account with none), for the pages that accept only some (see ``has_recent_auth``).
    """
    request.session[_SESSION_KEY] = time.time()
    request.session[_METHOD_KEY] = method


def mark_password_only_login(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """On ``user_logged_in``: for an account with no factor, the password is all there is.

    Accounts with factors are marked by :func:`bastion.mfa.login.finish` once a factor checks
    out; a remembered device logs in without a factor and so is not marked.
    """
    from bastion.mfa.services import has_two_factor

    if request is not None and hasattr(request, "session") and not has_two_factor(user):
        mark_recent_auth(request, "password")


def has_recent_auth(
    request: HttpRequest, now: float | None = None, *, phishing_resistant: bool = False
) -> bool:
    """Confirmed in the last 15 minutes (with a security key or passkey, if so asked)."""
    at = request.session.get(_SESSION_KEY)
    now = time.time() if now is None else now
    if not (isinstance(at, float) and 0 <= now - at <= WINDOW_SECONDS):
        return False
    return not phishing_resistant or request.session.get(_METHOD_KEY) in PHISHING_RESISTANT


def reauth_url(next_path: str) -> str:
    return f"{reverse('mfa:reauthenticate')}?{urlencode({'next': next_path})}"


def require_recent_auth(view: Callable) -> Callable:
    """Decorate a view that changes factors, tokens, roles or deletes something.

    Without a recent confirmation nothing happens: the person is sent to the confirmation page
    and back to the page they came from (a POST is never replayed on their behalf).
    """
    return _guard(view, every_method=True)


def require_recent_auth_to_change(view: Callable) -> Callable:
    """As :func:`require_recent_auth`, for a page whose GET only shows (a list, a form)."""
    return _guard(view, every_method=False)


def _guard(view: Callable, *, every_method: bool) -> Callable:
    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not every_method and request.method in ("GET", "HEAD", "OPTIONS"):
            return view(request, *args, **kwargs)
        if not request.user.is_authenticated:
            return HttpResponseRedirect(
                f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}"
            )
        if has_recent_auth(request):
            return view(request, *args, **kwargs)
        back = request.get_full_path() if request.method == "GET" else _referring_path(request)
        messages.warning(request, NEEDS_REAUTH)
        return HttpResponseRedirect(reauth_url(back))

    return guarded


def _referring_path(request: HttpRequest) -> str:
    """Where the refused form was, when it is on this site; otherwise the account page."""
    referer = request.headers.get("Referer", "")
    host = request.get_host()
    for scheme in ("http://", "https://"):
        prefix = f"{scheme}{host}"
        if referer.startswith(prefix + "/"):
            return referer[len(prefix) :]
    return request.path
