"""Trusted publishers, the OIDC tokens already traded, and what each trade was for.

A publisher names a CI identity (a repository, a workflow in it, optionally a deployment
environment) that may publish one project without a person's credentials. A *pending* publisher
has no project yet, only the name its first trusted upload will create, owned by the person who
registered it. What the columns mean for each kind of CI lives in :mod:`bastion.publishing.kinds`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Publisher(models.Model):
    kind = models.CharField(max_length=20, help_text="github or gitlab (publishing.kinds).")
    issuer = models.CharField(max_length=255, help_text="The OIDC issuer whose tokens match.")
    project = models.ForeignKey(
        "packaging.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="publishers",
        help_text="Empty for a pending publisher.",
    )
    pending_name = models.CharField(
        max_length=200, blank=True, help_text="The project a pending publisher will create."
    )
    pending_normalized_name = models.CharField(max_length=200, blank=True, db_index=True)
    repository = models.CharField(
        max_length=255, help_text="GitHub OWNER/REPO, or GitLab NAMESPACE/PROJECT."
    )
    workflow = models.CharField(
        max_length=255, help_text="GitHub workflow file name, or GitLab CI config file path."
    )
    environment = models.CharField(
        max_length=255, blank=True, help_text="Empty: tokens from any environment match."
    )
    owner_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="The CI's numeric id of the repository's owner, pinned at the first trade, so "
        "a deleted and re-registered account of the same name cannot publish.",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    added_with_second_factor = models.BooleanField(
        default=False,
        help_text="Whoever added it had a second factor, or was the operator: only such a "
        "publisher uploads to a critical project once its mandate is enforced.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(project__isnull=True) & ~Q(pending_name=""))
                | (Q(project__isnull=False) & Q(pending_name="")),
                name="publisher_project_or_pending_name",
            ),
            models.UniqueConstraint(
                fields=["project", "kind", "issuer", "repository", "workflow", "environment"],
                condition=Q(project__isnull=False),
                name="publisher_unique_per_project",
            ),
            models.UniqueConstraint(
                fields=["kind", "issuer", "repository", "workflow", "environment"],
                condition=Q(project__isnull=True),
                name="pending_publisher_unique_identity",
            ),
        ]

    def __str__(self) -> str:
        from bastion.publishing.kinds import kind_of

        return kind_of(self.kind).describe(self)

    @property
    def kind_label(self) -> str:
        """The CI service's name, as the add form names it ("GitHub Actions")."""
        from bastion.publishing.kinds import kind_of

        return kind_of(self.kind).label

    @property
    def is_pending(self) -> bool:
        return self.project_id is None


class SeenToken(models.Model):
    """A JWT already traded, kept until it expires: the unique key refuses a replay atomically,
    across every server process."""

    issuer = models.CharField(max_length=255)
    jti = models.CharField(max_length=255)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "jti"], name="seen_token_unique_jti")
        ]

    def __str__(self) -> str:
        return f"{self.issuer} {self.jti}"


class Exchange(models.Model):
    """One trade: the upload token it minted and the claims its uploads' events record."""

    token = models.OneToOneField(
        "tokens.APIToken", on_delete=models.CASCADE, related_name="exchange"
    )
    publisher = models.ForeignKey(Publisher, on_delete=models.CASCADE, related_name="exchanges")
    other_publishers = models.ManyToManyField(
        Publisher,
        blank=True,
        related_name="shared_exchanges",
        help_text="Other projects' publishers that accepted the same claims: the token uploads "
        "to their projects too, each as its own publisher.",
    )
    claims = models.JSONField(default=dict, help_text="repository, workflow, ref, sha, …")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.publisher_id} at {self.created:%Y-%m-%d %H:%M}"


class Provenance(models.Model):
    """PEP 740 provenance of one file: the attestations its trusted publisher's CI job signed,
    verified at upload, with the publisher's identity and the run's claims beside them.

    The run's claims (repository, workflow, ref, sha, run URL) are the ones the upload's security
    event records; they are copied here because a trade's own row is deleted with its token.
    """

    file = models.OneToOneField(
        "packaging.File", on_delete=models.CASCADE, related_name="provenance"
    )
    publisher = models.ForeignKey(
        Publisher,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty once the publisher is removed; the rest still describes it.",
    )
    kind = models.CharField(max_length=20, help_text="github or gitlab (publishing.kinds).")
    publisher_object = models.JSONField(help_text="PEP 740's publisher object, as served.")
    attestations = models.JSONField(help_text="The attestation objects, as uploaded.")
    claims = models.JSONField(default=dict, help_text="repository, workflow, ref, sha, run_url")
    source_url = models.URLField(
        max_length=500, help_text="The repository the file was built from."
    )
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"provenance of {self.file_id}"
