"""Order 263 data in the Django admin (ЦОД administrators; F1)."""

from django.contrib import admin

from .models import Movement, Referral, Stay


class MovementInline(admin.TabularInline):
    model = Movement
    extra = 0
    raw_id_fields = ("department", "bed_profile")


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "mo",
        "kind",
        "auto_created",
        "payment",
        "to_mo",
        "to_department",
        "person",
        "cancelled_at",
    )
    list_filter = ("kind", "auto_created", "payment", "mo")
    search_fields = ("person__last_name", "person__snils", "diagnosis")
    raw_id_fields = ("person", "doctor", "from_subdivision", "to_department", "to_bed_profile")
    date_hierarchy = "referral_date"
    readonly_fields = ("fund_result", "created_at", "updated_at")


@admin.register(Stay)
class StayAdmin(admin.ModelAdmin):
    list_display = ("card_number", "mo", "person", "department", "admitted_at", "payment", "outcome")
    list_filter = ("outcome", "payment", "form_of_care", "mo")
    search_fields = ("card_number", "person__last_name", "person__snils")
    raw_id_fields = ("person", "subdivision", "department", "bed_profile", "referral")
    inlines = [MovementInline]
    readonly_fields = ("created_at", "updated_at")
