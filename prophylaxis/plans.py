"""Prophylaxis plans (C3, D2, D3): DISPPLAN over RabbitMQ, the order-88 export, the fund's error reply.

The DISPPLAN family is on demand: its packages are formed when a user presses "Отправить" on a
plan (manual §4.4.5.2.1), one message per person, under "Обмен планами профилактических осмотров".
A person's status follows its package: Отправлена в ТФОМС when the broker confirmed it, then Принята
ТФОМС or Ошибка with the fund's code and text. The file path (PROF / OSHIB_PR) moves the same statuses.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from lxml import etree

from registry.models import Attachment, Mo, Smo, latest_document, policy_on
from registry.selectors import PersonRows, person_rows
from servicelog.forming import PersonKeys, latest_packages
from servicelog.models import LogEntry, Package, PackageStatus, RunResult, RunTrigger, ServiceRun
from servicelog.runs import RunRefused, run_finish, run_open, run_scope_key
from servicelog.statuses import log_write
from servicelog.sync import GOING, Family, FamilyType, SyncContext, SyncObject, family_sync
from tfoms_portal.formats.xml import parse_xml, serialize
from tfoms_portal.formats.zip import write_zip, zip_entry_writer

from . import plan_formats as pf
from .models import PlanExport, PlanExportRecord, PlanPerson, ProphylaxisPlan

DISPPLAN = "DISPPLAN"
SERVICE = "dispplan_exchange"
S = PackageStatus
CHUNK = 2000  # plan persons per read of the export


class PlanRefused(Exception):
    """A plan action that cannot be done, in words for the user."""


def _entries(
    plan_id: int, mo: Mo, statuses: tuple[str, ...]
) -> tuple[list[PlanPerson], PersonRows, dict[int, Attachment]]:
    """A plan's persons in these statuses, each with its plan, МО and СМО set from one read of each,
    their policies and documents (registry.selectors.person_rows) and their open attachment to the
    plan's МО (the newest, with its district, doctor and department)."""
    plan = ProphylaxisPlan.objects.select_related("mo").get(pk=plan_id, mo=mo)
    smos = Smo.objects.in_bulk()
    chosen = PlanPerson.objects.filter(plan=plan, status__in=statuses)
    entries = list(chosen.select_related("person").order_by("pk"))
    for entry in entries:
        PlanPerson.plan.field.set_cached_value(entry, plan)
        PlanPerson.smo.field.set_cached_value(entry, smos.get(entry.smo_id))  # type: ignore[arg-type]
    attachments: dict[int, Attachment] = {}
    open_ones = (
        Attachment.objects.filter(person_id__in=chosen.values("person_id"), mo=mo, date_to__isnull=True)
        .select_related("site__doctor", "site__department__subdivision")
        .order_by("date_from", "pk")
    )
    for attachment in open_ones:
        attachments[attachment.person_id] = attachment  # the newest wins
    return entries, person_rows(chosen.values("person_id")), attachments


def _plan_persons(ctx: SyncContext) -> Iterator[SyncObject]:
    """The persons of the plan being sent that the fund has not taken: new ones and those it refused."""
    if ctx.subset is None:
        return
    entries, related, attachments = _entries(
        ctx.subset, ctx.mo, (PlanPerson.Status.NEW, PlanPerson.Status.ERROR)
    )
    for entry in entries:
        person = entry.person
        policy = policy_on(related.policies[person.pk], ctx.today)
        payload = pf.dispplan_payload(
            entry,
            policy=policy,
            document=latest_document(related.documents[person.pk]),
            attachment=attachments.get(person.pk),
        )
        keys = PersonKeys.of(person, policy)
        yield SyncObject(str(entry.pk), payload, keys)


PLANS = Family(
    code="dispplan",
    service=SERVICE,
    types=(FamilyType(DISPPLAN, _plan_persons, insert_only=True),),
    on_demand=True,
)


def dispplan_sent(packages: list[Package]) -> None:
    """The broker confirmed these messages: their persons are "Отправлена в ТФОМС". Only packages
    this pass marked Отправлен come here; one the fund answered before the confirm was recorded
    keeps what the answer made of its person (the relay re-reads the packages under lock)."""
    PlanPerson.objects.filter(
        pk__in=[int(p.object_id) for p in packages],
        status__in=(PlanPerson.Status.NEW, PlanPerson.Status.ERROR),
    ).update(status=PlanPerson.Status.SENT, error_code="", error_text="", updated_at=timezone.now())


