"""Django admin of the pharmacy organisations (ЦОД admin only); every change in the audit trail too."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.http import HttpRequest

from audit.models import AuditAction
from audit.services import audit_record

from .models import PharmacyDirectory, PharmacyOrganisation


class PharmacyDirectoryInline(admin.TabularInline):
    model = PharmacyDirectory
    extra = 0


def _words(message: Any) -> str:
    """The admin's change message as its history page reads it (Russian)."""
    return LogEntry(
        change_message=message if isinstance(message, str) else json.dumps(message)
    ).get_change_message()


@admin.register(PharmacyOrganisation)
class PharmacyOrganisationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "ogrn", "active", "queue"]
    list_filter = ["active"]
    search_fields = ["code", "name", "ogrn"]
    inlines = [PharmacyDirectoryInline]

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit_record(
            action=AuditAction.PHARMACY_SETTINGS,
            request=request,
            obj=obj,
            outcome="создана в администрировании",
            details={"changes": [_words(message)]},
        )
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit_record(
            action=AuditAction.PHARMACY_SETTINGS,
            request=request,
            obj=obj,
            outcome="изменена в администрировании",
            details={"changes": [_words(message)]},
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            audit_record(
                action=AuditAction.PHARMACY_SETTINGS,
                request=request,
                obj=obj,
                outcome="удалена в администрировании",
            )
        return super().log_deletions(request, queryset)
