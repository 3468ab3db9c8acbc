"""What Bastion knows about the upstream index: cached projects, their files, allowed names.

A project page fetched from the upstream is rendered into Bastion's own page tree (see
``services``); these rows keep what the read path needs to fetch a listed file on its first
request (its upstream address and the sha256 the upstream listed) and what operators see.
"""

from django.db import models


class UpstreamProject(models.Model):
    """A project page fetched from the upstream index and cached here."""

    normalized_name = models.CharField(max_length=255, unique=True)
    etag = models.CharField(max_length=255, blank=True, help_text="For If-None-Match.")
    serial = models.BigIntegerField(default=0, help_text="The upstream's X-PyPI-Last-Serial.")
    refreshed_at = models.DateTimeField(help_text="When the upstream last confirmed the page.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["normalized_name"]

    def __str__(self) -> str:
        return self.normalized_name


class UpstreamFile(models.Model):
    """A file an upstream page listed; stored here once someone downloads it."""

    project = models.ForeignKey(UpstreamProject, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    url = models.TextField(help_text="Where the upstream serves it.")
    size = models.BigIntegerField(null=True, help_text="As listed, when the upstream says.")
    metadata_sha256 = models.CharField(max_length=64, blank=True)
    stored_bytes = models.BigIntegerField(default=0, help_text="File and .metadata kept here.")
    stored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "filename"], name="upstream_file_unique")
        ]

    def __str__(self) -> str:
        return self.filename


class AllowedName(models.Model):
    """A name an admin allowed to be created here although the upstream has it too.

    Once created here, the name is served only from local files: the upstream's are hidden.
    """

    normalized_name = models.CharField(max_length=255, unique=True)
    reason = models.TextField()
    allowed_by = models.CharField(max_length=150, blank=True, help_text="Who ran the command.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["normalized_name"]

    def __str__(self) -> str:
        return self.normalized_name


class HostedName(models.Model):
    """A name that has been hosted here: it never comes from the upstream, even once deleted.

    Otherwise deleting a private project would hand its name to whoever publishes it upstream.
    """

    normalized_name = models.CharField(max_length=255, unique=True)
    first_hosted = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["normalized_name"]

    def __str__(self) -> str:
        return self.normalized_name
