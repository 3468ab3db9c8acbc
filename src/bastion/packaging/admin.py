"""Projects in the admin: status, the 2FA setting, roles inline; deletion records read-only."""

from django.contrib import admin

from bastion.accounts.models import User
from bastion.events import services as events
from bastion.events.admin import SecurityEventInline
from bastion.events.services import Origin
from bastion.packaging import management, notifications
from bastion.packaging.models import (
    DeletionRecord,
    FilenameReservation,
    JournalEntry,
    Project,
    Release,
    Role,
    RoleInvitation,
)
from bastion.packaging.services import journal

ADMIN_DELETION_REASON = "Deleted by an administrator in the admin."


class JournalledAdmin(admin.ModelAdmin):
    """An operator's edit goes into the journal like any other change: the serial moves, the
    simple pages re-render (a quarantine or a yank takes effect at once), and it is an event."""

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        project = self.project_of(obj)
        fields = ", ".join(form.changed_data) or "nothing"
        journal(project, f"admin change to {obj}: {fields}"[:255], user=request.user)
        events.record(
            "admin:change",
            user=request.user,
            project=project,
            origin=Origin.from_request(request),
            object=str(obj),
            fields=form.changed_data,
            notified=self.notify_change(request, obj, form),
        )

    def notify_change(self, request, obj, form) -> list[str]:
        """Tell the project's people of an edit they must hear about; the usernames told."""
        return []

    def save_formset(self, request, form, formset, change) -> None:
        """Rows added, changed or removed inline (roles, above all) are events too: who may
        publish a project is exactly what its security history must show."""
        super().save_formset(request, form, formset, change)
        changes = [f"added {obj}" for obj in formset.new_objects]
        changes += [
            f"changed {obj}: {', '.join(fields)}" for obj, fields in formset.changed_objects
        ]
        changes += [f"removed {obj}" for obj in formset.deleted_objects]
        if changes:
            events.record(
                "admin:change",
                user=request.user,
                project=self.project_of(form.instance),
                origin=Origin.from_request(request),
                object=str(formset.model._meta.verbose_name_plural),
                changes=changes,
                notified=_notify_role_rows(request.user, formset),
            )

    def project_of(self, obj) -> Project:
        return obj.project


def _notify_role_rows(admin_user, formset) -> list[str]:
    """Roles edited inline tell the owners and the person, as an owner's edits do."""
    if formset.model is not Role:
        return []
    told: set[str] = set()
    for role in formset.new_objects:
        told.update(
            notifications.collaborator_added(role.project, admin_user, role.user, role.role_name)
        )
    for role, fields in formset.changed_objects:
        before = next(form.initial for form in formset.forms if form.instance is role)
        if "user" in fields:
            previous = User.objects.get(pk=before["user"])
            told.update(
                notifications.collaborator_removed(
                    role.project, admin_user, previous, before["role_name"]
                )
            )
            told.update(
                notifications.collaborator_added(
                    role.project, admin_user, role.user, role.role_name
                )
            )
        elif "role_name" in fields:
            told.update(
                notifications.role_changed(
                    role.project, admin_user, role.user, before["role_name"], role.role_name
                )
            )
    for role in formset.deleted_objects:
        told.update(
            notifications.collaborator_removed(role.project, admin_user, role.user, role.role_name)
        )
    return sorted(told)


class RoleInline(admin.TabularInline):
    model = Role
    fields = ["user", "role_name", "created"]
    readonly_fields = ["created"]
    raw_id_fields = ["user"]
    extra = 0


class InvitationInline(admin.TabularInline):
    model = RoleInvitation
    fk_name = "project"
    fields = ["invitee", "role_name", "invited_by", "created", "expires"]
    readonly_fields = fields
    extra = 0
    max_num = 0


class ReleaseInline(admin.TabularInline):
    model = Release
    fields = ["version", "created", "yanked", "yanked_reason"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False  # a release is deleted from its own page, which removes its files too
    show_change_link = True


class ProjectEventInline(SecurityEventInline):
    fk_name = "project"


@admin.register(Project)
class ProjectAdmin(JournalledAdmin):
    list_display = ["name", "normalized_name", "status", "requires_two_factor", "created"]
    list_filter = ["status", "requires_two_factor"]
    search_fields = ["name", "normalized_name"]
    fields = [
        "name",
        "normalized_name",
        "status",
        "status_reason",
        "requires_two_factor",
        "created",
        "last_serial",
    ]
    readonly_fields = ["normalized_name", "created", "last_serial"]
    inlines = [RoleInline, InvitationInline, ReleaseInline, ProjectEventInline]

    def project_of(self, obj: Project) -> Project:
        return obj

    def delete_model(self, request, obj: Project) -> None:
        """Through the same removal as an owner's: the bytes go, the pages drop the project,
        the filenames stay reserved and the deletion is recorded (the admin is the approver)."""
        management.remove_project(
            obj,
            user=request.user,
            reason=ADMIN_DELETION_REASON,
            origin=Origin.from_request(request),
        )

    def delete_queryset(self, request, queryset) -> None:
        for project in queryset:
            self.delete_model(request, project)


@admin.register(Release)
class ReleaseAdmin(JournalledAdmin):
    list_display = ["project", "version", "created", "yanked"]
    list_filter = ["yanked"]
    search_fields = ["project__normalized_name", "version"]
    list_select_related = ["project"]
    raw_id_fields = ["project", "uploader"]
    readonly_fields = ["project", "version", "canonical_version", "created", "uploader"]

    def notify_change(self, request, obj: Release, form) -> list[str]:
        if "yanked" not in form.changed_data:
            return []
        return notifications.release_yanked(
            obj.project, request.user, obj.version, obj.yanked, obj.yanked_reason
        )

    def delete_model(self, request, obj: Release) -> None:
        management.remove_files(
            obj.project,
            obj,
            list(obj.files.all()),
            user=request.user,
            reason=ADMIN_DELETION_REASON,
            origin=Origin.from_request(request),
        )

    def delete_queryset(self, request, queryset) -> None:
        for release in queryset.select_related("project"):
            self.delete_model(request, release)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that must stay as written: history, reservations, deletions."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DeletionRecord)
class DeletionRecordAdmin(ReadOnlyAdmin):
    list_display = ["time", "project_name", "version", "whole_release", "deleted_by", "reason"]
    search_fields = ["project_name", "version", "reason"]


@admin.register(FilenameReservation)
class FilenameReservationAdmin(ReadOnlyAdmin):
    list_display = ["filename", "project_name", "created"]
    search_fields = ["filename", "project_name"]


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "time", "project_name", "action", "version", "submitted_by"]
    search_fields = ["project_name", "action"]
