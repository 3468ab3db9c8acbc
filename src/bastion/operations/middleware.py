"""Counting and timing the requests that reach Django (the read path counts its own)."""

import time

from bastion.operations import metrics

UPLOAD_ROUTES = frozenset({"legacy-upload", "legacy-upload-no-slash"})


class RequestMetricsMiddleware:
    """First in the chain, so its time includes every other middleware and the body's arrival."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = match.view_name if match is not None else "unmatched"
        metrics.REQUESTS.labels(route, str(response.status_code)).inc()
        if route in UPLOAD_ROUTES:
            metrics.UPLOAD_SECONDS.observe(time.perf_counter() - started)
        return response
