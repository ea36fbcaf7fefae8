"""Reads of the journal, scoped by the viewer's workplace (E1, E3, DESIGN §3 "Runs")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from registry.access import get_scoped_or_404, parse_id, scope
from registry.models import Mo, Role, Workplace
from tfoms_portal.dates import TypedPeriod, typed_period
from tfoms_portal.search import contains_like, fold

from .catalog import region_only_services
from .models import (
    ERROR_STATUSES,
    AuditEvent,
    LogEntry,
    Package,
    PackageStatus,
    RunResult,
    Service,
    ServiceRun,
)

STATISTICIAN_SERVICES = ("tfoms_auto",)  # §4.6.1: the statistician sees only the TFOMS service


def services_visible(workplace: Workplace | None) -> QuerySet[Service]:
    services = Service.objects.filter(enabled=True).order_by("name")
    if workplace is None:
        return services.none()
    if workplace.role == Role.STATISTICIAN:
        services = services.filter(code__in=STATISTICIAN_SERVICES)
    if not workplace.sees_all_mo:
        services = services.exclude(code__in=region_only_services())
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


def runs_failed_elsewhere(*, workplace: Workplace | None, runs: list[ServiceRun]) -> set[int]:
    """Region-wide runs that ended with an error none of whose error lines the viewer may see: the
    error was another МО's (the МО admin's and statistician's counts and log are of their МО, §4.6.3)."""
    failed = [r.pk for r in runs if r.result == RunResult.ERROR and r.mo_id is None]
    if not failed or workplace is None or workplace.sees_all_mo:
        return set()
    own = scope(LogEntry.objects.filter(run_id__in=failed, level=LogEntry.Level.ERROR), workplace)
    return set(failed) - set(own.values_list("run_id", flat=True).distinct())


def run_log(*, workplace: Workplace | None, run: ServiceRun) -> QuerySet[LogEntry]:
    return scope(LogEntry.objects.filter(run=run), workplace).select_related("package").order_by("at", "id")


# --- packages (E4, E5) -------------------------------------------------------------------------


def packages_visible(workplace: Workplace | None) -> QuerySet[Package]:
    """Packages of the viewer's МО (all for the ЦОД admin); the statistician sees the TFOMS service only.
    An inbound package about a person nobody's МО holds (no МО) is the ЦОД admin's alone."""
    packages = scope(Package.objects.all(), workplace)
    if workplace is not None and workplace.role == Role.STATISTICIAN:
        packages = packages.filter(service__code__in=STATISTICIAN_SERVICES)
    return packages


def newest_packages(
    *, workplace: Workplace | None, package_types: Sequence[str], object_ids: Sequence[str]
) -> dict[tuple[str, str], Package]:
    """(package type, object id) → the newest package, of the objects a domain page or API shows
    (through the scoping function; one query per 1,000 objects)."""
    latest: dict[tuple[str, str], Package] = {}
    ids = list(dict.fromkeys(object_ids))
    for start in range(0, len(ids), 1000):
        packages = scope(
            Package.objects.filter(package_type__in=package_types, object_id__in=ids[start : start + 1000]),
            workplace,
        ).order_by("-id")
        for package in packages:
            latest.setdefault((package.package_type, package.object_id), package)
    return latest


def package_get(*, workplace: Workplace | None, package_id: int) -> Package:
    return get_scoped_or_404(
        packages_visible(workplace).select_related("service", "mo", "run", "do_not_send_by"),
        workplace,
        pk=package_id,
    )


def answer_of(package: Package, workplace: Workplace | None) -> Package | None:
    """Our ANSWER to one of the fund's packages, as the viewer may see it."""
    if package.direction != "in":
        return None
    return scope(
        Package.objects.filter(package_type="ANSWER", object_id=str(package.uuid)), workplace
    ).first()


