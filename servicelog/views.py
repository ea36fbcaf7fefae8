"""The journal "Журнал работы сервисов" (E1–E5): services → runs → packages and log; manual start,
package data, "do not send", resend, print, search, export, dashboard; the audit page (A5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from registry.access import WorkplaceRequest, parse_id, workplace_required
from registry.models import ADMIN_ROLES, Role
from tfoms_portal.dates import typed_period

from .audit import audit_record
from .export import csv_response, xlsx_response
from .models import AuditAction, AuditEvent, PackageStatus
from .registry import package_type_choices, package_type_title
from .selectors import (
    AuditFilter,
    PackageFilter,
    answer_of,
    audit_events,
    dashboard_counts,
    journal_runs,
    overdue_hours,
    package_get,
    package_search,
    run_get,
    run_log,
    run_package_counts,
    service_get,
    services_visible,
    with_overdue,
)
from .services import (
    PackageActionRefused,
    package_do_not_send,
    package_resend,
)

ADMINS = ADMIN_ROLES  # the statistician reads only
SEARCH_PER_PAGE = 50


# --- one package ---------------------------------------------------------------------------------


@require_GET
@workplace_required()
def package_view(request: WorkplaceRequest, package_id: int) -> HttpResponse:
    """ "Данные пакета" as `<Тег>: <Данные>` and the "Ответ": personal data, so each view is audited."""
    package = package_get(workplace=request.workplace, package_id=package_id)
    audit_record(action=AuditAction.PACKAGE_DATA_VIEWED, request=request, obj=package)
    context = {
        "package": package,
        "answer": answer_of(package, request.workplace),
        "overdue": overdue_hours(package),
        "log": package.log.order_by("at", "id"),
        "attempts": package.attempts.order_by("at", "id"),
        "can_act": request.workplace is not None and request.workplace.role in ADMINS,
        "back": request.GET.get("back", "") if request.GET.get("back", "").startswith("/journal/") else "",
    }
    return render(request, "servicelog/package.html", context)


def _back_to(request: WorkplaceRequest, fallback: str) -> str:
    back = request.POST.get("back", "")
    return back if back.startswith("/journal/") else fallback


@require_POST
@workplace_required(*ADMINS)
def package_do_not_send_view(request: WorkplaceRequest, package_id: int) -> HttpResponse:
    package = package_get(workplace=request.workplace, package_id=package_id)
    value = request.POST.get("value") == "1"
    user = request.user if request.user.is_authenticated else None
    try:
        package_do_not_send(package=package, value=value, user=user, reason=request.POST.get("reason", ""))
    except PackageActionRefused as exc:
        messages.error(request, str(exc))
    else:
        audit_record(action=AuditAction.DO_NOT_SEND, request=request, obj=package, details={"value": value})
        messages.success(request, "Запрет отправки установлен." if value else "Запрет отправки снят.")
    return redirect(_back_to(request, reverse("journal_package", args=[package.pk])))


@require_POST
@workplace_required(*ADMINS)
def package_resend_view(request: WorkplaceRequest) -> HttpResponse:
    """Resend one or many packages (checkboxes `package`), each as a new attempt; others' ids are 404."""
    ids = [pk for pk in (parse_id(v) for v in request.POST.getlist("package")) if pk is not None]
    if not ids:
        messages.error(request, "Отметьте пакеты для повторной отправки.")
        return redirect(_back_to(request, reverse("journal")))
    packages = [package_get(workplace=request.workplace, package_id=pk) for pk in ids]
    user = request.user if request.user.is_authenticated else None
    sent, refused = 0, []
    for package in packages:
        try:
            package_resend(package=package, user=user)
        except PackageActionRefused as exc:
            refused.append(
                f"{package_type_title(package.package_type)} "
                f"от {timezone.localtime(package.created_at):%d.%m.%Y %H:%M}: {exc}"
            )
            continue
        audit_record(action=AuditAction.RESEND, request=request, obj=package)
        sent += 1
    if sent:
        messages.success(request, f"Поставлено на повторную отправку пакетов: {sent}.")
    for text in refused[:10]:
        messages.error(request, text)
    return redirect(_back_to(request, reverse("journal")))


