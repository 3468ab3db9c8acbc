"""Keeping the label when a project row is deleted or its name changes, on any path.

These listen to the Project model itself, so the Django admin, a future rename feature or a
maintenance script cannot shed a designation by going around the services.
"""

from __future__ import annotations

from django.db import transaction

from bastion.critical.models import Designation
from bastion.events import services as events
from bastion.packaging.models import Project, Role


def remember_stewards(sender, instance: Project, **kwargs) -> None:
    """pre_delete: a deleted critical project's name stays with the people who held it: before
    its row goes, remember who held it, since only they may re-create it."""
    designation = Designation.objects.active().filter(normalized_name=instance.normalized_name)
    designation = designation.first()
    if designation is None:
        return
    users = Role.objects.filter(project=instance).values_list("user_id", flat=True)
    designation.stewards.add(*users)


def note_old_name(sender, instance: Project, **kwargs) -> None:
    """pre_save: remember the name the row had, so post_save can tell a rename."""
    if instance.pk is None:
        return
    instance._critical_old_name = (  # type: ignore[attr-defined]  # read back in post_save
        Project.objects.filter(pk=instance.pk).values_list("normalized_name", flat=True).first()
    )


def carry_over_on_rename(sender, instance: Project, created: bool, **kwargs) -> None:
    """post_save: a renamed critical project keeps its designation (its releases and files are
    the same); the old name stays designated too, so it is not released to anyone else."""
    old = getattr(instance, "_critical_old_name", None)
    if created or old is None or old == instance.normalized_name:
        return
    designation = Designation.objects.active().filter(normalized_name=old).first()
    if designation is None:
        return
    with transaction.atomic():
        _, made = Designation.objects.get_or_create(
            normalized_name=instance.normalized_name,
            defaults={
                "kind": designation.kind,
                "reason": designation.reason,
                "designated_at": designation.designated_at,
                "enforcement_date": designation.enforcement_date,
                "designated_by": designation.designated_by,
            },
        )
        if made:
            events.record(
                "project:critical:rename", project=instance, renamed_from=old,
                name=instance.normalized_name,
            )  # fmt: skip
