"""Projects, releases, files and roles: what the index holds.

Everything is keyed by the PEP 503 normalized project name, because that is how clients ask and
how later policy (the critical-project designation) names things.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ProjectStatus(models.TextChoices):
    """PEP 792 project status markers."""

    ACTIVE = "active"
    ARCHIVED = "archived"
    QUARANTINED = "quarantined"
    DEPRECATED = "deprecated"


class Ultranormalized(models.Func):
    """PyPI's ``ultranormalize_name`` in SQL, over a column of normalized names: no separators,
    l and i as 1, o as 0 (``bastion.packaging.services.ultranormalize`` in Python).

    The replaced letters are written into the SQL rather than passed as parameters, so that the
    database matches the expression with the index on it: checking a new name against 500,000
    projects is one index lookup, not a scan.
    """

    template = (
        "REPLACE(REPLACE(REPLACE(REPLACE(%(expressions)s, '-', ''), 'l', '1'), 'i', '1'), 'o', '0')"
    )
    output_field = models.CharField()


class Project(models.Model):
    name = models.CharField(max_length=255, help_text="Display name, as first uploaded.")
    normalized_name = models.CharField(max_length=255, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=16, choices=ProjectStatus.choices, default=ProjectStatus.ACTIVE
    )
    status_reason = models.CharField(max_length=255, blank=True)
    last_serial = models.BigIntegerField(default=0)
    requires_two_factor = models.BooleanField(
        default=False,
        help_text="The owners ask every maintainer of this project to use two-factor auth.",
    )

    class Meta:
        ordering = ["normalized_name"]
        indexes = [
            # The home page: the most recently changed projects first, at any number of them.
            models.Index(fields=["-last_serial"], name="project_newest_first"),
            # A new name's look-alikes among existing projects (PyPI's confusable-name rule).
            models.Index(Ultranormalized("normalized_name"), name="project_ultranormalized"),
        ]

    def __str__(self) -> str:
        return self.name


class RoleName(models.TextChoices):
    OWNER = "Owner"
    MAINTAINER = "Maintainer"


class Role(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="roles")
    role_name = models.CharField(max_length=16, choices=RoleName.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="one_role_per_user_project")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role_name} of {self.project}"


class RoleInvitation(models.Model):
    """An owner's offer of a role. It becomes a :class:`Role` only when the invitee accepts."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_invitations"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    role_name = models.CharField(max_length=16, choices=RoleName.choices)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["invitee", "project"], name="one_invitation_per_user_project"
            )
        ]

    def __str__(self) -> str:
        return f"{self.invitee} invited as {self.role_name} of {self.project}"

    def is_expired(self, now=None) -> bool:
        return self.expires <= (now or timezone.now())


