"""The form "Пакетная идентификация ТФОМС" (B1): period, packages, records; download, upload, delete."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditAction
from audit.services import audit_record
from registry.access import WorkplaceRequest, parse_id, workplace_required
from registry.models import ADMIN_ROLES
from tfoms_portal import dates

from .models import RecordStatus
from .selectors import (
    MODES,
    RecordFilter,
    package_get,
    package_records,
    packages_for,
    period_from_params,
    with_results,
)
from .services import ResponseRefused, identification_package_delete, identification_response_load

ROLES = ADMIN_ROLES  # §4.3.1
SHOW = {"all": "Все", "answered": "С ответом", "unanswered": "Без ответа"}
SEARCHES = ("q_patient", "q_period", "q_case", "q_status", "q_errors", "q_result")


def _date(value: str | None) -> dt.date | None:
    try:
        return dates.parse_day(value)
    except ValueError:
        return None


KEPT = ("mode", "date_from", "date_to", "show", "package", *SEARCHES)  # what every action keeps


def _back(request: WorkplaceRequest, **extra: Any) -> str:
    """Back to the form as the user left it: period, "Показать", selection and column searches."""
    keep = {k: v for k, v in request.POST.items() if k in KEPT and v}
    keep.update({k: v for k, v in extra.items() if v is not None})
    return f"{reverse('identification')}?{urlencode({k: v for k, v in keep.items() if v})}"


@require_GET
@workplace_required(*ROLES)
def identification_view(request: WorkplaceRequest) -> HttpResponse:
    params = request.GET
    step = {"back": -1, "forward": 1}.get(params.get("go", ""), 0)
    typed = dates.typed_period(params.get("date_from"), params.get("date_to"))
    period_error = typed.error if step == 0 and params.get("go") not in MODES else ""
    if params.get("go") in MODES:  # День / Неделя / Месяц: around today when it is shown, else the start
        today = timezone.localdate()
        shown = (typed.date_from, typed.date_to)
        inside = shown[0] is not None and shown[1] is not None and shown[0] <= today <= shown[1]
        period = period_from_params(
            params["go"], today if inside else _date(params.get("date_from")), None, 0
        )
    else:
        period = period_from_params(params.get("mode", "month"), typed.date_from, typed.date_to, step)
    show = params.get("show", "all") if params.get("show") in SHOW else "all"
    # A period typed wrong is said so and kept as typed: no list of some other period instead.
    packages = (
        [] if period_error else list(packages_for(workplace=request.workplace, period=period, show=show))
    )
    selected = None
    records: list[Any] = []
    search = RecordFilter(
        patient=params.get("q_patient", "").strip(),
        period=_date(params.get("q_period")),
        case=params.get("q_case", "").strip(),
        status=params.get("q_status", "") if params.get("q_status") in RecordStatus.values else "",
        errors=params.get("q_errors", "").strip(),
        result=params.get("q_result", "").strip(),
    )
    package_id = parse_id(params.get("package"))
    if package_id is not None:
        selected = package_get(workplace=request.workplace, package_id=package_id)
        records = with_results(list(package_records(package=selected, search=search)[:1000]))
    searches = {key: params[key] for key in SEARCHES if params.get(key)}
    kept = {
        "mode": period.mode,
        "date_from": period.date_from.isoformat(),
        "date_to": period.date_to.isoformat(),
        "show": show,
        **({"package": str(selected.pk)} if selected else {}),
        **searches,
    }
    if period_error:
        kept.update(date_from=typed.input_from, date_to=typed.input_to)
    context = {
        "period_error": period_error,
        "kept": kept,
        "period": period,
        "modes": MODES,
        "show": show,
        "show_choices": SHOW,
        "packages": packages,
        "selected": selected,
        "records": records,
        "search": search,
        "statuses": RecordStatus.choices,
        # the packages' links: the period and "Показать", the searches too (they are of the records)
        "query": urlencode({k: v for k, v in kept.items() if k != "package"}),
        "here": urlencode(kept),
    }
    return render(request, "identification/form.html", context)


@require_GET
@workplace_required(*ROLES)
def request_download_view(request: WorkplaceRequest, package_id: int) -> HttpResponse:
    """ "Скачать": the request file, only while no response is loaded (B1)."""
    package = package_get(workplace=request.workplace, package_id=package_id)
    if package.response_loaded_at is not None or not package.request_file:
        messages.error(request, f"Файл запроса пакета {package.name} недоступен: ответ уже загружен.")
        audit_record(
            action=AuditAction.DOWNLOAD, request=request, obj=package, outcome="отказ: ответ загружен"
        )
        return redirect(f"{reverse('identification')}?package={package.pk}")
    audit_record(
        action=AuditAction.DOWNLOAD, request=request, obj=package, details={"file": package.file_name}
    )
    response = HttpResponse(bytes(package.request_file), content_type="application/x-dbf")
    response["Content-Disposition"] = f'attachment; filename="{package.file_name}"'
    return response


@require_POST
@workplace_required(*ROLES)
def response_upload_view(request: WorkplaceRequest) -> HttpResponse:
    """ "Загрузить": a response .DBF; an МО admin may load only files of their own МО (§4.3.4)."""
    workplace = request.workplace
    assert workplace is not None
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Выберите файл ответа (.DBF).")
        return redirect(_back(request))
    name = upload.name or ""
    if upload.size is not None and upload.size > settings.UPLOAD_MAX_FILE_BYTES:
        messages.error(
            request,
            f"Файл «{name}» слишком велик: не более {settings.UPLOAD_MAX_FILE_BYTES // 1_048_576} МБ.",
        )
        return redirect(_back(request))
    try:
        result = identification_response_load(
            file_name=name, data=upload.read(), only_mo=None if workplace.sees_all_mo else workplace.mo
        )
    except ResponseRefused as exc:
        audit_record(
            action=AuditAction.UPLOAD, request=request, outcome=f"отказ: {exc}"[:250], details={"file": name}
        )
        messages.error(request, str(exc))
        return redirect(_back(request))
    audit_record(
        action=AuditAction.UPLOAD,
        request=request,
        obj=result.package,
        details={"file": name, "summary": result.summary},
    )
    messages.success(request, result.summary)
    return redirect(_back(request, package=result.package.pk))


@require_POST
@workplace_required(*ROLES)
def package_delete_view(request: WorkplaceRequest, package_id: int) -> HttpResponse:
    """ "Удалить": the package, its records and its files on the server."""
    package = package_get(workplace=request.workplace, package_id=package_id)
    name = package.name
    audit_record(action=AuditAction.DELETE, request=request, obj=package, details={"package": name})
    requeued = identification_package_delete(package=package)
    messages.success(
        request,
        f"Пакет {name} удалён вместе с файлами."
        + (f" Людей, ждавших ответа, снова в очереди на идентификацию: {requeued}." if requeued else ""),
    )
    return redirect(_back(request, package=""))
