"""Security events in the admin: searchable, filterable and strictly read-only."""

from django.contrib import admin

from bastion.events.describe import describe
from bastion.events.models import SecurityEvent


class ReadOnlyEventsMixin:
    """The log is append-only: nobody edits or deletes an event, not even an admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyEventsMixin, admin.ModelAdmin):
    list_display = ["time", "tag", "what_happened", "user", "project", "ip_address", "user_agent"]
    list_filter = ["tag"]
    search_fields = ["tag", "user__username", "project__normalized_name", "ip_address"]
    date_hierarchy = "time"
    list_select_related = ["user", "project"]
    readonly_fields = [
        "time",
        "tag",
        "what_happened",
        "user",
        "project",
        "ip_address",
        "user_agent",
        "additional",
    ]

    @admin.display(description="What happened")
    def what_happened(self, event: SecurityEvent) -> str:
        """The sentence users read on their history pages, beside the raw tag and fields."""
        return describe(event.tag, event.additional).sentence


class SecurityEventInline(ReadOnlyEventsMixin, admin.TabularInline):
    """The latest events of a user or project, on its admin page."""

    model = SecurityEvent
    fields = readonly_fields = ("time", "tag", "project", "ip_address", "user_agent", "additional")
    extra = 0
    max_num = 0
    ordering = ["-time"]
    show_change_link = True
