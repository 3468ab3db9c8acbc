"""The key program in the admin: vendors' instructions, the code list without codes, the report.

Codes are loaded with ``bastion keys import-codes``; the admin never shows or edits a code, and
a claimed code cannot be deleted (the report and the claimer's page depend on it).
"""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path

from bastion.keys import selectors
from bastion.keys.models import PromoCode, Vendor


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "redeem_url"]
    fields = ["slug", "name", "redeem_url", "instructions"]

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []  # the import and the offer form match vendors by slug


@admin.register(PromoCode)
class PromoCodeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "vendor", "country", "batch", "claimed_by", "claimed_at"]
    list_filter = ["vendor", "country", "batch", ("claimed_by", admin.EmptyFieldListFilter)]
    search_fields = ["batch", "claimed_by__username"]
    fields = readonly_fields = (
        "vendor",
        "country",
        "batch",
        "imported_at",
        "claimed_by",
        "claimed_at",
        "slot",
        "reminder_sent_at",
    )  # fmt: skip  -- never encrypted_code or digest
    change_list_template = "keys/admin/promocode_change_list.html"

    def has_add_permission(self, request) -> bool:
        return False  # codes come from ``bastion keys import-codes``

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or obj.claimed_by_id is None

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("report/", view(self.report_view), name="keys_report"), *super().get_urls()]

    def report_view(self, request):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Security key program report",
            "report": selectors.report(),
        }
        return TemplateResponse(request, "keys/admin/report.html", context)
