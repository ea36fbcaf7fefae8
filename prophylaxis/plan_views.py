"""The page "Планы диспансеризации и профилактических медицинских осмотров" (manual §4.5.2, §4.4.5.2):
plans on the left, the selected plan's persons on the right (loaded into the pane without a reload),
"Отправить" (DISPPLAN), "Экспорт" (order 88), the fund's error reply, the files given out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import AuditAction
from audit.services import audit_record
from registry.access import WorkplaceRequest, scope, workplace_required
from registry.models import ADMIN_ROLES, Mo, Role, Smo
from servicelog.models import RunResult

from .models import MONTHS, PlanExport, PlanPerson, ProphylaxisPlan
from .plan_replies import error_reply_load
from .plans import (
    ExportRequest,
    PlanRefused,
    export_number_taken,
    export_request_defaults,
    exports_bundle,
    plan_in_progress,
    plan_send_start,
    plans_export,
)
from .selectors import plan_counts

VIEWERS = (Role.MO_ADMIN, Role.STATISTICIAN, Role.DC_ADMIN)  # manual §4.5.2.1.2 and the issue
SENDERS = ADMIN_ROLES  # the exchange service is theirs (manual §4.4.5.2.1)
STATUSES = PlanPerson.Status
MAX_REPLY_BYTES = 20 * 1024 * 1024


def _plans(request: WorkplaceRequest) -> Any:
    return scope(ProphylaxisPlan.objects.select_related("mo"), request.workplace)


def _plan(request: WorkplaceRequest, plan_id: int) -> ProphylaxisPlan:
    return get_object_or_404(_plans(request), pk=plan_id)  # another МО's plan: 404 (A4)


def _persons_context(request: WorkplaceRequest, plan: ProphylaxisPlan) -> dict[str, Any]:
    status = request.GET.get("status", "")
    persons = plan.persons.select_related("person", "smo").order_by("person__last_name", "pk")
    if status in STATUSES.values:
        persons = persons.filter(status=status)
    else:
        status = ""
    return {
        "plan": plan,
        "status": status,
        "statuses": STATUSES.choices,
        "page": Paginator(persons, 50).get_page(request.GET.get("ppage")),
        "can_send": request.workplace is not None and request.workplace.role in SENDERS,
        "in_progress": plan_in_progress(plan),
        "files": plan.exports.order_by("-created_at", "-pk")[:10],
    }


@require_GET
@workplace_required(*VIEWERS)
def plans_view(request: WorkplaceRequest) -> HttpResponseBase:
    workplace = request.workplace
    assert workplace is not None
    plans = _plans(request)
    mo_code = request.GET.get("mo", "")
    if workplace.sees_all_mo and mo_code:
        plans = plans.filter(mo__code=mo_code)
    page = Paginator(plans.order_by("mo__code", "-year", "kind", "pk"), 30).get_page(request.GET.get("page"))
    counts = plan_counts(list(page.object_list))
    rows = [
        (plan, [(title, counts[plan.pk].get(code, 0)) for code, title in STATUSES.choices])
        for plan in page.object_list
    ]
    context: dict[str, Any] = {
        "rows": rows,
        "page": page,
        "statuses": STATUSES.choices,
        "mos": Mo.objects.order_by("code") if workplace.sees_all_mo else [],
        "mo_code": mo_code,
        "exports": scope(PlanExport.objects.select_related("smo", "mo"), workplace).filter(
            **({"mo__code": mo_code} if workplace.sees_all_mo and mo_code else {})
        )[:20],
        "can_upload": workplace.role in SENDERS,
    }
    selected = request.GET.get("plan")
    if selected and selected.isdigit():
        context.update(_persons_context(request, _plan(request, int(selected))))
    return render(request, "prophylaxis/plans.html", context)


@require_GET
@workplace_required(*VIEWERS)
def plan_persons_view(request: WorkplaceRequest, plan_id: int) -> HttpResponseBase:
    """The persons pane alone (the page swaps it in when a plan, a status or a page is chosen)."""
    return render(
        request, "prophylaxis/_plan_persons.html", _persons_context(request, _plan(request, plan_id))
    )


@require_POST
@workplace_required(*SENDERS)
def plan_send_view(request: WorkplaceRequest, plan_id: int) -> HttpResponseBase:
    """ "Отправить" of the form "Отправка в ТФОМС плана профилактического осмотра"."""
    plan = _plan(request, plan_id)
    back = f"{reverse('plans')}?{urlencode({'plan': plan.pk})}"
    try:
        started = plan_send_start(plan=plan, user=request.user)
    except PlanRefused as exc:
        messages.error(request, str(exc))
        return redirect(back)
    audit_record(action=AuditAction.MANUAL_START, request=request, obj=plan, details={"run": started.pk})
    follow = (
        "Статусы записей обновятся сами после отправки и ответа ТФОМС "
        "(журнал «Обмен планами профилактических осмотров»)."
    )
    if started.result == RunResult.RUNNING:
        messages.info(request, f"Отправка плана «{plan}» запущена. {follow}")
    elif started.result == RunResult.ERROR:
        messages.error(
            request, f"Отправка плана «{plan}» завершена с ошибкой: подробности в журнале запуска."
        )
    else:
        summary = started.log.filter(message__startswith="Отправка плана").order_by("-id").first()
        messages.success(request, f"{summary.message if summary else f'План «{plan}» отправлен.'} {follow}")
    return redirect(back)


# --- "Экспорт" (D2) -------------------------------------------------------------------------------


class ExportForm(forms.Form):
    """The form "Экспорт данных плана профилактического мероприятия" (manual §4.5.2.1.3)."""

    smo = forms.ModelMultipleChoiceField(
        label="СМО", queryset=Smo.objects.none(), required=False, widget=forms.SelectMultiple
    )
    month = forms.TypedChoiceField(
        label="Месяц", coerce=int, choices=[(n + 1, m.capitalize()) for n, m in enumerate(MONTHS)]
    )
    year = forms.IntegerField(label="Год", min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label="Квартал загрузки",
        coerce=int,
        empty_value=None,
        required=False,
        choices=[
            ("", "—"),
            (2, "2 квартал (к 1 апреля)"),
            (3, "3 квартал (к 1 июля)"),
            (4, "4 квартал (к 1 октября)"),
        ],
    )
    number = forms.IntegerField(label="Порядковый номер пакета", min_value=1, max_value=9)

    def __init__(self, *args: Any, mo: Mo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mo = mo
        self.fields["smo"].queryset = Smo.objects.filter(is_active=True).order_by("code")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if {"year", "month", "number"} <= data.keys() and export_number_taken(
            self.mo, data["year"], data["month"], data["number"]
        ):
            self.add_error(
                "number", "Пакет с этим номером за этот отчётный период уже выгружен: укажите другой."
            )
        return data


class SelectionRefused(Exception):
    """The ticked plans cannot be exported together; the message says why."""


def _selected_plans(request: WorkplaceRequest, ids: list[str]) -> list[ProphylaxisPlan]:
    wanted = {int(i) for i in ids if i.isdigit()}
    if not wanted:
        raise SelectionRefused("Отметьте в списке планы для экспорта.")
    plans = list(_plans(request).filter(pk__in=wanted).order_by("pk"))
    if len(plans) != len(wanted):
        raise Http404  # a plan of another МО in the selection (A4)
    if len({p.mo_id for p in plans}) != 1:
        raise SelectionRefused("Планы разных МО выгружаются отдельно: отметьте планы одной МО.")
    return plans


@require_http_methods(["GET", "POST"])
@workplace_required(*VIEWERS)
def plan_export_view(request: WorkplaceRequest) -> HttpResponseBase:
    source = request.POST if request.method == "POST" else request.GET
    try:
        plans = _selected_plans(request, source.getlist("plans"))
    except SelectionRefused as exc:
        messages.error(request, str(exc))
        return redirect("plans")
    mo = plans[0].mo
    today = timezone.localdate()
    defaults = export_request_defaults(plans, today)
    context: dict[str, Any] = {"plans": plans, "defaults": defaults, "mo": mo}
    if request.method == "GET":
        form = ExportForm(initial={"month": defaults["month"], "year": defaults["year"]}, mo=mo)
        return render(request, "prophylaxis/plan_export.html", context | {"form": form})
    form = ExportForm(request.POST, mo=mo)
    if not form.is_valid():
        context["invalid"] = True
        return render(request, "prophylaxis/plan_export.html", context | {"form": form}, status=400)
    data = form.cleaned_data
    export_request = ExportRequest(
        plans=plans,
        smos=list(data["smo"]),
        month=data["month"],
        year=data["year"],
        quarter=data["quarter"],
        number=data["number"],
    )
    try:
        result = plans_export(mo=mo, request=export_request, user=request.user)
    except PlanRefused as exc:
        context["refused"] = str(exc)
        return render(request, "prophylaxis/plan_export.html", context | {"form": form}, status=400)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        details={"files": [e.file_name for e in result.exports], "records": result.records},
    )
    ids = ",".join(str(e.pk) for e in result.exports)
    context.update(
        {
            "form": form,
            "result": result,
            "download": f"{reverse('plan_exports_download')}?{urlencode({'ids': ids})}",
            "finished_at": timezone.localtime(),
        }
    )
    return render(request, "prophylaxis/plan_export.html", context)


@require_GET
@workplace_required(*VIEWERS)
def plan_exports_download_view(request: WorkplaceRequest) -> HttpResponseBase:
    """One export's ZIP, or a ZIP of the ZIPs of one export per СМО."""
    ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.isdigit()]
    exports = list(scope(PlanExport.objects.all(), request.workplace).filter(pk__in=ids).order_by("pk"))
    if not ids or len(exports) != len(set(ids)):
        raise Http404
    name, content = exports_bundle(exports)
    audit_record(action=AuditAction.DOWNLOAD, request=request, details={"file": name})
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- the fund's error reply (D3) -------------------------------------------------------------------