class Release(models.Model):
    """One version of a project. Its metadata is what the first uploaded file declared."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=255, help_text="Normalized PEP 440 version.")
    canonical_version = models.CharField(
        max_length=255, help_text="packaging's canonicalize_version: decides release identity."
    )
    is_prerelease = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    metadata_version = models.CharField(max_length=8)
    summary = models.CharField(max_length=512, blank=True)
    description = models.TextField(blank=True)
    description_content_type = models.CharField(max_length=128, blank=True)
    keywords = models.TextField(blank=True)
    home_page = models.TextField(blank=True)
    download_url = models.TextField(blank=True)
    author = models.TextField(blank=True)
    author_email = models.TextField(blank=True)
    maintainer = models.TextField(blank=True)
    maintainer_email = models.TextField(blank=True)
    license = models.TextField(blank=True)
    license_expression = models.TextField(blank=True)
    license_files = models.JSONField(default=list, blank=True)
    classifiers = models.JSONField(default=list, blank=True)
    platform = models.JSONField(default=list, blank=True)
    supported_platform = models.JSONField(default=list, blank=True)
    requires_python = models.CharField(max_length=255, blank=True)
    requires_dist = models.JSONField(default=list, blank=True)
    provides_dist = models.JSONField(default=list, blank=True)
    obsoletes_dist = models.JSONField(default=list, blank=True)
    requires_external = models.JSONField(default=list, blank=True)
    provides_extra = models.JSONField(default=list, blank=True)
    project_urls = models.JSONField(default=dict, blank=True)
    dynamic = models.JSONField(default=list, blank=True)
    import_names = models.JSONField(default=list, blank=True)
    import_namespaces = models.JSONField(default=list, blank=True)

    yanked = models.BooleanField(default=False)
    yanked_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "canonical_version"], name="one_release_per_canonical_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project.name} {self.version}"


class PackageType(models.TextChoices):
    SDIST = "sdist"
    BDIST_WHEEL = "bdist_wheel"


class UploadMethod(models.TextChoices):
    """How the upload of a file authenticated, kept on the file so statistics count it cheaply.

    Uploads authenticate only with API tokens (``bastion.upload.services.authenticate``): a
    person's own, or one a trusted publisher's CI job traded its OIDC token for.
    """

    TRUSTED_PUBLISHER = "trusted_publisher", "Trusted publisher"
    API_TOKEN = "api_token", "API token"
    UNKNOWN = "unknown", "Not recorded"  # no upload event names the file (see migration 0004)


class File(models.Model):
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255, unique=True)
    packagetype = models.CharField(max_length=16, choices=PackageType.choices)
    python_version = models.CharField(max_length=128)
    requires_python = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField()
    sha256_digest = models.CharField(max_length=64, unique=True)
    blake2_256_digest = models.CharField(max_length=64, unique=True)
    md5_digest = models.CharField(max_length=32)
    path = models.CharField(max_length=512, help_text="Storage key, derived from the content hash.")
    upload_time = models.DateTimeField()
    comment_text = models.TextField(blank=True)
    metadata_sha256_digest = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the core metadata served as <file>.metadata"
    )
    metadata_path = models.CharField(max_length=512, blank=True)
    uploaded_via = models.CharField(  # indexed: /stats/ counts files by it on every view
        max_length=20, choices=UploadMethod.choices, default=UploadMethod.UNKNOWN, db_index=True
    )

    class Meta:
        ordering = ["filename"]

    def __str__(self) -> str:
        return self.filename


class FilenameReservation(models.Model):
    """Every filename ever uploaded. A filename is never reused, even after its file is deleted."""

    filename = models.CharField(max_length=255, unique=True)
    project_name = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename


class Dependency(models.Model):
    """One ``Requires-Dist`` edge of a release, which the critical-project designation follows."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="dependencies")
    name = models.CharField(max_length=255, db_index=True, help_text="Normalized project name.")
    specifier = models.TextField(blank=True)
    marker = models.TextField(blank=True)
    extra_only = models.BooleanField(
        default=False, help_text="Only required when an extra is requested."
    )

    class Meta:
        verbose_name_plural = "dependencies"

    def __str__(self) -> str:
        return f"{self.release} -> {self.name}"


class DeletionRecord(models.Model):
    """Why a release or a file went away, and who removed it. Kept after the rows are gone."""

    project = models.ForeignKey(
        Project, null=True, on_delete=models.SET_NULL, related_name="deletions"
    )
    project_name = models.CharField(max_length=255)
    version = models.CharField(max_length=255)
    filenames = models.JSONField(default=list, help_text="Every file that was removed.")
    whole_release = models.BooleanField(default=False)
    reason = models.TextField()
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-time"]

    def __str__(self) -> str:
        what = "release" if self.whole_release else ", ".join(self.filenames)
        return f"{self.project_name} {self.version}: {what} deleted"


class JournalEntry(models.Model):
    """A change to the index. Its id is the monotonically increasing serial (X-PyPI-Last-Serial)."""

    project_name = models.CharField(max_length=255, db_index=True)
    action = models.CharField(max_length=255)
    version = models.CharField(max_length=255, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    time = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"#{self.pk} {self.project_name}: {self.action}"
