"""Security headers for every response (a strict Content-Security-Policy, no inline scripts),
no NUL character past the door, and a page a browser can show for a form's address."""

from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class RefuseNulMiddleware:
    """No NUL reaches a view: a path holding one is not found, a header holding one is refused.

    PostgreSQL cannot hold a NUL in text, so a name taken from the path (``/project/<name>/``)
    and looked up would fail with a 500; RFC 9110 makes a NUL in a header field invalid, and the
    User-Agent is written into security events. The read path (``/simple/``, ``/files/``) is
    answered in front of Django and checks its own names, so it pays nothing for this.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for key, value in request.META.items():
            if key.startswith("HTTP_") and "\x00" in value:
                return HttpResponseBadRequest(
                    "A request header contains a NUL character.", content_type="text/plain"
                )
        if "\x00" in request.path:
            raise Http404("Not Found")
        return self.get_response(request)


class MethodNotAllowedPageMiddleware:
    """A browser opening a form's address (after a failed submission left it in the address bar,
    or a reload) gets a page saying where the form is, not an empty 405 it shows as broken.

    Only for pages: clients of the upload and JSON APIs keep the bare 405 and its Allow header.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code != 405
            or response.content
            or request.method != "GET"
            or "text/html" not in request.headers.get("Accept", "")
        ):
            return response
        page = render(request, "web/405.html", status=405)
        page["Allow"] = response.get("Allow", "")
        return page
