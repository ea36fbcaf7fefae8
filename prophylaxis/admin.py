"""Django admin for dispensary observation (ЦОД admin only, like all reference data)."""

from django.contrib import admin

from .models import DispensaryCard, DispensaryVisit


class DispensaryVisitInline(admin.TabularInline):
    model = DispensaryVisit
    extra = 1


@admin.register(DispensaryCard)
class DispensaryCardAdmin(admin.ModelAdmin):
    list_display = ["id", "person", "mo", "diagnosis", "date_in", "doctor", "date_out", "result_out"]
    list_filter = ["mo", "result_out"]
    search_fields = ["=id", "person__last_name", "person__snils", "diagnosis"]
    raw_id_fields = ["person", "doctor"]
    inlines = [DispensaryVisitInline]
