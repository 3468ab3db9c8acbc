"""Accounts in the admin: disable a user, verify an address inline, read their security events."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from bastion.accounts import invitations
from bastion.accounts.models import Email, Invitation, User
from bastion.events.admin import SecurityEventInline
from bastion.events.services import Origin


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


class InvitationForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["email"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if Email.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("That email address already belongs to an account.")
        return email


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invite an address to register (``BASTION_REGISTRATION=invite``); adding mails the link."""

    form = InvitationForm
    list_display = ["email", "invited_by", "created", "expires", "accepted"]
    search_fields = ["email"]
    fields = ["email", "invited_by", "created", "expires", "accepted"]
    readonly_fields = ["invited_by", "created", "expires", "accepted"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # an invitation is sent, not edited; delete it to withdraw it

    def save_model(self, request, obj, form, change) -> None:
        """The service records the invitation and mails its link; the admin shows the row."""
        invitations.invite(
            email=obj.email, invited_by=request.user, origin=Origin.from_request(request)
        )
        created = Invitation.objects.filter(email=obj.email).latest("created")
        obj.pk, obj.created, obj.expires = created.pk, created.created, created.expires
