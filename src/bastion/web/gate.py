"""The view side of the gate: turning a refused :class:`~bastion.authz.Decision` into
the 403 page, in one place, so every management page refuses the same way.

``project_action(Action.X)`` wraps a view that takes a project name: it requires a signed-in
user, loads the project (404 if there is none), asks :func:`authz.may` and either renders the
refusal or calls the view with the project. Services ask the gate again when they act, so a view
can never be the only check.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from bastion import authz
from bastion.accounts.http import SignedInRequest
from bastion.events.services import Origin
from bastion.packaging.services import PackagingError, get_project


def refuse(
    request: HttpRequest, reason: str, fix_url: str | None = None, code: str = ""
) -> HttpResponse:
    """The 403 page: what was refused, why, where to fix it, and the gate's code for it."""
    context = {"reason": reason, "fix_url": fix_url, "code": code}
    return render(request, "web/403.html", context, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a form sent without its matching cookie (cookies cleared, another
    tab signed out, a page kept open across a sign-in) gets the site's 403 page and a way back."""
    return refuse(
        request,
        "This form could not be checked: it was sent without the cookie this site set with it "
        "(cookies cleared, or the page was open across a sign-in or sign-out). Open the page "
        "again and send the form once more.",
        fix_url=request.path if request.method == "POST" else None,
    )


def refuse_decision(request: HttpRequest, decision: authz.Decision) -> HttpResponse:
    return refuse(request, decision.reason, decision.fix_url, str(decision.code or ""))


class RefusalMiddleware:
    """A refusal no view caught becomes the 403 page: the one place pages show ``authz.Refused``.

    Views catch it themselves only to say it somewhere else (beside a form field, as a message).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, authz.Refused):
            return refuse_decision(request, exception.decision)
        return None


def actor(request: SignedInRequest) -> authz.Actor:
    return authz.Actor(user=request.user)


def origin(request: HttpRequest) -> Origin:
    return Origin.from_request(request)


def project_action(action: authz.Action) -> Callable:
    """Decorate ``view(request, project, **kwargs)`` reached as ``/…/<name>/…``."""

    def decorate(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def gated(request: SignedInRequest, name: str, **kwargs) -> HttpResponse:
            project = get_project(name)
            if project is None:
                raise Http404(f"There is no project named '{name}'.")
            decision = authz.may(actor(request), action, project)
            if not decision.allowed:
                return refuse_decision(request, decision)
            return view(request, project, **kwargs)

        return gated

    return decorate


def raise_if_gone(error: PackagingError) -> None:
    """A service's error about something that is gone (status 404) is the 404 page; any other is
    an ordinary validation error, which the caller shows beside the form field or as a message.
    (The gate's refusals are :class:`authz.Refused`, shown by :class:`RefusalMiddleware`.)"""
    if error.status == 404:
        raise Http404(error.message)
