"""The form "Выгрузка прикреплений" (D1): period and МО, the check with the error report, the file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from registry.access import WorkplaceRequest, workplace_required
from registry.models import ADMIN_ROLES, Mo, Workplace

from .export import (
    ExportCheck,
    ExportPeriod,
    ExportRefused,
    attachment_file_response,
    default_period,
    export_check_steps,
    export_file_name,
    export_mo,
    export_period,
    max_days,
    parse_day,
    report_file_name,
    report_response,
)

ROLES = ADMIN_ROLES  # like the other admin forms: the statistician is refused
REPORT_MARK = "<!-- the error report -->"


def _asked(request: WorkplaceRequest) -> tuple[Workplace, Mo, ExportPeriod]:
    """The МО (404 for another МО's) and the checked period of the request (ExportRefused)."""
    workplace = request.workplace
    assert workplace is not None  # workplace_required
    mo = export_mo(workplace=workplace, code=request.GET.get("mo"))
    period = export_period(
        parse_day(request.GET.get("date_from"), "Период с"),
        parse_day(request.GET.get("date_to"), "Период по"),
        today=timezone.localdate(),
    )
    return workplace, mo, period


def _query(mo: Mo, period: ExportPeriod) -> str:
    return urlencode(
        {"date_from": period.date_from.isoformat(), "date_to": period.date_to.isoformat(), "mo": mo.code}
    )


@require_GET
@workplace_required(*ROLES)
def export_view(request: WorkplaceRequest) -> HttpResponseBase:
    """Without a period: the form with the current month. With one: a page streamed as it is made —
    the file's download starts at once (the page shows its progress), while the check of the data
    runs and its progress, the row count and the error report follow; no pause long enough for a
    proxy or a browser to give up, however many persons the МО has."""
    workplace = request.workplace
    assert workplace is not None
    shown = default_period(timezone.localdate())
    context: dict[str, Any] = {
        "mos": Mo.objects.order_by("code") if workplace.sees_all_mo else [workplace.mo],
        "max_days": max_days(),
        "mo": workplace.mo,
        "date_from": request.GET.get("date_from", shown.date_from.isoformat()),
        "date_to": request.GET.get("date_to", shown.date_to.isoformat()),
    }
    if "date_to" not in request.GET:
        return render(request, "attachment/export.html", context)
    try:
        workplace, mo, period = _asked(request)
    except ExportRefused as exc:
        context["error"] = str(exc)
        context["mo"] = export_mo(workplace=workplace, code=request.GET.get("mo"))
        return render(request, "attachment/export.html", context, status=400)
    query = _query(mo, period)
    context.update(
        {
            "mo": mo,
            "period": period,
            "date_from": period.date_from.isoformat(),
            "date_to": period.date_to.isoformat(),
            "file_name": export_file_name(mo, period),
            "report_name": report_file_name(mo, period),
            "file_url": f"{reverse('attachment_export_file')}?{query}",
            "report_url": f"{reverse('attachment_export_report')}?{query}",
            "report_mark": REPORT_MARK,
        }
    )
    head, tail = render_to_string("attachment/export.html", context, request=request).split(REPORT_MARK, 1)

    def page() -> Iterator[str]:
        yield head
        check = ExportCheck()
        for checked in export_check_steps(workplace=workplace, mo=mo, period=period, check=check):
            yield f'<span hidden data-checked="{checked}"></span>\n'
        yield render_to_string("attachment/_report.html", context | {"check": check}, request=request)
        yield tail

    response = StreamingHttpResponse(page(), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response


@require_GET
@workplace_required(*ROLES)
def export_file_view(request: WorkplaceRequest) -> HttpResponseBase:
    """The file `MO2<MCOD><YYYYMMDD>.csv`, streamed."""
    try:
        workplace, mo, period = _asked(request)
    except ExportRefused as exc:
        messages.error(request, str(exc))
        return redirect("attachment_export")
    return attachment_file_response(request=request, workplace=workplace, mo=mo, period=period, via="page")


@require_GET
@workplace_required(*ROLES)
def export_report_view(request: WorkplaceRequest) -> HttpResponseBase:
    """The whole error report as CSV, streamed."""
    try:
        workplace, mo, period = _asked(request)
    except ExportRefused as exc:
        messages.error(request, str(exc))
        return redirect("attachment_export")
    return report_response(request=request, workplace=workplace, mo=mo, period=period)
