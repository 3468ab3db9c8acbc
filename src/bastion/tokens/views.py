"""The token page: create a token (shown exactly once), list tokens, revoke one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from bastion.accounts.http import SignedInRequest
from bastion.mfa.reauth import require_recent_auth_to_change
from bastion.packaging import selectors
from bastion.packaging.services import get_project
from bastion.tokens import services
from bastion.tokens.forms import USER_WIDE, TokenForm
from bastion.tokens.models import APIToken
from bastion.web.gate import actor, origin


def _token_form(request: HttpRequest, data=None) -> TokenForm:
    projects = [role.project for role in selectors.projects_of(request.user)]
    return TokenForm(data, projects=projects)


def _page(request, form, minted=None, status=200) -> HttpResponse:
    context = {"form": form, "minted": minted, "tokens": services.tokens_of(request.user)}
    return render(request, "tokens/tokens.html", context, status=status)


@never_cache
@login_required
@require_recent_auth_to_change
def tokens(request: SignedInRequest) -> HttpResponse:
    """GET lists the tokens; POST mints one and shows its secret in this response only.

    The secret is never stored in the session or anywhere else, so reloading the list cannot show
    it again; ``never_cache`` keeps it out of the browser's and proxies' caches.
    """
    if request.method != "POST":
        return _page(request, _token_form(request))
    form = _token_form(request, request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    scope = form.cleaned_data["scope"]
    project = get_project(scope) if scope != USER_WIDE else None
    minted = services.create_token(  # a refusal is the gate's 403 page (web.gate)
        actor=actor(request),
        name=form.cleaned_data["name"],
        project=project,
        expires_days=form.cleaned_data["expires_days"],
        read_only=form.cleaned_data["read_only"],
        origin=origin(request),
    )
    return _page(request, _token_form(request), minted=minted)


@login_required
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(APIToken, pk=token_id, user=request.user, revoked__isnull=True)
    services.revoke(token, origin=origin(request))
    messages.success(request, f"Revoked the token '{token.name}'. It can no longer be used.")
    return redirect("tokens")