def dispplan_reply(package: Package, reply: dict[str, Any]) -> None:
    """The fund's ANSWER to one person: Принята ТФОМС, or Ошибка with RESULT_CODE and RESULT_NAME."""
    errors = reply.get("ERRORS") or []
    if reply.get("RESULT") == "OK":
        values = {"status": PlanPerson.Status.ACCEPTED, "error_code": "", "error_text": ""}
    else:
        values = {
            "status": PlanPerson.Status.ERROR,
            "error_code": ", ".join(str(e.get("RESULT_CODE", "")) for e in errors)[:20],
            "error_text": "; ".join(f"{e.get('RESULT_CODE', '')}: {e.get('RESULT_NAME', '')}" for e in errors)
            or "ТФОМС вернул ошибку без описания",
        }
    PlanPerson.objects.filter(pk=int(package.object_id)).update(**values, updated_at=timezone.now())


# --- "Отправить" (C3) ------------------------------------------------------------------------------


@dataclass
class SendResult:
    run: ServiceRun
    formed: int = 0
    form_errors: int = 0
    unchanged: int = 0
    archive: PlanExport | None = None


def _on_its_way(plan: ProphylaxisPlan) -> int:
    """Persons whose newest DISPPLAN is still going to the fund: Сформирован, Отправлен (no answer
    yet) or Ошибка отправки with retries left — not one set "Не отправлять" or left to a person."""
    ids = [str(pk) for pk in plan.persons.values_list("pk", flat=True)]
    going = 0
    for package in latest_packages(DISPPLAN, ids).values():
        if package.status not in GOING or package.do_not_send:
            continue
        if package.status == S.SEND_ERROR and package.next_attempt_at is None:
            continue  # automatic retries are over: the admin decides in the journal
        going += 1
    return going


def _send_open(plan: ProphylaxisPlan, user: Any) -> tuple[ServiceRun, int]:
    """The checks of "Отправить" and the plan's run, opened at once so a refusal is said at once."""
    waiting = _on_its_way(plan)
    if waiting:
        raise PlanRefused(
            f"Предыдущий пакет плана ещё не обработан ТФОМС: сообщений в пути — {waiting}. Дождитесь "
            f"ответа (журнал «Обмен планами профилактических осмотров») и отправьте снова."
        )
    candidates = PlanPerson.objects.filter(
        plan=plan, status__in=(PlanPerson.Status.NEW, PlanPerson.Status.ERROR)
    ).count()
    if not candidates:
        raise PlanRefused("В плане нет записей для отправки: все уже отправлены или приняты ТФОМС.")
    try:
        opened = run_open(
            SERVICE,
            mo=plan.mo,
            trigger=RunTrigger.MANUAL,
            user=user if getattr(user, "pk", None) else None,
            scope=send_scope(plan),
            scope_title=f"плана «{plan}»",
        )
    except RunRefused as exc:  # the manual-start timeout, a send already running, a disabled service
        raise PlanRefused(str(exc)) from exc
    return opened, candidates


def send_scope(plan: ProphylaxisPlan) -> str:
    """The plan's own single flight and manual timeout, below its МО's."""
    return f"plan{plan.pk}"


def plan_in_progress(plan: ProphylaxisPlan) -> bool:
    """A send of the plan is being formed, or its persons wait for the fund's answer: the page keeps
    its persons pane up to date while this holds."""
    forming = ServiceRun.objects.filter(
        service__code=SERVICE, scope_key=run_scope_key(plan.mo, send_scope(plan)), result=RunResult.RUNNING
    ).exists()
    return forming or plan.persons.filter(status=PlanPerson.Status.SENT).exists()


def plan_send(*, plan: ProphylaxisPlan, user: Any) -> SendResult:
    """The plan's DISPPLAN package: a message per person not yet taken by the fund, the S_DPM archive of
    what was formed, and the persons that cannot be formed marked Ошибка with the reason. Here and
    now (the API); the page starts it in the background (`plan_send_start`)."""
    opened, candidates = _send_open(plan, user)
    return plan_send_carry_out(plan=plan, opened=opened, candidates=candidates, user=user)


def plan_send_start(*, plan: ProphylaxisPlan, user: Any) -> ServiceRun:
    """ "Отправить" on the page: the checks and the run now, the forming in the background; the
    persons pane follows the run by itself (issue 15 item 1)."""
    from tfoms_portal.background import enqueue

    from .tasks import send_plan

    opened, candidates = _send_open(plan, user)
    try:
        enqueue(send_plan, plan.pk, opened.pk, candidates, getattr(user, "pk", None))
    except Exception as exc:
        run_finish(opened, error=f"Отправка не поставлена в очередь задач: {type(exc).__name__}: {exc}")
    opened.refresh_from_db()
    return opened


