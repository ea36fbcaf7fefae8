"""Reads of the journal, scoped by the viewer's workplace (E1, E3, DESIGN §3 "Runs")."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from registry.models import Role, Workplace
from tfoms_portal.access import get_scoped_or_404, scope

from .models import ERROR_STATUSES, LogEntry, Package, Service, ServiceRun

STATISTICIAN_SERVICES = ("tfoms_auto",)  # §4.6.1: the statistician sees only the TFOMS service


def services_visible(workplace: Workplace | None) -> QuerySet[Service]:
    services = Service.objects.filter(enabled=True).order_by("name")
    if workplace is None:
        return services.none()
    if workplace.role == Role.STATISTICIAN:
        services = services.filter(code__in=STATISTICIAN_SERVICES)
    return services


def service_get(workplace: Workplace | None, code: str) -> Service:
    service = services_visible(workplace).filter(code=code).first()
    if service is None:
        raise Http404("Сервис не найден")
    return service


def journal_runs(*, workplace: Workplace | None, service: Service) -> QuerySet[ServiceRun]:
    """Runs of the service: the viewer's МО and region-wide ones (all for the ЦОД admin)."""
    return scope(ServiceRun.objects.filter(service=service), workplace).select_related("mo", "started_by")


def run_get(*, workplace: Workplace | None, service: Service, run_id: int) -> ServiceRun:
    return get_scoped_or_404(
        ServiceRun.objects.filter(service=service).select_related("mo"), workplace, pk=run_id
    )


def run_package_counts(*, workplace: Workplace | None, run_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(packages, packages with errors) per run, counting only the packages the viewer may see (E4)."""
    rows = (
        scope(Package.objects.filter(run_id__in=run_ids), workplace)
        .values("run_id")
        .annotate(total=Count("id"), errors=Count("id", filter=Q(status__in=ERROR_STATUSES)))
    )
    return {row["run_id"]: (row["total"], row["errors"]) for row in rows}


def run_log(*, workplace: Workplace | None, run: ServiceRun) -> QuerySet[LogEntry]:
    return scope(LogEntry.objects.filter(run=run), workplace).select_related("package").order_by("at", "id")