@require_POST
@workplace_required(*SENDERS)  # it changes statuses: the statistician only reads and exports (A3)
def plan_error_reply_view(request: WorkplaceRequest) -> HttpResponseBase:
    workplace = request.workplace
    assert workplace is not None
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Выберите файл ответа ТФОМС (OSHIB_PR, zip или xml).")
        return redirect("plans")
    if upload.size is not None and upload.size > MAX_REPLY_BYTES:
        messages.error(request, f"Файл «{upload.name}» больше {MAX_REPLY_BYTES // 2**20} МБ: не принят.")
        return redirect("plans")
    name = upload.name or "file"
    try:
        result = error_reply_load(
            mo=None if workplace.sees_all_mo else workplace.mo,
            name=name,
            data=upload.read(),
            user=request.user,
        )
    except PlanRefused as exc:
        audit_record(
            action=AuditAction.UPLOAD, request=request, outcome=str(exc)[:250], details={"file": name}
        )
        messages.error(request, str(exc))
        return redirect("plans")
    audit_record(action=AuditAction.UPLOAD, request=request, obj=result.export, details={"file": name})
    text = (
        f"Ответ ТФОМС на выгрузку {result.export.file_name} загружен: принято записей {result.accepted}, "
        f"с ошибками {result.errors}."
    )
    if result.unknown:
        shown = ", ".join(str(n) for n in result.unknown[:20])
        messages.warning(
            request, f"Записи, которых нет в выгрузке (NOMER_Z), пропущены: {shown}. Остальное применено."
        )
    messages.success(request, text)
    return redirect("plans")
