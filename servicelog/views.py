"""The journal page "Журнал работы сервисов": services → runs → detailed log; manual start (E1–E3)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from registry.models import Role
from tfoms_portal.access import WorkplaceRequest, workplace_required

from .audit import audit_record
from .models import AuditAction, RunTrigger
from .selectors import journal_runs, run_get, run_log, run_package_counts, service_get, services_visible
from .services import RunRefused, run_open
from .tasks import execute_run

STARTERS = (Role.DC_ADMIN, Role.MO_ADMIN)


@require_GET
@workplace_required()
def journal_view(request: WorkplaceRequest) -> HttpResponse:
    workplace = request.workplace
    services = list(services_visible(workplace))
    code = request.GET.get("service") or (services[0].code if services else "")
    service = service_get(workplace, code) if code else None
    context: dict[str, object] = {"services": services, "service": service}
    if service is not None:
        page = Paginator(journal_runs(workplace=workplace, service=service), 30).get_page(
            request.GET.get("page")
        )
        counts = run_package_counts(workplace=workplace, run_ids=[r.pk for r in page])
        rows = [(r, *counts.get(r.pk, (0, 0))) for r in page]
        selected = None
        run_id = request.GET.get("run", "")
        if run_id.isdigit():
            selected = run_get(workplace=workplace, service=service, run_id=int(run_id))
        elif page.object_list:
            selected = page.object_list[0]
        context.update(
            page=page,
            rows=rows,
            selected=selected,
            log=list(run_log(workplace=workplace, run=selected)) if selected else [],
            can_start=service.manual_start and workplace is not None and workplace.role in STARTERS,
        )
    return render(request, "servicelog/journal.html", context)


@require_POST
@workplace_required(*STARTERS)
def journal_start_view(request: WorkplaceRequest, code: str) -> HttpResponse:
    """Manual start: for the МО admin's own МО, region-wide for the ЦОД admin (refusals shown at once)."""
    workplace = request.workplace
    assert workplace is not None  # workplace_required
    service = service_get(workplace, code)
    url = f"{reverse('journal')}?service={service.code}"
    if not service.manual_start:
        messages.error(request, f"Сервис «{service.name}» не запускается вручную.")
        return redirect(url)
    mo = None if workplace.sees_all_mo else workplace.mo
    user = request.user if request.user.is_authenticated else None
    try:
        run = run_open(service.code, mo=mo, trigger=RunTrigger.MANUAL, user=user)
    except RunRefused as exc:
        audit_record(action=AuditAction.MANUAL_START, request=request, obj=service, outcome=f"отказ: {exc}")
        messages.error(request, str(exc))
        return redirect(url)
    audit_record(action=AuditAction.MANUAL_START, request=request, obj=run)
    execute_run.delay(run.pk)
    messages.success(request, f"Сервис «{service.name}» запущен.")
    return redirect(f"{url}&run={run.pk}")