# --- search, print, export, dashboard ------------------------------------------------------------


@require_GET
@workplace_required()
def package_search_view(request: WorkplaceRequest) -> HttpResponse:
    """E5: packages by person, type, status, dates, МО and message text, across runs."""
    filters = PackageFilter.from_params(request.GET)
    searched = any(v for k, v in request.GET.items() if k != "page")
    page = None
    if searched and not filters.period_error:  # a period typed wrong is said, not searched
        page = Paginator(
            package_search(workplace=request.workplace, filters=filters), SEARCH_PER_PAGE
        ).get_page(request.GET.get("page"))
        page.object_list = with_overdue(page.object_list)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "statuses": PackageStatus.choices,
        "package_types": package_type_choices(),
        "services": services_visible(request.workplace),
        "query": params.urlencode(),
        "can_act": request.workplace is not None and request.workplace.role in ADMINS,
        "here": f"{reverse('journal_search')}?{params.urlencode()}",
        "sees_all": request.workplace is not None and request.workplace.sees_all_mo,
    }
    return render(request, "servicelog/search.html", context)


@require_GET
@workplace_required()
def print_view(request: WorkplaceRequest) -> HttpResponse:
    """ "Печать": the selected run with its packages and log, or the whole list of runs."""
    workplace = request.workplace
    service = service_get(workplace, request.GET.get("service", ""))
    run_id = parse_id(request.GET.get("run"))
    if run_id is not None:
        run = run_get(workplace=workplace, service=service, run_id=run_id)
        status = request.GET.get("status", "")
        filters = PackageFilter(run_id=run.pk, status=status if status in PackageStatus.values else "")
        packages = list(package_search(workplace=workplace, filters=filters)[:5000])
        counts = run_package_counts(workplace=workplace, run_ids=[run.pk]).get(run.pk, (0, 0))
        context = {
            "service": service,
            "run": run,
            "counts": counts,
            "packages": packages,
            "log": run_log(workplace=workplace, run=run),
        }
    else:
        runs = list(journal_runs(workplace=workplace, service=service)[:1000])
        counts_by_run = run_package_counts(workplace=workplace, run_ids=[r.pk for r in runs])
        context = {"service": service, "rows": [(r, *counts_by_run.get(r.pk, (0, 0))) for r in runs]}
    context["printed_at"] = timezone.localtime()
    return render(request, "servicelog/print.html", context)


def _runs_rows(request: WorkplaceRequest) -> tuple[str, list[str], Iterator[list[Any]]]:
    workplace = request.workplace
    service = service_get(workplace, request.GET.get("service", ""))
    runs = journal_runs(workplace=workplace, service=service)

    def rows() -> Iterator[list[Any]]:
        for chunk_start in range(0, runs.count(), 1000):
            chunk = list(runs[chunk_start : chunk_start + 1000])
            counts = run_package_counts(workplace=workplace, run_ids=[r.pk for r in chunk])
            for run in chunk:
                total, errors = counts.get(run.pk, (0, 0))
                yield [
                    _local(run.started_at),
                    _local(run.finished_at),
                    run.get_result_display(),
                    run.mo.code if run.mo else "весь регион",
                    total,
                    errors,
                    run.get_trigger_display(),
                ]

    header = [
        "Запуск",
        "Завершение",
        "Результат",
        "МО",
        "Всего пакетов",
        "Пакетов с ошибками",
        "Способ запуска",
    ]
    return f"runs_{service.code}", header, rows()


