"""``POST /legacy/``: the upload endpoint twine, uv, poetry, pdm, hatch and flit speak.

This view only reads the request and translates the outcome. The message of a refusal goes in
the HTTP reason phrase (twine shows nothing else) and in the body (uv, pdm and poetry show that),
as plain text or, when the client prefers it, as PyPI's JSON shape.

Credentials come first: a missing, invalid or revoked token, or an account that may not upload
at all, is refused from the headers alone, before a byte of the body is read, so nobody without
the right to upload can make a worker wait for a body. An authenticated upload then takes a slot
(:mod:`bastion.upload.admission`) while its body arrives, within the body deadline
(:mod:`bastion.web.request_bodies`).
"""

import json
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bastion import authz
from bastion.authz import Actor
from bastion.events.services import Origin
from bastion.upload import admission, filenames, services
from bastion.upload import form as upload_form
from bastion.upload.handlers import SizeCap, keep_names_as_sent
from bastion.upload.services import UploadRejected
from bastion.web.request_bodies import BodyTooSlow

_BODY_TYPES = ["text/plain", "application/json"]


class _UploadRequest(HttpRequest):
    """The upload's request, which notes whether its body has been read (a type only)."""

    body_read: bool


def _reason_phrase(message: str) -> str:
    """One line of ISO-8859-1 without control characters: what an HTTP/1.1 status line can
    carry. Messages may echo what the client sent (an unknown action), escape codes included."""
    printable = "".join(char if char.isprintable() else " " for char in message)
    line = " ".join(printable.split())
    return line.encode("iso-8859-1", "replace").decode("iso-8859-1")


def refusal(request: HttpRequest, rejection: UploadRejected) -> HttpResponse:
    status, message = rejection.status, rejection.message
    if request.get_preferred_type(_BODY_TYPES) == "application/json":
        body = json.dumps(
            {"message": message, "code": f"{status} {message}", "title": HTTPStatus(status).phrase}
        )
        content_type = "application/json"
    else:
        body, content_type = message + "\n", "text/plain; charset=utf-8"
    response = HttpResponse(
        body, status=status, reason=_reason_phrase(message), content_type=content_type
    )
    if status == HTTPStatus.UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Basic realm="Bastion uploads"'
    if rejection.retry_after is not None:
        response["Retry-After"] = str(rejection.retry_after)
    return response


def _parse(request: HttpRequest) -> upload_form.UploadForm:
    try:
        return upload_form.parse(request.POST, request.GET, request.FILES)
    except BodyTooSlow as exc:
        raise UploadRejected(408, f"{exc} Upload again from a faster connection.") from exc
    except (MultiPartParserError, RequestDataTooBig, TooManyFieldsSent) as exc:
        raise UploadRejected(400, f"The upload form cannot be read: {exc}") from exc


def _receive(request: _UploadRequest, actor: Actor, origin: Origin) -> services.UploadResult:
    """Read the body (only now), then hand it to the service."""
    cap = SizeCap(request)
    request.upload_handlers = [cap, *request.upload_handlers]
    names_as_sent = keep_names_as_sent(request)
    form = _parse(request)
    request.body_read = True
    for name in names_as_sent:
        filenames.check_characters(name)
    services.check_action(form.action)
    if cap.exceeded:
        raise services.file_too_large(form.name)
    content = upload_form.content_file(request.FILES)
    return services.accept_upload(actor=actor, form=form, content=content, origin=origin)


def _refuse(request: _UploadRequest, rejection: UploadRejected) -> HttpResponse:
    response = refusal(request, rejection)
    if not request.body_read:  # what is left of the body must not be read as a request
        response["Connection"] = "close"
    return response


@csrf_exempt
@require_POST
def legacy_upload(request: _UploadRequest) -> HttpResponse:
    origin = Origin.from_request(request)
    request.body_read = False
    try:
        actor = services.authenticate(request.META.get("HTTP_AUTHORIZATION"), origin)
        services.check_may_upload(actor)
        with admission.upload_slot(origin.ip_address):
            result = _receive(request, actor, origin)
    except authz.Refused as refused:  # the gate's reason is twine's reason phrase
        return _refuse(request, UploadRejected(refused.status, refused.reason))
    except UploadRejected as rejection:
        return _refuse(request, rejection)
    body = f"{result.warning}\n" if result.warning else ""  # e.g. a critical project's grace period
    return HttpResponse(body, content_type="text/plain; charset=utf-8")
