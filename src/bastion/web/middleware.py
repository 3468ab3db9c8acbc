"""Security headers for every response (a strict Content-Security-Policy, no inline scripts),
and no NUL character past the door."""

from django.http import Http404, HttpResponseBadRequest

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