def _packages_rows(request: WorkplaceRequest) -> tuple[str, list[str], Iterator[list[Any]]]:
    filters = PackageFilter.from_params(request.GET)
    if filters.period_error:
        raise Http404(filters.period_error)
    packages = package_search(workplace=request.workplace, filters=filters)

    def rows() -> Iterator[list[Any]]:
        for package in packages.iterator(chunk_size=2000):
            yield [
                (package.do_not_send and "да") or "нет",
                _local(package.created_at),
                package_type_title(package.package_type),
                package.get_operation_display(),
                package.get_status_display(),
                package.result,
                package.mo.code if package.mo else "",
                package.message_id,
                "да" if package.reply is not None else "нет",
            ]

    header = [
        "Не отправлять пакет",
        "Дата/время",
        "Тип пакета",
        "Операция",
        "Статус пакета",
        "Результат",
        "МО",
        "Идентификатор",
        "Ответ",
    ]
    return "packages", header, rows()


def _log_rows(request: WorkplaceRequest) -> tuple[str, list[str], Iterator[list[Any]]]:
    workplace = request.workplace
    service = service_get(workplace, request.GET.get("service", ""))
    run_id = parse_id(request.GET.get("run"))
    if run_id is None:
        raise Http404("Не выбран запуск")
    run = run_get(workplace=workplace, service=service, run_id=run_id)
    entries = run_log(workplace=workplace, run=run)

    def rows() -> Iterator[list[Any]]:
        for entry in entries.iterator(chunk_size=2000):
            package = entry.package
            yield [
                _local(entry.at),
                entry.get_level_display(),
                package.message_id if package else "",
                f"{package_type_title(package.package_type)}, {package.get_operation_display().lower()}"
                if package
                else "",
                entry.message,
            ]

    headers = ["Дата и время", "Вид", "Идентификатор пакета", "Тип пакета", "Сообщение"]
    return f"log_{service.code}_{run.pk}", headers, rows()


def _local(moment: dt.datetime | None) -> str:
    return f"{timezone.localtime(moment):%d.%m.%Y %H:%M:%S}" if moment else ""


EXPORTS = {"runs": _runs_rows, "packages": _packages_rows, "log": _log_rows}


@require_GET
@workplace_required()
def export_view(request: WorkplaceRequest, kind: str, fmt: str) -> HttpResponseBase:
    """Any list of the journal as CSV or XLSX, with the page's filters; recorded in the audit trail."""
    if kind not in EXPORTS or fmt not in ("csv", "xlsx"):
        raise Http404("Нет такой выгрузки")
    name, header, rows = EXPORTS[kind](request)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        details={"kind": kind, "format": fmt, **request.GET.dict()},
    )
    return csv_response(name, header, rows) if fmt == "csv" else xlsx_response(name, header, rows)


STATUS_COLOURS = {
    PackageStatus.FORM_ERROR: "#b3261e",
    PackageStatus.FORMED: "#9fb0c5",
    PackageStatus.SENT: "#1458a8",
    PackageStatus.SEND_ERROR: "#e8710a",
    PackageStatus.ACCEPTED: "#2e7d32",
    PackageStatus.REJECTED_BY_FUND: "#c2185b",
    PackageStatus.RECEIVED: "#6d4c41",
    PackageStatus.PROCESSED: "#00897b",
    PackageStatus.REJECTED: "#5d4037",
}


