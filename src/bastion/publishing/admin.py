"""Trusted publishers in the admin: see them, what they traded and the provenance they left.
Owners add them on the project's Publishing tab or with ``bastion publishers add``, so the gate
and the mails apply."""

from django.contrib import admin

from bastion.publishing.models import Exchange, Provenance, Publisher


@admin.register(Publisher)
class PublisherAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "repository", "workflow", "environment", "project", "created"]
    list_filter = ["kind"]
    search_fields = ["repository", "workflow", "project__normalized_name", "pending_name"]
    list_select_related = ["project"]
    readonly_fields = [field.name for field in Publisher._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # removing goes through the services, which mail the owners


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    list_display = ["created", "publisher", "token", "claims"]
    list_select_related = ["publisher__project", "token"]
    readonly_fields = ["created", "publisher", "token", "claims"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Provenance)
class ProvenanceAdmin(admin.ModelAdmin):
    """Verified at upload and served as signed: never edited, gone with its file."""

    list_display = ["created", "file", "kind", "source_url"]
    list_filter = ["kind"]
    search_fields = ["file__filename", "source_url"]
    list_select_related = ["file"]
    readonly_fields = [field.name for field in Provenance._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
