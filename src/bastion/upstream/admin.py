"""Operators' view of the upstream cache: what is cached, how big, when last refreshed.

Rows come from the read path and ``bastion names allow``; the admin only shows them. Purging is
``bastion upstream purge NAME`` (it also removes the stored files, which a row delete would not).
"""

from django.contrib import admin
from django.db.models import Count, Max, Sum

from bastion.upstream.models import AllowedName, UpstreamProject


@admin.register(UpstreamProject)
class UpstreamProjectAdmin(admin.ModelAdmin):
    list_display = ["normalized_name", "cached_files", "cached_bytes", "refreshed_at", "last_fetch"]
    search_fields = ["normalized_name"]
    fields = readonly_fields = ("normalized_name", "serial", "etag", "refreshed_at", "created")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _bytes=Sum("files__stored_bytes"),
                _files=Count("files__stored_at"),
                _last_fetch=Max("files__stored_at"),
            )
        )

    @admin.display(description="files kept", ordering="_files")
    def cached_files(self, obj) -> int:
        return obj._files

    @admin.display(description="size (bytes)", ordering="_bytes")
    def cached_bytes(self, obj) -> int:
        return obj._bytes or 0

    @admin.display(description="last file fetched", ordering="_last_fetch")
    def last_fetch(self, obj):
        return obj._last_fetch

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # ``bastion upstream purge`` removes the files with the rows


@admin.register(AllowedName)
class AllowedNameAdmin(admin.ModelAdmin):
    list_display = ["normalized_name", "reason", "allowed_by", "created"]
    search_fields = ["normalized_name"]
    readonly_fields = ["normalized_name", "reason", "allowed_by", "created"]

    def has_add_permission(self, request) -> bool:
        return False  # ``bastion names allow NAME --reason R`` records it with a security event

    def has_change_permission(self, request, obj=None) -> bool:
        return False
