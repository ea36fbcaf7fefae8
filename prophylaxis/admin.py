"""Django admin for dispensary observation and prophylaxis plans (ЦОД admin only, like all reference data)."""

from django.contrib import admin

from .models import DispensaryCard, DispensaryVisit, PlanExport, PlanPerson, ProphylaxisPlan


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


class PlanPersonInline(admin.TabularInline):
    model = PlanPerson
    extra = 0
    raw_id_fields = ["person"]
    fields = ["person", "quarter", "month", "smo", "status", "error_code", "error_text"]
    show_change_link = True


@admin.register(ProphylaxisPlan)
class ProphylaxisPlanAdmin(admin.ModelAdmin):
    list_display = ["id", "mo", "kind", "year", "period_type", "period_number"]
    list_filter = ["kind", "year", "mo"]
    inlines = [PlanPersonInline]


@admin.register(PlanPerson)
class PlanPersonAdmin(admin.ModelAdmin):
    list_display = ["id", "plan", "person", "quarter", "smo", "status", "error_code"]
    list_filter = ["status", "plan__kind", "plan__mo"]
    search_fields = ["=id", "person__last_name", "person__snils"]
    raw_id_fields = ["plan", "person"]


@admin.register(PlanExport)
class PlanExportAdmin(admin.ModelAdmin):
    list_display = ["file_name", "kind", "mo", "smo", "records", "created_at", "reply_loaded_at"]
    list_filter = ["kind", "mo"]
    exclude = ["content"]
    readonly_fields = ["file_name", "kind", "mo", "smo", "year", "month", "quarter", "number", "records"]
