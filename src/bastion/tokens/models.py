"""API tokens. Only a SHA-256 digest of each token is stored; the token itself is shown once."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class APIToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(max_length=100)
    project = models.ForeignKey(
        "packaging.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tokens",
        help_text="Empty for a user-wide token.",
    )
    publisher = models.ForeignKey(
        "publishing.Publisher",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tokens",
        help_text="Set for the short-lived tokens a trusted publisher's CI job traded for; "
        "removing the publisher deletes them.",
    )
    digest = models.CharField(max_length=64, unique=True, help_text="sha256 of the whole token.")
    display_prefix = models.CharField(
        max_length=24, help_text="The first characters, to tell tokens apart."
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(
        null=True,
        blank=True,
        help_text="The address of the use last recorded as a security event.",
    )
    revoked = models.DateTimeField(null=True, blank=True)
    read_only = models.BooleanField(
        default=False,
        help_text="Installs from a private index but never uploads (for CI and laptops).",
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        if self.read_only:
            return f"{self.name} (read-only)"
        scope = self.project.normalized_name if self.project else "all projects"
        return f"{self.name} ({scope})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked is None and (self.expires is None or self.expires > now)
