"""Django admin of the pharmacy organisations (ЦОД admin only). Saving goes through the same service
as the page (audit with before → after); the directories are chosen on the page, and an organisation
is switched off rather than deleted (its system keeps what it was sent under its code)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import PharmacyDirectory, PharmacyOrganisation
from .services import FIELDS, organisation_save


class PharmacyDirectoryInline(admin.TabularInline):
    model = PharmacyDirectory
    extra = 0
    max_num = 0
    can_delete = False
    readonly_fields = ["directory", "enabled", "mode"]
    verbose_name_plural = (
        "справочники для ИС Фармация (выбираются на странице «Настройка обмена с аптечными организациями»)"
    )


@admin.register(PharmacyOrganisation)
class PharmacyOrganisationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "ogrn", "active", "queue"]
    list_filter = ["active"]
    search_fields = ["code", "name", "ogrn"]
    fields = list(FIELDS)
    inlines = [PharmacyDirectoryInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: PharmacyOrganisation, form: Any, change: bool) -> None:
        saved = organisation_save(
            organisation=obj if change else None,
            fields={name: form.cleaned_data[name] for name in FIELDS if name in form.cleaned_data},
            directories={},
            request=request,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()
