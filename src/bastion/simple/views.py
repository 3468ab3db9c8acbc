"""Views for PyPI's JSON API. The simple pages and files are served by ``readpath``, not here."""

from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.views.decorators.http import require_safe

from bastion.packaging.services import normalize
from bastion.simple import jsonapi
from bastion.simple.pagecache import PAGE_CACHE_CONTROL
from bastion.simple.replies import etag_matches


@require_safe
def project_json(request, name: str, version: str | None = None):
    """``/pypi/<name>/json`` and ``/pypi/<name>/<version>/json``; 301 to the normalized name."""
    normalized = normalize(name)
    if normalized != name:
        tail = f"{version}/json" if version is not None else "json"
        return HttpResponsePermanentRedirect(f"/pypi/{normalized}/{tail}")
    stored = jsonapi.stored(normalized, version)
    if stored is None:
        return JsonResponse({"message": "Not Found"}, status=404)
    headers = {
        "ETag": stored.etag,
        "Cache-Control": PAGE_CACHE_CONTROL,
        "X-PyPI-Last-Serial": str(stored.serial),
        "Access-Control-Allow-Origin": "*",
    }
    if etag_matches(request.headers.get("If-None-Match"), stored.etag):
        return HttpResponse(status=304, headers=headers)
    return HttpResponse(stored.body, content_type="application/json", headers=headers)
