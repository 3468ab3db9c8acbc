"""Recording security events. Callers pass what happened; this module knows the shape."""

from dataclasses import dataclass

from bastion.client_address import client_address
from bastion.events.models import SecurityEvent


@dataclass(frozen=True)
class Origin:
    """Where a request came from, carried from the view layer into services."""

    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request) -> "Origin":
        """The request's client: its real address (bastion.client_address) and agent."""
        return cls(
            ip_address=client_address(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        )


CLI = Origin(ip_address=None, user_agent="bastion-cli")


def record(
    tag: str, *, user=None, project=None, origin: Origin = CLI, **additional
) -> SecurityEvent:
    """Write one security event. Never pass secrets in ``additional``: it is shown to people."""
    return SecurityEvent.objects.create(
        tag=tag,
        user=user,
        project=project,
        ip_address=origin.ip_address,
        user_agent=origin.user_agent,
        additional=additional,
    )
