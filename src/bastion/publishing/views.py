"""The exchange endpoints at PyPI's paths, and the pages where owners configure publishers.

``/_/oidc/audience`` and ``/_/oidc/mint-token`` are what ``pypa/gh-action-pypi-publish`` and
twine call, on the same host as the upload URL. A refused trade answers 422 with PyPI's shape,
``{"message": …, "errors": [{"code": …, "description": …}]}``, which the action prints.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST, require_safe

from bastion import authz
from bastion.accounts.http import SignedInRequest
from bastion.authz import Action
from bastion.events.services import Origin
from bastion.mfa.reauth import require_recent_auth, require_recent_auth_to_change
from bastion.packaging.models import Project
from bastion.packaging.services import PackagingError
from bastion.publishing import attestations, services
from bastion.publishing.forms import PendingPublisherForm, PublisherForm
from bastion.publishing.kinds import ClaimRefused
from bastion.web.gate import actor, origin, project_action, raise_if_gone


@require_GET
def oidc_audience(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"audience": services.audience()})


def _refused(refusal: ClaimRefused) -> JsonResponse:
    body = {
        "message": "Token request failed",
        "errors": [{"code": refusal.code, "description": refusal.description}],
    }
    return JsonResponse(body, status=422)


@csrf_exempt
@require_POST
def mint_token(request: HttpRequest) -> JsonResponse:
    try:
        payload = json.loads(request.body)
    except ValueError:
        payload = None
    token = payload.get("token") if isinstance(payload, dict) else None
    try:
        minted = services.exchange(token, Origin.from_request(request))
    except ClaimRefused as refusal:
        return _refused(refusal)
    return JsonResponse(
        {"success": True, "token": minted.secret, "expires": int(minted.expires.timestamp())}
    )


#: Provenance never changes while its file exists; PyPI lets clients keep it ten minutes too.
_PROVENANCE_HEADERS = {"Cache-Control": "max-age=600, public", "Access-Control-Allow-Origin": "*"}
_PROVENANCE_TYPES = [attestations.INTEGRITY_MEDIA_TYPE, "application/json"]


@require_safe
def provenance(request: HttpRequest, project: str, version: str, filename: str) -> HttpResponse:
    """``/integrity/<project>/<version>/<filename>/provenance``: PEP 740's provenance object."""
    media_type = request.get_preferred_type(_PROVENANCE_TYPES)
    if media_type is None:
        return JsonResponse(
            {"message": f"Request with an Accept of {' or '.join(_PROVENANCE_TYPES)}."},
            status=406,
            headers=_PROVENANCE_HEADERS,
        )
    found = attestations.find_provenance(project, version, filename)
    if found is None:
        return JsonResponse(
            {"message": f"No provenance available for {filename}"},
            status=404,
            headers=_PROVENANCE_HEADERS,
        )
    return HttpResponse(
        attestations.provenance_bytes(found),
        content_type=media_type,
        headers={**_PROVENANCE_HEADERS, "Vary": "Accept"},
    )


# -- owners' pages ------------------------------------------------------------------------------


def _page(request, project, form=None, status=200) -> HttpResponse:
    context = {
        "project": project,
        "publishers": services.publishers_of(project).select_related("added_by"),
        "form": form or PublisherForm(),
    }
    return render(request, "publishing/project.html", context, status=status)


@project_action(Action.MANAGE_PUBLISHERS)
@require_recent_auth_to_change
def project_publishers(request: SignedInRequest, project: Project) -> HttpResponse:
    if request.method != "POST":
        return _page(request, project)
    form = PublisherForm(request.POST)
    if form.is_valid():
        try:
            publisher = services.add_publisher(
                actor=actor(request), project=project, origin=origin(request), **form.cleaned_data
            )
        except PackagingError as error:
            raise_if_gone(error)
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Added the trusted publisher {publisher}.")
            return redirect("project_publishers", project.normalized_name)
    return _page(request, project, form=form, status=400)


@project_action(Action.MANAGE_PUBLISHERS)
@require_POST
@require_recent_auth
def remove_project_publisher(
    request: SignedInRequest, project: Project, publisher_id: int
) -> HttpResponse:
    try:
        publisher = services.find_publisher(project, publisher_id)
        services.remove_publisher(actor=actor(request), publisher=publisher, origin=origin(request))
    except PackagingError as error:
        raise_if_gone(error)
        messages.error(request, error.message)
    else:
        messages.success(request, f"Removed the trusted publisher {publisher}.")
    return redirect("project_publishers", project.normalized_name)


@login_required
@require_recent_auth_to_change
def pending_publishers(request: SignedInRequest) -> HttpResponse:
    form = PendingPublisherForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                publisher = services.add_pending_publisher(
                    actor=actor(request),
                    name=data.pop("project_name"),
                    origin=origin(request),
                    **data,
                )
            except authz.Refused as refused:  # shown beside the form, which keeps its input
                form.add_error(None, refused.reason)
                status = 403
            except PackagingError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Added the pending publisher {publisher}.")
                return redirect("pending_publishers")
        status = status if status != 200 else 400
    context = {"form": form, "publishers": services.pending_of(request.user)}
    return render(request, "publishing/pending.html", context, status=status)


@login_required
@require_POST
@require_recent_auth
def remove_pending_publisher(request: SignedInRequest, publisher_id: int) -> HttpResponse:
    publisher = services.pending_of(request.user).filter(pk=publisher_id).first()
    if publisher is not None:
        services.remove_publisher(actor=actor(request), publisher=publisher, origin=origin(request))
        messages.success(request, f"Removed the pending publisher {publisher}.")
    return redirect("pending_publishers")