def plan_send_carry_out(
    *, plan: ProphylaxisPlan, opened: ServiceRun, candidates: int, user: Any
) -> SendResult:
    try:
        with transaction.atomic():
            result = _send(plan, opened, candidates, user)
    except Exception as exc:  # recorded on the run, which is closed; nothing half-applied
        run_finish(opened, error=f"Запуск прерван ошибкой: {type(exc).__name__}: {exc}")
        raise
    run_finish(opened)
    return result


def send_summary(plan: ProphylaxisPlan, result: SendResult) -> str:
    text = f"Отправка плана «{plan}»: сформировано сообщений {result.formed}"
    if result.form_errors:
        text += f", не сформировано (Ошибка, причина у записи) {result.form_errors}"
    if result.unchanged:
        text += f", не отправлено повторно без изменений {result.unchanged}"
    return f"{text}."


def _send(plan: ProphylaxisPlan, opened: ServiceRun, candidates: int, user: Any) -> SendResult:
    mo = plan.mo
    result = SendResult(opened)
    family_sync(run=opened, mo=mo, family=PLANS, subset=plan.pk)
    packages = list(Package.objects.filter(run=opened, package_type=DISPPLAN).order_by("sequence"))
    failed = [p for p in packages if p.status == S.FORM_ERROR]
    for package in failed:
        PlanPerson.objects.filter(pk=int(package.object_id)).update(
            status=PlanPerson.Status.ERROR, error_code="", error_text=package.result
        )
    result.form_errors = len(failed)
    result.formed = len(packages) - len(failed)
    result.unchanged = candidates - len(packages)
    if result.unchanged:
        log_write(
            run=opened,
            mo=mo,
            level=LogEntry.Level.WARNING,
            message=f"Записей с ошибкой ТФОМС, не отправленных повторно (данные не изменились после "
            f"ответа): {result.unchanged}. Исправьте данные пациентов и отправьте снова.",
        )
    sent = [p for p in packages if p.status == S.FORMED]
    if sent:
        result.archive = _dpm_archive(plan, sent, user)
        log_write(
            run=opened,
            mo=mo,
            message=f"Пакет плана «{plan}»: сообщений {len(sent)}, архив {result.archive.file_name}.zip.",
        )
    log_write(run=opened, mo=mo, message=send_summary(plan, result))
    return result


def _lock_mo(mo: Mo) -> None:
    """Numbers of an МО's files (the package number, N of S_DPM) are taken one at a time."""
    list(Mo.objects.select_for_update().filter(pk=mo.pk).values_list("pk", flat=True))


def _next_number(mo: Mo, kind: str, year: int, month: int) -> int:
    _lock_mo(mo)
    taken = PlanExport.objects.filter(mo=mo, kind=kind, year=year, month=month).aggregate(n=Max("number"))
    return int(taken["n"] or 0) + 1


def _dpm_archive(plan: ProphylaxisPlan, packages: list[Package], user: Any) -> PlanExport:
    """S_DPM<MCOD>T<RR><YY><MM><N>.xml in a ZIP of the same name; N counts the МО's sends in the month."""
    today = timezone.localdate()
    number = _next_number(plan.mo, PlanExport.Kind.DISPPLAN, today.year, today.month)
    name = pf.dpm_file_name(plan.mo.code, settings.REGION_CODE, today.year, today.month, number)
    trees = [parse_xml(p.body.encode("utf-8")) for p in packages]
    document = serialize(pf.dpm_document(name, trees, today), "utf-8")
    export = PlanExport.objects.create(
        mo=plan.mo,
        kind=PlanExport.Kind.DISPPLAN,
        file_name=name,
        year=today.year,
        month=today.month,
        number=number,
        records=len(packages),
        content=write_zip({f"{name}.xml": document}),
        created_by=user if getattr(user, "pk", None) else None,
    )
    export.plans.add(plan)
    return export


# --- the order-88 export (D2) ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRequest:
    plans: list[ProphylaxisPlan]
    smos: list[Smo]
    month: int
    year: int
    quarter: int | None
    number: int


