"""Designations and what follows from them: notices, reminders, deletion approvals, snapshots.

A designation is keyed by the normalized name, not by a project row: deleting a project and
creating it again, or a name that is not hosted here yet, meets the same designation.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ReasonKind(models.TextChoices):
    DOWNLOADS = "downloads", "downloads"
    DEPENDENCY = "dependency", "dependency of a critical project"
    ADMIN = "admin", "designated by an admin"


class DesignationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(removed_at__isnull=True)


class Designation(models.Model):
    """A name that is critical, why, since when, and from when its maintainers need 2FA."""

    normalized_name = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=16, choices=ReasonKind.choices)
    reason = models.JSONField(help_text="The reason at designation, as designation.as_dict().")
    designated_at = models.DateTimeField(default=timezone.now)
    enforcement_date = models.DateField(help_text="From this day on, maintainers need 2FA.")
    designated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removal_reason = models.TextField(blank=True)
    stewards = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text="Who held a role when the project was deleted: only they may create it again.",
    )

    objects = DesignationQuerySet.as_manager()

    class Meta:
        ordering = ["normalized_name"]

    def __str__(self) -> str:
        return self.normalized_name

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class DesignationNotice(models.Model):
    """One row per (designation, person) records that the 'now critical' mail went out once."""

    designation = models.ForeignKey(Designation, on_delete=models.CASCADE, related_name="notices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["designation", "user"], name="one_notice_per_person")
        ]

    def __str__(self) -> str:
        return f"notice of {self.designation} to {self.user}"


class GraceReminder(models.Model):
    """The daily reminder to a maintainer without 2FA during a grace period: one per day."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="one_reminder_per_day")]

    def __str__(self) -> str:
        return f"reminder to {self.user} on {self.day}"


class DeletionRequest(models.Model):
    """An owner's wish to delete a critical project or its last release, awaiting an admin."""

    project = models.ForeignKey(
        "packaging.Project", on_delete=models.CASCADE, related_name="deletion_requests"
    )
    version = models.CharField(max_length=255, blank=True, help_text="Blank: the whole project.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    approved = models.BooleanField(null=True, help_text="None while pending.")
    note = models.TextField(blank=True, help_text="The admin's note on the decision.")
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        what = f"{self.project.name} {self.version}" if self.version else self.project.name
        return f"delete {what}"


class StatsSnapshot(models.Model):
    """The adoption numbers of one day, for the history chart on /stats/."""

    day = models.DateField(unique=True)
    numbers = models.JSONField()

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"statistics of {self.day}"
