"""Admin of identification packages (ЦОД admin only): read-only, the form is where they are handled."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import IdentificationPackage, IdentificationRecord


class RecordInline(admin.TabularInline):
    model = IdentificationRecord
    extra = 0
    fields = readonly_fields = (
        "row_number",
        "person",
        "period_from",
        "period_to",
        "status",
        "status_date",
        "error_text",
    )
    can_delete = False


@admin.register(IdentificationPackage)
class IdentificationPackageAdmin(admin.ModelAdmin):
    list_display = ["name", "mo", "formed_at", "response_loaded_at"]
    list_filter = ["mo"]
    search_fields = ["name"]
    readonly_fields = [
        "name",
        "mo",
        "run",
        "formed_at",
        "response_file_name",
        "response_loaded_at",
        "unmatched_rows",
    ]
    exclude = ["request_file"]
    inlines = [RecordInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