@dataclass
class ExportResult:
    exports: list[PlanExport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(e.records for e in self.exports)


def exports_bundle(exports: list[PlanExport]) -> tuple[str, bytes]:
    """(file name, bytes) to give out: one export's ZIP, or a ZIP of the ZIPs of one export per СМО
    named after the export without СМО (`PROF_M<MCOD>T<RR>_<YY><MM><N>_SMO.zip`)."""
    if len(exports) == 1:
        return f"{exports[0].file_name}.zip", bytes(exports[0].content)
    first = exports[0]
    base = pf.prof_file_name(first.mo.code, settings.REGION_CODE, "", first.year, first.month, first.number)
    return f"{base}_SMO.zip", write_zip({f"{e.file_name}.zip": bytes(e.content) for e in exports})


def export_number_taken(mo: Mo, year: int, month: int, number: int) -> bool:
    return PlanExport.objects.filter(
        mo=mo, kind=PlanExport.Kind.PROF, year=year, month=month, number=number
    ).exists()


@transaction.atomic
def plans_export(*, mo: Mo, request: ExportRequest, user: Any, today: dt.date | None = None) -> ExportResult:
    """PROF files of order 88: one per chosen СМО (records already Отправлена в ТФОМС of that СМО) or
    one without (records Новая); exported records become Отправлена в ТФОМС."""
    _lock_mo(mo)  # the number check below and the insert are one step for this МО
    if export_number_taken(mo, request.year, request.month, request.number):
        raise PlanRefused(
            f"Пакет № {request.number} за {request.month:02d}.{request.year} уже выгружен этой МО: "
            f"укажите другой порядковый номер."
        )
    result = ExportResult()
    today = today or timezone.localdate()
    groups: list[Smo | None] = list(request.smos) or [None]
    plan_ids = [p.pk for p in request.plans]
    for smo in groups:
        entries = PlanPerson.objects.filter(plan_id__in=plan_ids, plan__mo=mo)
        if smo is None:
            entries = entries.filter(status=PlanPerson.Status.NEW)
        else:
            entries = entries.filter(status=PlanPerson.Status.SENT, smo=smo)
        ids = list(entries.order_by("pk").values_list("pk", flat=True))
        if not ids:
            continue
        name = pf.prof_file_name(
            mo.code,
            settings.REGION_CODE,
            smo.code if smo else "",
            request.year,
            request.month,
            request.number,
        )
        header = pf.ProfHeader(name, mo.code, request.year, request.quarter, today)
        content = _prof_zip(header, ids, today, result.warnings)
        export = PlanExport.objects.create(
            mo=mo,
            kind=PlanExport.Kind.PROF,
            file_name=name,
            year=request.year,
            month=request.month,
            quarter=request.quarter,
            number=request.number,
            smo=smo,
            records=len(ids),
            content=content,
            created_by=user if getattr(user, "pk", None) else None,
        )
        export.plans.set(request.plans)
        PlanExportRecord.objects.bulk_create(
            (PlanExportRecord(export=export, entry_id=pk) for pk in ids), batch_size=CHUNK
        )
        for start in range(0, len(ids), CHUNK):
            PlanPerson.objects.filter(pk__in=ids[start : start + CHUNK]).update(
                status=PlanPerson.Status.SENT, updated_at=timezone.now()
            )
        result.exports.append(export)
    if not result.exports:
        raise PlanRefused("Нет записей для экспорта.")
    return result


def _prof_zip(header: pf.ProfHeader, ids: list[int], today: dt.date, warnings: list[str]) -> bytes:
    """The PROF file in its ZIP, written record by record (lxml's incremental writer into a
    deflated entry): memory stays flat whatever the plan's size; read CHUNK persons at a time."""
    buffer = io.BytesIO()
    with zip_entry_writer(buffer, f"{header.file_name}.XML") as entry:
        entry.write(pf.PROF_DECLARATION)
        with etree.xmlfile(entry, encoding="windows-1251") as xf, xf.element("ZL_LIST"):
            xf.write(pf.prof_zglv(header))
            for start in range(0, len(ids), CHUNK):
                chunk = PlanPerson.objects.filter(pk__in=ids[start : start + CHUNK])
                rows = list(chunk.select_related("person", "plan", "smo").order_by("pk"))
                related = person_rows(chunk.values("person_id"))
                for entry_row in rows:
                    person = entry_row.person
                    record = pf.prof_record(
                        entry_row,
                        policy=policy_on(related.policies[person.pk], today),
                        document=latest_document(related.documents[person.pk]),
                    )
                    bad = pf.not_cp1251(record)
                    if bad:
                        warnings.append(
                            f"{person.full_name}: символы вне windows-1251 в полях {', '.join(bad)} — "
                            f"переданы как ссылки &#N;, проверьте данные пациента."
                        )
                    xf.write(record)
    return buffer.getvalue()


# --- the fund's error reply (D3) ---------------------------------------------------------------------


def export_request_defaults(plans: list[ProphylaxisPlan], today: dt.date) -> dict[str, Any]:
    """Тип and Период плана of the export form (manual §4.5.2.1.3): the type when all plans are of one;
    one plan → its period; several of one period → empty; different periods → the current year."""
    kinds = {p.kind for p in plans}
    periods = {(p.year, p.period_type, p.period_number) for p in plans}
    if len(plans) == 1:
        period = plans[0].period_title
    elif len(periods) == 1:
        period = ""
    else:
        period = f"{today.year} год"
    kind = plans[0].get_kind_display() if len(kinds) == 1 else ""
    return {"kind": kind, "period": period, "month": today.month, "year": today.year}
