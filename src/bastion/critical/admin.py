"""Designations in the admin: designate or remove with a reason, approve deletions, bus factor.

Every change goes through :mod:`bastion.authz.designations` or :mod:`bastion.authz.deletions`,
so the admin pages keep the same rules and leave the same events as the command line.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from bastion import authz
from bastion.authz import deletions, designations
from bastion.critical import selectors, services
from bastion.critical.models import DeletionRequest, Designation
from bastion.events.services import Origin
from bastion.packaging.services import PackagingError


class DesignateForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="Hosted here or not.")
    note = forms.CharField(widget=forms.Textarea, help_text="Why; maintainers read this.")


class RemoveForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea, help_text="Why; kept with the designation.")


@admin.register(Designation)
class DesignationAdmin(admin.ModelAdmin):
    list_display = ["normalized_name", "kind", "designated_at", "enforcement_date", "removed_at"]
    list_filter = ["kind", ("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["normalized_name"]
    readonly_fields = [
        "normalized_name", "kind", "reason", "designated_at", "enforcement_date", "designated_by",
        "removed_at", "removed_by", "removal_reason", "stewards",
    ]  # fmt: skip
    change_form_template = "critical/admin/designation_change_form.html"
    change_list_template = "critical/admin/designation_change_list.html"

    def has_add_permission(self, request) -> bool:
        return False  # designate through the 'Designate a project' page, which needs a note

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # designations are removed with a reason, never deleted

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("designate/", view(self.designate_view), name="critical_designate"),
            path("<int:pk>/remove/", view(self.remove_view), name="critical_remove"),
            path("bus-factor/", view(self.bus_factor_view), name="critical_bus_factor"),
            *super().get_urls(),
        ]

    def _superuser(self, request) -> None:
        actor = authz.Actor.admin(request.user)
        if not authz.may(actor, authz.Action.DESIGNATE_CRITICAL).allowed:
            raise PermissionDenied

    def _page(self, request, template: str, **context):
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, **context}
        return TemplateResponse(request, template, context)

    def designate_view(self, request):
        self._superuser(request)
        form = DesignateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                designation = designations.designate_manually(
                    admin=request.user,
                    name=form.cleaned_data["name"],
                    note=form.cleaned_data["note"],
                    origin=Origin.from_request(request),
                )
            except services.CriticalError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"{designation.normalized_name} is critical.")
                return redirect("admin:critical_designation_changelist")
        return self._page(request, "critical/admin/form.html", form=form, title="Designate")

    def remove_view(self, request, pk: int):
        self._superuser(request)
        designation = Designation.objects.get(pk=pk)
        form = RemoveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                designations.remove(
                    admin=request.user,
                    name=designation.normalized_name,
                    reason=form.cleaned_data["reason"],
                    origin=Origin.from_request(request),
                )
            except services.CriticalError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"{designation} is no longer critical.")
                return redirect("admin:critical_designation_changelist")
        title = f"Remove the designation of {designation}"
        return self._page(request, "critical/admin/form.html", form=form, title=title)

    def bus_factor_view(self, request):
        return self._page(
            request,
            "critical/admin/bus_factor.html",
            rows=selectors.single_maintainer_projects(),
            title="Critical projects with a single maintainer",
        )


@admin.register(DeletionRequest)
class DeletionRequestAdmin(admin.ModelAdmin):
    list_display = ["__str__", "requested_by", "created", "approved", "decided_by", "used_at"]
    list_filter = ["approved"]
    readonly_fields = [
        "project", "version", "requested_by", "reason", "created", "decided_by", "decided_at",
        "approved", "note", "used_at", "what_would_break",
    ]  # fmt: skip
    actions = ["approve", "reject"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="What would break")
    def what_would_break(self, obj: DeletionRequest) -> str:
        return selectors.what_would_break(obj.project)

    def _decide(self, request, queryset, approve: bool) -> None:
        for deletion in queryset:
            try:
                deletions.decide(
                    admin=request.user,
                    request=deletion,
                    approve=approve,
                    origin=Origin.from_request(request),
                )
            except PackagingError as error:
                self.message_user(request, error.message, messages.ERROR)
            except authz.Refused as refused:
                self.message_user(request, refused.reason, messages.ERROR)

    @admin.action(description="Approve the selected deletions")
    def approve(self, request, queryset) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject the selected deletions")
    def reject(self, request, queryset) -> None:
        self._decide(request, queryset, approve=False)