@dataclass(frozen=True)
class PackageFilter:
    """The journal's package search (E5); empty fields do not filter."""

    status: str = ""
    package_type: str = ""
    run_id: int | None = None
    service: str = ""
    mo_code: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    person: str = ""  # ФИО (from the start), ЕНП or СНИЛС
    text: str = ""  # in the package's result message
    period: TypedPeriod | None = None  # the dates as typed, with the message when they cannot be used

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> PackageFilter:
        period = typed_period(params.get("date_from"), params.get("date_to"))
        run = params.get("run", "")
        return cls(
            status=params.get("status", "") if params.get("status", "") in PackageStatus.values else "",
            package_type=params.get("type", "").strip()[:64],
            run_id=parse_id(run),
            service=params.get("service", "").strip()[:32],
            mo_code=params.get("mo", "").strip()[:6],
            date_from=period.date_from,
            date_to=period.date_to,
            person=params.get("q", "").strip()[:200],
            text=params.get("text", "").strip()[:200],
            period=period,
        )

    @property
    def period_error(self) -> str:
        return self.period.error if self.period else ""


def package_search(*, workplace: Workplace | None, filters: PackageFilter) -> QuerySet[Package]:
    packages = packages_visible(workplace)
    if filters.status:
        packages = packages.filter(status=filters.status)
    if filters.package_type:
        packages = packages.filter(package_type=filters.package_type.upper())
    if filters.run_id is not None:
        # Another МО's run (or one of a service the viewer does not see) is not found, in pages,
        # exports and the API alike — not an empty list that says it exists (A4, issue 15).
        runs = ServiceRun.objects.filter(service__in=services_visible(workplace))
        get_scoped_or_404(runs, workplace, pk=filters.run_id)
        packages = packages.filter(run_id=filters.run_id)
    if filters.service:
        packages = packages.filter(service__code=filters.service)
    if filters.mo_code:
        packages = packages.filter(mo__code=filters.mo_code)
    if filters.date_from:
        packages = packages.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        packages = packages.filter(created_at__date__lte=filters.date_to)
    if filters.person:
        digits = "".join(ch for ch in filters.person if ch.isdigit())
        if len(digits) == 16 and digits == filters.person:
            packages = packages.filter(enp=digits)
        elif len(digits) == 11 and not any(ch.isalpha() for ch in filters.person):
            packages = packages.filter(snils=digits)
        else:
            packages = packages.filter(fio__startswith=fold(filters.person))  # stored folded (fio_key)
    if filters.text:
        packages = packages.filter(contains_like("result", filters.text))
    return packages.select_related("mo", "service", "run").order_by("-created_at", "-id")


def overdue_hours(package: Package, now: dt.datetime | None = None) -> int | None:
    """Whole hours a sent package has waited for the fund's answer, once past the threshold (C9)."""
    if package.status != PackageStatus.SENT:
        return None
    waited = ((now or timezone.now()) - package.status_changed_at).total_seconds() // 3600
    return int(waited) if waited >= settings.TFOMS_REPLY_OVERDUE_HOURS else None


def with_overdue(packages: Iterable[Package]) -> list[Package]:
    """The packages of a page, each with `overdue` (hours without an answer, or None) for its row."""
    now = timezone.now()
    rows = list(packages)
    for package in rows:
        package.overdue = overdue_hours(package, now)  # type: ignore[attr-defined]
    return rows


def dashboard_counts(*, workplace: Workplace | None, days: int) -> tuple[list[dt.date], dict[str, list[int]]]:
    """Packages created per day and status over the last `days` days, within the viewer's scope."""
    today = timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    rows = (
        packages_visible(workplace)
        .filter(created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values("day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    index = {day: i for i, day in enumerate(dates)}
    series: dict[str, list[int]] = {status: [0] * days for status in PackageStatus.values}
    for row in rows:
        if row["day"] in index:
            series[row["status"]][index[row["day"]]] += row["n"]
    return dates, series


# --- the audit page (A5) -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    username: str = ""
    action: str = ""
    mo_code: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    obj: str = ""  # the object: part of its name (ФИО, GUID, МО …), any case, ё = е; or its id


def audit_events(*, filters: AuditFilter) -> QuerySet[AuditEvent]:
    """For the ЦОД admin only (the view checks the role): every event, newest first."""
    events = AuditEvent.objects.all()
    if filters.username:
        events = events.filter(username__istartswith=filters.username)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.mo_code:
        events = events.filter(mo_id__in=Mo.objects.filter(code=filters.mo_code).values("pk"))
    if filters.date_from:
        events = events.filter(at__date__gte=filters.date_from)
    if filters.date_to:
        events = events.filter(at__date__lte=filters.date_to)
    if filters.obj:
        events = events.filter(contains_like("object_title", filters.obj) | Q(object_id=filters.obj))
    return events.order_by("-at", "-id")
