"""Django admin for the registry's reference data (the ЦОД admin only, see tfoms_portal.admin_site)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from . import models
from .services import person_identification_request


@admin.register(models.NsiEntry)
class NsiEntryAdmin(admin.ModelAdmin):
    list_display = ["directory", "code", "name", "date_begin", "date_end"]
    list_filter = ["directory"]
    search_fields = ["code", "name"]


class SubdivisionInline(admin.TabularInline):
    model = models.Subdivision
    extra = 0


@admin.register(models.Mo)
class MoAdmin(admin.ModelAdmin):
    list_display = ["code", "name_short", "ogrn", "oid", "is_active"]
    search_fields = ["code", "name_short", "name_full", "ogrn"]
    inlines = [SubdivisionInline]


class DepartmentInline(admin.TabularInline):
    model = models.Department
    extra = 0


@admin.register(models.Subdivision)
class SubdivisionAdmin(admin.ModelAdmin):
    list_display = ["mo", "code", "name", "kind"]
    list_filter = ["kind", "mo"]
    inlines = [DepartmentInline]


@admin.register(models.Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["subdivision", "code", "name", "group_type"]
    list_filter = ["group_type", "subdivision__mo"]


@admin.register(models.BedProfile)
class BedProfileAdmin(admin.ModelAdmin):
    list_display = ["department", "profile_code", "name", "date_begin", "date_end"]


@admin.register(models.Bed)
class BedAdmin(admin.ModelAdmin):
    list_display = ["bed_profile", "number", "kind", "date_begin", "date_end"]


@admin.register(models.Smo)
class SmoAdmin(admin.ModelAdmin):
    list_display = ["code", "name_short", "ogrn", "is_active"]
    search_fields = ["code", "name_short"]


class DocumentInline(admin.TabularInline):
    model = models.IdentityDocument
    extra = 0


class PolicyInline(admin.TabularInline):
    model = models.Policy
    extra = 0


class AttachmentInline(admin.TabularInline):
    model = models.Attachment
    extra = 0
    raw_id_fields = ["site", "fap_site"]


@admin.register(models.Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "middle_name", "birth_date", "snils", "identified_in_tfoms"]
    search_fields = ["last_name", "first_name", "snils", "policies__enp"]
    list_filter = ["identified_in_tfoms", "sex"]
    inlines = [DocumentInline, PolicyInline, AttachmentInline]

    def save_model(self, request: HttpRequest, obj: models.Person, form: Any, change: bool) -> None:
        """A person saved new is queued for identification on behalf of the admin's МО (B2)."""
        super().save_model(request, obj, form, change)
        if not change:
            workplace = getattr(request, "workplace", None)
            person_identification_request(
                person=obj,
                reason=models.Person.IdentificationReason.NEW_PERSON,
                mo=workplace.mo if workplace else None,
            )


@admin.register(models.IdentityDocument)
class IdentityDocumentAdmin(admin.ModelAdmin):
    list_display = ["person", "doc_type", "series", "number", "issued_at"]
    raw_id_fields = ["person"]


@admin.register(models.Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = [
        "person",
        "policy_type",
        "form",
        "enp",
        "series",
        "number",
        "smo",
        "valid_from",
        "valid_to",
    ]
    raw_id_fields = ["person"]
    search_fields = ["enp", "number"]


@admin.register(models.Staff)
class StaffAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "middle_name", "mo", "snils", "post_type"]
    list_filter = ["mo", "post_type"]


@admin.register(models.Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["mo", "number", "site_type", "department", "doctor", "date_begin", "date_end"]
    list_filter = ["mo", "site_type"]


@admin.register(models.Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["person", "mo", "site", "method", "is_conditional", "date_from", "date_to"]
    list_filter = ["mo", "method", "is_conditional"]
    raw_id_fields = ["person", "site", "fap_site"]


@admin.register(models.TreatmentCase)
class TreatmentCaseAdmin(admin.ModelAdmin):
    list_display = ["kind", "number", "person", "mo", "date_begin", "date_end", "payment"]
    list_filter = ["mo", "kind", "payment"]
    raw_id_fields = ["person"]


@admin.register(models.Workplace)
class WorkplaceAdmin(admin.ModelAdmin):
    list_display = ["user", "mo", "role", "is_active"]
    list_filter = ["role", "mo"]


@admin.register(models.UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "default_workplace"]


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """The ЦОД admin sees live API tokens (never the token itself: only its hash is kept) and revokes
    one by deleting it."""

    list_display = ("key", "username", "workplace", "issued", "expires")
    list_select_related = ("user", "workplace__mo")
    search_fields = ("token_key", "user__username")
    readonly_fields = ("key", "username", "workplace", "issued", "expires")
    fields = readonly_fields

    @admin.display(description="начало токена", ordering="token_key")
    def key(self, token: models.ApiToken) -> str:
        return f"{token.token_key}…"

    @admin.display(description="пользователь", ordering="user__username")
    def username(self, token: models.ApiToken) -> str:
        return token.user.get_username()

    @admin.display(description="выдан", ordering="created")
    def issued(self, token: models.ApiToken) -> Any:
        return token.created

    @admin.display(description="действует до", ordering="expiry")
    def expires(self, token: models.ApiToken) -> Any:
        return token.expiry

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens come from POST /api/v1/auth/token/, with the user's password

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