@require_GET
@workplace_required()
def dashboard_view(request: WorkplaceRequest) -> HttpResponse:
    """Packages per day and status as a stacked bar chart (SVG drawn here: no scripts from outside)."""
    days = min(max(parse_id(request.GET.get("days")) or 30, 7), 180)
    dates, series = dashboard_counts(workplace=request.workplace, days=days)
    totals = [sum(series[s][i] for s in series) for i in range(len(dates))]
    peak = max([*totals, 1])
    width, height, bar = 40 + 24 * len(dates), 260, 18
    bars = []
    for i, day in enumerate(dates):
        y = height - 30
        for status, colour in STATUS_COLOURS.items():
            n = series[status][i]
            if not n:
                continue
            h = round(n / peak * (height - 60))
            y -= h
            bars.append(
                {
                    "x": 30 + 24 * i,
                    "y": y,
                    "h": h,
                    "colour": colour,
                    "title": f"{day:%d.%m}: {PackageStatus(status).label} — {n}",
                }
            )
    legend = [(PackageStatus(s).label, c, sum(series[s])) for s, c in STATUS_COLOURS.items()]
    labels = [{"x": 30 + 24 * i + bar // 2, "text": f"{d:%d.%m}"} for i, d in enumerate(dates) if i % 3 == 0]
    return render(
        request,
        "servicelog/dashboard.html",
        {
            "days": days,
            "bars": bars,
            "legend": legend,
            "labels": labels,
            "width": width,
            "height": height,
            "bar": bar,
            "peak": peak,
            "total": sum(totals),
            "first": dates[0],
            "last": dates[-1],
        },
    )


# --- the audit page (A5) -------------------------------------------------------------------------


DETAIL_LABELS = {
    "file": "файл",
    "files": "файлы",
    "summary": "итог",
    "value": "запрет отправки",
    "api": "через API",
    "kind": "что выгружено",
    "format": "формат",
    "package": "пакет",
    "page": "страница",
    "person": "человек",
    "persons": "люди",
    "records": "записей",
    "run": "запуск",
    "service": "сервис",
    "status": "статус",
    "date_from": "с",
    "date_to": "по",
    "q": "человек",
    "text": "текст",
    "type": "тип пакета",
    "mo": "МО",
    "app_path": "раздел",
    "k": "число",
    "token": "токен",
    "user": "пользователь",
}
EXPORT_KINDS = {"runs": "список запусков", "packages": "пакеты", "log": "подробный журнал"}


def audit_details(details: dict[str, Any] | None) -> str:
    """Details for people: Russian labels, да/нет for flags, lists one after another."""

    def shown(key: str, value: Any) -> str:
        if key == "value" and isinstance(value, bool):  # "Не отправлять пакет" set or cleared
            return "установлен" if value else "снят"
        if isinstance(value, bool):
            return "да" if value else "нет"
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        if key == "kind":
            return EXPORT_KINDS.get(str(value), str(value))
        if key == "status":
            return str(PackageStatus(value).label) if value in PackageStatus.values else str(value)
        return str(value)

    return "; ".join(
        f"{DETAIL_LABELS.get(key, key)}: {shown(key, value)}"
        for key, value in (details or {}).items()
        if value != ""
    )


def _object_label(label: str) -> str:
    """ "registry.Person" → "человек": the model's Russian name."""
    if not label:
        return ""
    try:
        return str(apps.get_model(label)._meta.verbose_name)
    except (LookupError, ValueError):
        return label


@require_GET
@workplace_required(Role.DC_ADMIN)
def audit_view(request: WorkplaceRequest) -> HttpResponse:
    """Who did what, when, from where and with what outcome; nothing here can be changed."""

    period = typed_period(request.GET.get("date_from"), request.GET.get("date_to"))
    filters = AuditFilter(
        username=request.GET.get("who", "").strip()[:150],
        action=request.GET.get("action", "") if request.GET.get("action", "") in AuditAction.values else "",
        mo_code=request.GET.get("mo", "").strip()[:6],
        date_from=period.date_from,
        date_to=period.date_to,
        obj=request.GET.get("object", "").strip()[:100],
    )
    events = audit_events(filters=filters) if not period.error else AuditEvent.objects.none()
    page = Paginator(events.select_related("mo"), 100).get_page(request.GET.get("page"))
    roles = dict(Role.choices)
    for event in page.object_list:
        kind = _object_label(event.object_type)
        named = event.object_title or (f"№ {event.object_id}" if event.object_id else "")
        event.object_label = f"{kind}: {named}" if kind and named else kind or named  # type: ignore[attr-defined]
        event.role_label = roles.get(event.workplace, event.workplace)  # type: ignore[attr-defined]
        event.details_text = audit_details(event.details)  # type: ignore[attr-defined]
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "servicelog/audit.html",
        {
            "page": page,
            "filters": filters,
            "period": period,
            "actions": AuditAction.choices,
            "query": params.urlencode(),
            "total": AuditEvent.objects.count(),
        },
    )
