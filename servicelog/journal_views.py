"""The journal page as manual §4.6.2 draws it: the services on the left, the selected service's runs
on the right, the selected run's detailed log below them (its packages, §4.6.3, and its messages).

Each pane has its own pager; a click replaces the panes (django-htmx), never the page. The URL keeps
the whole state, so paging one pane never resets another, and the page works without JavaScript
too. While a run shown is "Выполняется" the panes ask for themselves every few seconds until it is
over (E3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url

from registry.access import WorkplaceRequest, parse_id, workplace_required
from registry.models import ADMIN_ROLES

from .audit import audit_record
from .catalog import service_detail, service_note
from .models import AuditAction, PackageStatus, RunResult, Service, ServiceRun
from .registry import service_jobs
from .runs import RunRefused, run_start, scope_label
from .selectors import (
    PackageFilter,
    journal_runs,
    package_search,
    run_get,
    run_log,
    run_package_counts,
    runs_failed_elsewhere,
    service_get,
    services_visible,
    with_overdue,
)

ADMINS = ADMIN_ROLES  # the statistician reads only
RUNS_PER_PAGE = 10
PACKAGES_PER_PAGE = 50
LOG_PER_PAGE = 100
POLL_SECONDS = 2
PACKAGES, MESSAGES = "packages", "log"
PANES = {"journal": "servicelog/_journal.html", "right": "servicelog/_journal_right.html"}
PANES |= {"runs": "servicelog/_journal_runs.html", "detail": "servicelog/_journal_detail.html"}


@dataclass(frozen=True)
class JournalState:
    """What the journal shows, all in its URL: the service, the runs' page, the run, and the
    detailed log's tab, status filter and pages."""

    service: str = ""
    page: int | None = None
    run: int | None = None
    tab: str = ""
    status: str = ""
    ppage: int | None = None
    lpage: int | None = None

    @classmethod
    def of(cls, params: QueryDict | dict[str, list[str]]) -> JournalState:
        def one(key: str) -> str:
            value = params.get(key, "")
            return (value[-1] if value else "") if isinstance(value, list) else str(value or "")

        status = one("status")
        return cls(
            service=one("service"),
            page=parse_id(one("page")),
            run=parse_id(one("run")),
            tab=one("tab") if one("tab") in (PACKAGES, MESSAGES) else "",
            status=status if status in PackageStatus.values else "",
            ppage=parse_id(one("ppage")),
            lpage=parse_id(one("lpage")),
        )

    def url(self, pane: str = "", **changes: Any) -> str:
        """The journal's address with `changes`; a new run starts its detailed log from the top."""
        state = replace(self, **changes)
        if "run" in changes and changes["run"] != self.run:
            state = replace(state, ppage=None, lpage=None)
        params = {key: value for key, value in vars(state).items() if value not in (None, "")}
        if pane:
            params["pane"] = pane
        return f"{reverse('journal')}?{urlencode(params)}"


def _journal_context(request: WorkplaceRequest, state: JournalState) -> dict[str, Any]:
    workplace = request.workplace
    services = list(services_visible(workplace))
    default = next((s.code for s in services if s.code == "tfoms_auto"), services[0].code if services else "")
    state = replace(state, service=state.service or default)
    context: dict[str, Any] = {"services": services, "service": None, "state": state}
    if not state.service:
        return context
    service = service_get(workplace, state.service)
    page = Paginator(journal_runs(workplace=workplace, service=service), RUNS_PER_PAGE).get_page(state.page)
    shown = list(page.object_list)
    selected = run_get(workplace=workplace, service=service, run_id=state.run) if state.run else None
    if state.run is None and shown:
        selected = shown[0]
    if selected is not None:  # every link of the panes keeps the selection, even off the runs' page
        state = replace(state, run=selected.pk)
    ids = [r.pk for r in shown] + ([selected.pk] if selected and selected not in shown else [])
    counts = run_package_counts(workplace=workplace, run_ids=ids) if service.carries_packages else {}
    can_act = workplace is not None and workplace.role in ADMINS
    has_jobs = bool(service_jobs(service.code))
    context.update(
        service=service,
        page=page,
        rows=[(r, *counts.get(r.pk, (0, 0))) for r in shown],
        failed_elsewhere=runs_failed_elsewhere(workplace=workplace, runs=shown),
        running=any(r.result == RunResult.RUNNING for r in shown),
        selected_running=selected is not None and selected.result == RunResult.RUNNING,
        selected=selected,
        poll_seconds=POLL_SECONDS,
        can_act=can_act,
        can_start=service.manual_start and has_jobs and can_act,
        no_jobs=not has_jobs,
        service_note=service_note(service.code),
    )
    if selected is not None:
        context.update(_detail(request, state, service, selected, counts.get(selected.pk, (0, 0))[0]))
    context.update(state=state, here=state.url())
    return context


