"""``/metrics``: Prometheus's scrape, open only as ``BASTION_METRICS`` allows."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from bastion.client_address import client_address
from bastion.operations import metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_view(request: HttpRequest) -> HttpResponse:
    """404 while metrics are off; 403 for a client outside the allowed networks."""
    allowed = settings.METRICS
    if allowed == "off":
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    if isinstance(allowed, tuple) and not _allowed(client_address(request), allowed):
        return HttpResponse(
            "Forbidden: metrics are open only to the addresses in BASTION_METRICS",
            status=403,
            content_type="text/plain",
        )
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE)


def _allowed(address: str | None, networks: tuple) -> bool:
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == network.version and ip in network for network in networks)
