"""The account-recovery queue in the admin: oldest first, with its age, and a resolve page.

Factors themselves are not editable here: an admin never sees a secret, and the only way to
remove someone's factors is the recorded reset below.
"""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.timesince import timesince

from bastion.accounts.http import SignedInRequest
from bastion.authz import factors
from bastion.events.services import Origin
from bastion.mfa import recovery
from bastion.mfa.forms import ResolveRecoveryForm
from bastion.mfa.models import RecoveryRequest, RecoveryStatus


@admin.register(RecoveryRequest)
class RecoveryRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "identifier", "user", "status", "waiting", "created", "resolve_link"]
    list_filter = ["status"]
    search_fields = ["identifier", "user__username"]
    ordering = ["created"]
    raw_id_fields = ["user"]
    readonly_fields = [
        "identifier",
        "details",
        "created",
        "ip_address",
        "status",
        "resolved_by",
        "resolved_at",
        "resolution_reason",
        "publishing_frozen_until",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Waiting for")
    def waiting(self, obj: RecoveryRequest) -> str:
        if obj.status != RecoveryStatus.OPEN:
            return "—"
        return timesince(obj.created)

    @admin.display(description="")
    def resolve_link(self, obj: RecoveryRequest) -> str:
        if obj.status != RecoveryStatus.OPEN:
            return ""
        url = reverse("admin:mfa_recoveryrequest_resolve", args=[obj.pk])
        return format_html('<a href="{}">Resolve</a>', url)

    def get_urls(self):
        resolve = self.admin_site.admin_view(self.resolve_view)
        return [
            path("<int:pk>/resolve/", resolve, name="mfa_recoveryrequest_resolve"),
            *super().get_urls(),
        ]

    def resolve_view(self, request: SignedInRequest, pk: int) -> HttpResponse:
        """Reset the factors (after verifying the person) or decline; both need a reason."""
        obj = get_object_or_404(RecoveryRequest, pk=pk)
        if not self.has_change_permission(request, obj):
            return redirect("admin:index")
        form = ResolveRecoveryForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            act = factors.reset_factors if "reset" in request.POST else factors.decline
            try:
                act(
                    obj,
                    admin=request.user,
                    reason=form.cleaned_data["reason"],
                    origin=Origin.from_request(request),
                )
            except recovery.RecoveryError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Request #{obj.pk}: {obj.get_status_display()}.")
                return redirect("admin:mfa_recoveryrequest_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Resolve recovery request #{obj.pk}",
            "request_obj": obj,
            "waiting": timesince(obj.created),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "mfa/admin/resolve.html", context)
