"""The security event log: what happened to an account or a project, when, and from where."""

from django.conf import settings
from django.db import models


class SecurityEvent(models.Model):
    """One security-relevant action. Append-only; never edited after it is written."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
    )
    project = models.ForeignKey(
        "packaging.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
    )
    tag = models.CharField(max_length=64, db_index=True)
    time = models.DateTimeField(auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    additional = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-time", "-id"]

    def __str__(self) -> str:
        return f"{self.tag} at {self.time:%Y-%m-%d %H:%M:%S}"
