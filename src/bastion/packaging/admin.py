"""Projects in the admin: status, the 2FA setting, roles inline; deletion records read-only."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from bastion import authz
from bastion.accounts.models import User
from bastion.authz import management
from bastion.events import services as events
from bastion.events.admin import SecurityEventInline
from bastion.events.services import Origin
from bastion.packaging import notifications
from bastion.packaging.models import (
    DeletionRecord,
    FilenameReservation,
    JournalEntry,
    Project,
    Release,
    Role,
    RoleInvitation,
    RoleName,
)
from bastion.packaging.services import journal

ADMIN_DELETION_REASON = "Deleted by an administrator in the admin."


class JournalledAdmin(admin.ModelAdmin):
    """An operator's edit goes into the journal like any other change: the serial moves, the
    simple pages re-render (a quarantine or a yank takes effect at once), and it is an event."""

    def save_model(self, request, obj, form, change) -> None:
        fields = ", ".join(form.changed_data) or "nothing"
        entry = f"admin change to {obj}: {fields}"[:255]
        if change:  # journalled first: the project's row is locked before obj's, as uploads do
            journal(self.project_of(obj), entry, user=request.user)
        super().save_model(request, obj, form, change)
        project = self.project_of(obj)
        if not change:  # a new row, which nobody else can hold: journalled once it exists
            journal(project, entry, user=request.user)
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
        """Rows added, changed or removed inline are events too. Roles go through the owners'
        services (:func:`_save_roles`): who may publish a project is exactly what the gate, the
        journal and its security history must see."""
        if formset.model is Role:
            _save_roles(request, form.instance, formset)
            return
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
            )

    def project_of(self, obj) -> Project:
        return obj.project


def _save_roles(request, project: Project, formset) -> None:
    """Apply the inline's rows as an administrator's role changes: grants first, then changes,
    then removals, so handing a project to a new owner never leaves it without one."""
    actor, origin = authz.Actor.admin(request.user), Origin.from_request(request)
    formset.save(commit=False)  # sorts the rows into new, changed and deleted; writes nothing

    def stored(role: Role) -> Role:
        return Role.objects.select_related("user", "project").get(pk=role.pk)

    for role in formset.new_objects:
        management.grant_role(
            actor=actor, project=project, user=role.user, role_name=role.role_name, origin=origin
        )
    handed_over = []
    for role, fields in formset.changed_objects:
        before = stored(role)
        if "user" in fields:
            management.grant_role(
                actor=actor, project=project, user=role.user, role_name=role.role_name,
                origin=origin,
            )  # fmt: skip
            handed_over.append(before)
        elif "role_name" in fields:
            management.change_role(
                actor=actor, role=before, role_name=role.role_name, origin=origin
            )
    for role in [*handed_over, *(stored(role) for role in formset.deleted_objects)]:
        management.remove_role(actor=actor, role=role, origin=origin)


def _as_error(decision: authz.Decision) -> ValidationError:
    return ValidationError(decision.reason, code=decision.code)


class RoleFormSet(BaseInlineFormSet):
    """Roles edited inline ask the gate before anything is saved, so a refusal shows on the page
    (its code on the error); :meth:`ProjectAdmin.save_formset` then makes the changes through
    the owners' services, which ask the gate again, journal, record and notify."""

    admin_user: User  # set per request by RoleInline.get_formset

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or not self.has_changed():
            return
        project = self.instance
        admin_actor = authz.Actor.admin(self.admin_user)
        decision = authz.may(admin_actor, authz.Action.ADMIN_MANAGE_ROLES, project)
        if not decision.allowed:
            raise _as_error(decision)
        owners_after, owners_lost = 0, []
        for form in self.forms:
            role = form.instance
            stored = Role.objects.filter(pk=role.pk).select_related("user", "project").first()
            deleted = form in self.deleted_forms
            if not deleted and role.user_id is not None and role.role_name == RoleName.OWNER:
                owners_after += 1
            if (
                stored is not None
                and stored.role_name == RoleName.OWNER
                and (
                    deleted or (stored.user_id, stored.role_name) != (role.user_id, role.role_name)
                )
            ):
                owners_lost.append(stored)
            joins = stored is None or stored.user_id != role.user_id
            if not deleted and role.user_id is not None and joins:
                self._may_join(role.user, project)
        if owners_lost and owners_after == 0:
            raise _as_error(authz.keep_an_owner(owners_lost[0], owners=owners_after))

    @staticmethod
    def _may_join(user, project: Project) -> None:
        """A direct grant accepts on the person's behalf: the gate must let them accept it."""
        decision = authz.may(authz.Actor(user=user), authz.Action.ACCEPT_ROLE, project)
        if not decision.allowed:
            raise _as_error(decision)


class RoleInline(admin.TabularInline):
    model = Role
    formset = RoleFormSet
    fields = ["user", "role_name", "created"]
    readonly_fields = ["created"]
    raw_id_fields = ["user"]
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # The formset asks the gate as this administrator (RoleFormSet.clean).
        return type(formset.__name__, (formset,), {"admin_user": request.user})


class InvitationInline(admin.TabularInline):
    model = RoleInvitation
    fk_name = "project"
    fields = readonly_fields = ("invitee", "role_name", "invited_by", "created", "expires")
    extra = 0
    max_num = 0


class ReleaseInline(admin.TabularInline):
    model = Release
    fields = readonly_fields = ("version", "created", "yanked", "yanked_reason")
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
        authz.require(authz.Actor.admin(request.user), authz.Action.ADMIN_DELETE, obj)
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
        authz.require(authz.Actor.admin(request.user), authz.Action.ADMIN_DELETE, obj.project)
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
