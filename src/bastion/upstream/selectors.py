"""Read-only questions about the upstream cache: which public projects the organisation installs."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from bastion.critical.models import Designation
from bastion.downloads.services import class_downloads
from bastion.downloads.useragents import UPSTREAM
from bastion.packaging.models import Project

MOST_INSTALLED_DAYS = 30


def most_installed(limit: int = 20, days: int = MOST_INSTALLED_DAYS) -> list[dict]:
    """The upstream projects downloaded most through Bastion over the last ``days`` days.

    Ranked by downloads of files served from the upstream cache (their own class in the download
    counts), names hosted here left out; ``critical`` flags the names designated critical here,
    which is the organisation's own list of public projects to watch.
    """
    today = timezone.now().date()
    counts = class_downloads(today - timedelta(days=days - 1), today, UPSTREAM)
    if not counts:
        return []
    local = set(
        Project.objects.filter(normalized_name__in=counts).values_list("normalized_name", flat=True)
    )
    ranked = sorted(
        ((name, downloads) for name, downloads in counts.items() if name not in local),
        key=lambda pair: (-pair[1], pair[0]),
    )[:limit]
    critical = set(
        Designation.objects.active()
        .filter(normalized_name__in=[name for name, _ in ranked])
        .values_list("normalized_name", flat=True)
    )
    return [
        {"name": name, "downloads": downloads, "critical": name in critical}
        for name, downloads in ranked
    ]
