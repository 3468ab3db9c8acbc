"""The second-factor step of sign-in, between the password and the session.

After the password is right, :func:`second_factor_step` either lets the login finish (no
factors, or a remembered device) or parks the user in the session and sends the browser to the
two-factor page. The parked login expires after five minutes. Only :func:`finish` logs in.

"Remember this device" is a signed cookie, SameSite=Strict and HttpOnly, valid for 30 days and
only while the password stays the same (it carries the session auth hash, which changes with it).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme

from bastion.accounts.models import User
from bastion.accounts.services import complete_login
from bastion.events import services as events
from bastion.events.services import Origin
from bastion.mfa import reauth
from bastion.mfa.services import has_two_factor

PENDING_KEY = "mfa.pending_login"
PENDING_SECONDS = 300

REMEMBER_COOKIE = "bastion_remembered_device"
REMEMBER_DAYS = 30
_REMEMBER_SALT = "bastion.mfa.remember-device"


def safe_next(request: HttpRequest, candidate: str | None, default: str = "/") -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def second_factor_step(request: HttpRequest, user: User, next_url: str) -> HttpResponse | None:
    """Call after the password proved right. None means: no second factor, finish as usual."""
    if not has_two_factor(user):
        return None
    if _remembered(request, user):
        complete_login(request, user, method="remembered-device")
        return HttpResponseRedirect(next_url)
    request.session[PENDING_KEY] = {"user": user.pk, "at": time.time(), "next": next_url}
    return HttpResponseRedirect(reverse("mfa:two-factor"))


def pending_user(request: HttpRequest) -> User | None:
    """The user whose password was right in the last five minutes and who still owes a factor."""
    pending = request.session.get(PENDING_KEY)
    if (
        not isinstance(pending, dict)
        or "user" not in pending
        or time.time() - pending.get("at", 0) > PENDING_SECONDS
    ):
        return None
    return User.objects.filter(pk=pending["user"], is_active=True).first()


def finish(
    request: HttpRequest,
    user: User,
    *,
    method: str,
    label: str = "",
    remember: bool = False,
    next_url: str | None = None,
) -> HttpResponseRedirect:
    """Log in after a verified factor; it also counts as a fresh re-authentication."""
    pending = request.session.pop(PENDING_KEY, None) or {}
    next_url = safe_next(request, next_url or pending.get("next"))
    complete_login(request, user, method=method if not label else f"{method}:{label}")
    reauth.mark_recent_auth(request, method)
    response = HttpResponseRedirect(next_url)
    if remember:
        _remember(response, user)
        events.record(
            "account:two_factor:device_remembered", user=user, origin=Origin.from_request(request)
        )
    return response


def _remember(response: HttpResponse, user: User) -> None:
    value = signing.dumps({"u": user.pk, "h": user.get_session_auth_hash()}, salt=_REMEMBER_SALT)
    response.set_cookie(
        REMEMBER_COOKIE,
        value,
        max_age=REMEMBER_DAYS * 86400,
        path="/account/",
        secure=settings.BASE_URL_IS_HTTPS,
        httponly=True,
        samesite="Strict",
    )


def _remembered(request: HttpRequest, user: User) -> bool:
    raw = request.COOKIES.get(REMEMBER_COOKIE)
    if not raw:
        return False
    try:
        payload = signing.loads(raw, salt=_REMEMBER_SALT, max_age=REMEMBER_DAYS * 86400)
    except signing.BadSignature:
        return False
    return payload.get("u") == user.pk and constant_time_compare(
        payload.get("h", ""), user.get_session_auth_hash()
    )
