"""Security history: a user's own account, and (for owners) a project's."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bastion.authz import Action
from bastion.events import selectors
from bastion.packaging.models import Project
from bastion.web.gate import project_action

PAGE_SIZE = 50


def _page(request: HttpRequest, events, template: str, **context) -> HttpResponse:
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, template, {"page": page, "window": selectors.HISTORY_WINDOW, **context})


@login_required
def account_history(request: HttpRequest) -> HttpResponse:
    events = selectors.account_history(request.user)
    return _page(request, events, "events/account_history.html")


@project_action(Action.READ_HISTORY)
def project_history(request: HttpRequest, project: Project) -> HttpResponse:
    """Only owners read a project's history: it names the people and addresses behind changes.

    Reading changes nothing, so an owner who has not enrolled 2FA yet (on a critical project,
    or one that requires it) still reads it: how else would they see what happened?"""
    events = selectors.project_history(project)
    return _page(request, events, "events/project_history.html", project=project)
