"""Tokens in the admin: see and revoke them. Never the digest; tokens are not minted here."""

from django.contrib import admin, messages

from bastion.events.services import Origin
from bastion.tokens import services
from bastion.tokens.models import APIToken


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "project",
        "display_prefix",
        "created",
        "expires",
        "last_used",
        "revoked",
    ]
    list_filter = [("revoked", admin.EmptyFieldListFilter), ("expires", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username", "project__normalized_name", "display_prefix"]
    list_select_related = ["user", "project"]
    fields = readonly_fields = (
        "name",
        "user",
        "project",
        "display_prefix",
        "created",
        "expires",
        "last_used",
        "last_used_ip",
        "revoked",
    )
    actions = ["revoke_tokens"]

    def has_add_permission(self, request) -> bool:
        return False  # a token minted here could never be shown to its owner

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("digest")

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request, queryset) -> None:
        origin = Origin.from_request(request)
        revoked = 0
        for token in queryset.filter(revoked__isnull=True).select_related("user", "project"):
            services.revoke(token, origin=origin)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)

    def has_revoke_permission(self, request) -> bool:
        return (
            request.user.is_active
            and request.user.is_staff
            and request.user.has_perm("tokens.delete_apitoken")
        )
