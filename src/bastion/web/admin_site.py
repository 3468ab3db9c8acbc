"""The admin site: Django's, opened only through the site's own sign-in, a second factor and
sudo mode.

Django's admin has its own password form, which knows nothing of the second-factor step, the
sign-in rate limits or the security log. Here it has none: its login URL sends the browser to
``/account/login/`` (keeping ``next``), and the admin opens only while

- the account is active staff with a second factor (a security key or passkey where
  ``BASTION_ADMIN_REQUIRE_WEBAUTHN=1``): the gate's :attr:`~authz.Action.USE_ADMIN`;
- the session proved the password and a factor in the last 15 minutes: sudo mode
  (:mod:`bastion.mfa.reauth`), the same confirmation the site's sensitive pages ask for; with
  ``BASTION_ADMIN_REQUIRE_WEBAUTHN=1`` the factor that proved it must be a key or passkey too,
  else a phished password and TOTP code would open the admin of an account that also has a key.

Whoever the admin refuses lands on its login URL, which sends them to what they lack: the
sign-in, the two-factor set-up page, or the confirmation page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from bastion import authz
from bastion.mfa import reauth
from bastion.mfa.login import safe_next
from bastion.web import gate

NEEDS_KEY_REAUTH = (
    "Confirm it's you with your password and your security key or passkey: the admin does not "
    "accept an authenticator app here. The confirmation lasts 15 minutes."
)


def _decision(request: HttpRequest) -> authz.Decision:
    # Asked only once the user is signed in: has_permission and login check that first.
    return authz.may(gate.actor(request), authz.Action.USE_ADMIN)  # type: ignore[arg-type]


def _confirmed(request: HttpRequest) -> bool:
    return reauth.has_recent_auth(request, phishing_resistant=settings.ADMIN_REQUIRE_WEBAUTHN)


class BastionAdminSite(admin.AdminSite):
    # Bastion's name, not "Django administration", and "View site" back to the index.
    site_header = "Bastion administration"
    site_title = "Bastion admin"
    index_title = "Operate this index"
    site_url = "/"

    def has_permission(self, request: HttpRequest) -> bool:
        """Active staff with a second factor, confirmed in the last 15 minutes."""
        return (
            super().has_permission(request) and _confirmed(request) and _decision(request).allowed
        )

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """Never checks a password: sends the browser to what it lacks, then back to ``next``."""
        next_path = safe_next(request, request.GET.get("next"), reverse("admin:index"))
        if not request.user.is_authenticated:
            query = urlencode({"next": next_path})
            return HttpResponseRedirect(f"{reverse('accounts:login')}?{query}")
        decision = _decision(request)
        if not decision.allowed and decision.fix_url:
            messages.error(request, decision.reason)
            return HttpResponseRedirect(decision.fix_url)
        if not decision.allowed:
            return gate.refuse_decision(request, decision)
        if not _confirmed(request):
            key_only = settings.ADMIN_REQUIRE_WEBAUTHN
            messages.warning(request, NEEDS_KEY_REAUTH if key_only else reauth.NEEDS_REAUTH)
            return HttpResponseRedirect(reauth.reauth_url(next_path))
        return HttpResponseRedirect(next_path)
