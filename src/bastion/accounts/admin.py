"""Accounts in the admin: disable a user, verify an address inline, read their security events."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from bastion.accounts.models import Email, User
from bastion.events.admin import SecurityEventInline


class EmailInline(admin.TabularInline):
    model = Email
    fields = ["email", "primary", "verified", "created"]
    readonly_fields = ["created"]
    extra = 0


class UserEventInline(SecurityEventInline):
    fk_name = "user"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = [
        "username",
        "primary_email",
        "is_active",
        "is_staff",
        "date_joined",
        "last_login",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "emails__email"]
    inlines = [EmailInline, UserEventInline]
    actions = ["disable_users", "enable_users"]

    @admin.display(description="Primary email")
    def primary_email(self, user: User) -> str:
        email = user.primary_email()
        if email is None:
            return "—"
        return f"{email.email} ({'verified' if email.verified else 'unverified'})"

    @admin.action(description="Disable the selected users (they can no longer log in or upload)")
    def disable_users(self, request, queryset) -> None:
        count = queryset.exclude(pk=request.user.pk).update(is_active=False)
        self.message_user(request, f"Disabled {count} user(s).", messages.SUCCESS)

    @admin.action(description="Enable the selected users")
    def enable_users(self, request, queryset) -> None:
        count = queryset.update(is_active=True)
        self.message_user(request, f"Enabled {count} user(s).", messages.SUCCESS)
