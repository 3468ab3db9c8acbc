"""Reading the security log for the history pages."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from bastion.events.models import SecurityEvent

#: How far back the history pages look, as PyPI's "Security history" does.
HISTORY_WINDOW = timedelta(days=90)


def _recent() -> QuerySet[SecurityEvent]:
    since = timezone.now() - HISTORY_WINDOW
    return SecurityEvent.objects.filter(time__gte=since).select_related("user", "project")


def account_history(user) -> QuerySet[SecurityEvent]:
    return _recent().filter(user=user)


def project_history(project) -> QuerySet[SecurityEvent]:
    return _recent().filter(project=project)
