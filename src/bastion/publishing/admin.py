"""Trusted publishers in the admin: see them and what they traded. Owners add them on the
project's Publishing tab or with ``bastion publishers add``, so the gate and the mails apply."""

from django.contrib import admin

from bastion.publishing.models import Exchange, Publisher


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