def _detail(
    request: WorkplaceRequest, state: JournalState, service: Service, run: ServiceRun, packages_total: int
) -> dict[str, Any]:
    """The detailed log of the selected run: its packages (the default when it has any) or its messages."""
    workplace = request.workplace
    opens_on = PACKAGES if service_detail(service.code) == PACKAGES and packages_total else MESSAGES
    tab = state.tab or opens_on
    if tab == PACKAGES and not service.carries_packages:
        tab = MESSAGES
    detail: dict[str, Any] = {"tab": tab, "packages": None, "log": None, "statuses": PackageStatus.choices}
    if tab == PACKAGES:
        filters = PackageFilter(run_id=run.pk, status=state.status)
        packages: Page[Any] = Paginator(
            package_search(workplace=workplace, filters=filters), PACKAGES_PER_PAGE
        ).get_page(state.ppage)
        packages.object_list = with_overdue(packages.object_list)
        detail["packages"] = packages
    else:
        detail["log"] = Paginator(run_log(workplace=workplace, run=run), LOG_PER_PAGE).get_page(state.lpage)
    return detail


def _current(request: WorkplaceRequest) -> JournalState | None:
    """The state of the page the htmx request came from (its address holds the whole state)."""
    if not request.htmx or not request.htmx.current_url:
        return None
    return JournalState.of(parse_qs(urlsplit(request.htmx.current_url).query))


def _pane_response(request: WorkplaceRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """A pane for htmx: the browser's address becomes the page's own (never the pane's), and caches
    keep the pane and the page apart."""
    response = render(request, template, context)
    push_url(response, context["state"].url())
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@workplace_required()
def journal_view(request: WorkplaceRequest) -> HttpResponse:
    pane = request.GET.get("pane", "") if request.htmx and not request.htmx.history_restore_request else ""
    # A pane asking for itself (a run in progress) takes the state of the page as it is now, so
    # what the user paged or chose meanwhile in the other pane is kept.
    state = (_current(request) if request.GET.get("poll") else None) or JournalState.of(request.GET)
    context = _journal_context(request, state)
    if pane in PANES:
        return _pane_response(request, PANES[pane], context)
    response = render(request, "servicelog/journal.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@workplace_required(*ADMINS)
def journal_start_view(request: WorkplaceRequest, code: str) -> HttpResponse:
    """ "Запуск": for the МО admin's own МО, region-wide for the ЦОД admin. The run is opened here
    (a refusal is said at once) and carried out in the background; the runs pane shows it
    "Выполняется" and follows it to its result by itself."""
    workplace = request.workplace
    assert workplace is not None  # workplace_required
    service = service_get(workplace, code)
    state = replace(_current(request) or JournalState(), service=service.code)
    mo = None if workplace.sees_all_mo else workplace.mo
    if not service.manual_start:
        return _answer(request, state, error=f"Сервис «{service.name}» не запускается вручную.")
    user = request.user if request.user.is_authenticated else None
    try:
        started = run_start(
            service.code,
            mo=mo,
            user=user,
            opened_hook=lambda run: audit_record(action=AuditAction.MANUAL_START, request=request, obj=run),
        )
    except RunRefused as exc:
        audit_record(
            action=AuditAction.MANUAL_START, request=request, obj=service, outcome=f"отказ: {exc}"[:250]
        )
        return _answer(request, state, error=str(exc))
    state = replace(state, run=started.pk, page=None, ppage=None, lpage=None, tab="", status="")
    said = f"Сервис «{service.name}» для {scope_label(mo)}"
    if started.result == RunResult.ERROR:
        return _answer(
            request, state, error=f"{said}: запуск завершён с ошибкой, подробности в журнале запуска."
        )
    if started.result == RunResult.RUNNING:
        return _answer(request, state, notice=f"{said} запущен. Ход запуска виден в списке запусков.")
    return _answer(request, state, notice=f"{said} выполнен: {started.get_result_display().lower()}.")


def _answer(
    request: WorkplaceRequest, state: JournalState, *, notice: str = "", error: str = ""
) -> HttpResponse:
    """To htmx: the right-hand panes with the message in them; without JavaScript: back to the page."""
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, notice)
        return redirect(state.url())
    context = _journal_context(request, state) | {"notice": notice, "notice_error": error}
    return _pane_response(request, PANES["right"], context)
