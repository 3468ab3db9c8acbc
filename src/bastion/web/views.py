"""Site-wide views that belong to no single domain: health, the home page, user profiles."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from bastion.operations import checks
from bastion.packaging import selectors
from bastion.packaging.forms import SearchForm

logger = logging.getLogger(__name__)


def healthz(request):
    """Each quick dependency's state, for load balancers and the test harness.

    503 when a required one fails, so a balancer stops sending traffic here. The states only:
    reasons name hosts and paths, so they go to the log and to ``bastion check``.
    """
    results = checks.run_checks(quick_only=True)
    for result in results:
        if result.failed:
            logger.warning("healthz: %s is failing: %s", result.name, result.detail)
    healthy = not any(r.failed and r.required for r in results)
    body = {
        "status": "ok" if healthy else "failing",
        "checks": {r.name: r.state for r in results},
    }
    return JsonResponse(body, status=200 if healthy else 503)


def _page(request: HttpRequest, projects) -> Page:
    return Paginator(projects, selectors.PAGE_SIZE).get_page(request.GET.get("page"))


def home(request: HttpRequest) -> HttpResponse:
    """Ranked search results; without a query, the most recently changed projects."""
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    projects = selectors.search_projects(query) if query else selectors.recently_changed()
    page = _page(request, projects)
    context = {"form": form, "query": query, "page": page, "rows": selectors.listings(page)}
    return render(request, "web/home.html", context)


def user_profile(request: HttpRequest, username: str) -> HttpResponse:
    """A public profile: the user's projects and roles. Never their email addresses."""
    user = get_object_or_404(get_user_model(), username=username, is_active=True)
    page = _page(request, selectors.listed_projects_of(user))
    return render(request, "web/user.html", {"profile": user, "page": page})


def help_page(request: HttpRequest) -> HttpResponse:
    """What each error the upload and management paths link to means, and what to do about it."""
    context = {
        "base_url": settings.BASE_URL,
        "max_upload_mb": f"{settings.MAX_UPLOAD_BYTES / 1024**2:g}",
    }
    return render(request, "web/help.html", context)
