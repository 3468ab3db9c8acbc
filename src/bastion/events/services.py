"""Recording security events. Callers pass what happened; this module knows the shape."""

from collections.abc import Iterable
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


def event(
    tag: str, *, user=None, project=None, origin: Origin = CLI, **additional
) -> SecurityEvent:
    """One event, not yet written. Never pass secrets in ``additional``: it is shown to people."""
    return SecurityEvent(
        tag=tag,
        user=user,
        project=project,
        ip_address=origin.ip_address,
        user_agent=origin.user_agent,
        additional=additional,
    )


def record(
    tag: str, *, user=None, project=None, origin: Origin = CLI, **additional
) -> SecurityEvent:
    """Write one security event. Never pass secrets in ``additional``: it is shown to people."""
    written = event(tag, user=user, project=project, origin=origin, **additional)
    written.save(force_insert=True)
    return written


def record_all(events: Iterable[SecurityEvent]) -> None:
    """Write many events from :func:`event` at once: a job's thousands in a few statements."""
    SecurityEvent.objects.bulk_create(events, batch_size=2_000)
