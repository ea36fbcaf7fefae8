"""The attachment file export (D1): period and МО checks, the rules per person, the streamed file and
the error report."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.http import content_disposition_header

from audit.models import AuditAction
from audit.services import audit_record
from registry.checkdigits import snils_is_valid
from registry.models import Mo, Workplace
from tfoms_portal import dates
from tfoms_portal.formats.csv import ENCODING, CsvRow, iter_csv, row_problems

from .formats.attachment_file import (
    OLD_FORM,
    POLICY_FORMS,
    TEMPORARY_FORM,
    UNIFIED_FORMS,
    AttachmentLine,
    action_code,
    field_name,
    file_name,
    policy_id,
    series_number,
)
from .selectors import AttachedPerson, AttachmentRow, DocumentRow, PolicyRow, attached_persons

DEFAULT_MAX_DAYS = 366
PAGE_PROBLEMS = 500  # the page shows this many; the downloadable report has them all


class ExportRefused(ValueError):
    """The export cannot be made as asked; the message is Russian and shown to the user."""


def max_days() -> int:
    return int(getattr(settings, "ATTACHMENT_EXPORT_MAX_DAYS", DEFAULT_MAX_DAYS))


@dataclass(frozen=True)
class ExportPeriod:
    """The reporting period; its end is the "Отчётная дата" of the file."""

    date_from: dt.date
    date_to: dt.date

    @property
    def report_date(self) -> dt.date:
        return self.date_to


def default_period(today: dt.date) -> ExportPeriod:
    """From the first day of the current month to today."""
    return ExportPeriod(today.replace(day=1), today)


def parse_day(value: str | None, label: str) -> dt.date | None:
    """`YYYY-MM-DD` (the date input, the API) or `DD.MM.YYYY` (typed by hand); empty → None."""
    try:
        return dates.parse_day(value)
    except ValueError:
        value = (value or "").strip()
    raise ExportRefused(
        f"Неверная дата «{value[:20]}» в поле «{label}»: ожидается ГГГГ-ММ-ДД или ДД.ММ.ГГГГ."
    )


def export_period(date_from: dt.date | None, date_to: dt.date | None, *, today: dt.date) -> ExportPeriod:
    """A checked period: both ends given, in order, not beyond today, not longer than the limit."""
    if date_to is None:
        raise ExportRefused("Укажите окончание отчётного периода (отчётную дату).")
    if date_from is None:
        raise ExportRefused("Укажите начало отчётного периода.")
    if date_from > date_to:
        raise ExportRefused(
            f"Начало периода ({date_from:%d.%m.%Y}) позже его окончания ({date_to:%d.%m.%Y}): "
            "укажите период в правильном порядке."
        )
    days = (date_to - date_from).days + 1
    if days > max_days():
        raise ExportRefused(f"Период слишком длинный: {days} дн., допускается не более {max_days()} дн.")
    if date_to > today:
        raise ExportRefused(
            f"Отчётная дата {date_to:%d.%m.%Y} ещё не наступила: "
            "окончание периода — не позже сегодняшнего дня."
        )
    return ExportPeriod(date_from, date_to)


def export_mo(*, workplace: Workplace, code: str | None) -> Mo:
    """The МО of the file: any МО for the ЦОД admin, only the own МО otherwise (another one is a 404,
    as if it did not exist)."""
    code = (code or "").strip()
    if not code:
        return workplace.mo
    if workplace.sees_all_mo:
        return get_object_or_404(Mo, code=code)
    if code != workplace.mo.code:
        raise Http404("МО не найдена")
    return workplace.mo


def export_file_name(mo: Mo, period: ExportPeriod) -> str:
    return file_name(mo.code, period.report_date)


def report_file_name(mo: Mo, period: ExportPeriod) -> str:
    return f"{file_name(mo.code, period.report_date)[:-4]}_ошибки.csv"


# --- the rules per person -----------------------------------------------------------------------


@dataclass(frozen=True)
class ExportProblem:
    """A line of the error report: whom it is about and why; `in_file` says the person is in the file
    all the same (a second attachment left out, a detachment date that has not come yet)."""

    person_id: int
    full_name: str
    birth_date: dt.date
    site_number: str
    reason: str
    in_file: bool


def choose_attachment(
    attachments: list[AttachmentRow], report_date: dt.date
) -> tuple[AttachmentRow, list[AttachmentRow]]:
    """The attachment of the line and the other open ones (left out, reported). Open = not detached
    by the report date; the latest open one wins; with none open, the last detached in the period."""
    open_ = [a for a in attachments if a.date_to is None or a.date_to > report_date]  # latest first
    if open_:
        return open_[0], open_[1:]
    closed = max(attachments, key=lambda a: (a.date_to or report_date, a.date_from, a.attachment_id))
    return closed, []


def choose_policy(policies: list[PolicyRow], day: dt.date) -> PolicyRow | None:
    """The policy valid on the report date, else the latest one."""
    valid = [p for p in policies if p.valid_from <= day and (p.valid_to is None or day <= p.valid_to)]
    pool = valid or policies
    return max(pool, key=lambda p: (p.valid_from, p.policy_id)) if pool else None


def latest_document(documents: list[DocumentRow]) -> DocumentRow | None:
    if not documents:
        return None
    return max(documents, key=lambda d: (d.issued_at is not None, d.issued_at or dt.date.min, d.document_id))


def _policy_reason(policy: PolicyRow | None) -> str:
    if policy is None:
        return "нет полиса ОМС"
    if policy.form not in POLICY_FORMS:
        return f"неизвестная форма полиса «{policy.form}» (ожидается П, Э, В, С или К)"
    if policy.form in UNIFIED_FORMS and not policy.enp.strip():
        return "у полиса единого образца нет ЕНП"
    if policy.form == OLD_FORM and not policy.number.strip():
        return "у полиса старого образца нет номера"
    if policy.form == TEMPORARY_FORM and not policy.number.strip():
        return "у временного свидетельства нет номера"
    return ""


def _district_reason(chosen: AttachmentRow) -> str:
    if chosen.site_id is None:
        return "нет участка основного прикрепления"
    if chosen.doctor_id is None:
        return f"у участка № {chosen.site_number} не указан врач (нет СНИЛС врача)"
    if not (chosen.doctor_snils or "").strip():
        return f"у врача участка № {chosen.site_number} нет СНИЛС"
    if not _snils_valid(chosen.doctor_snils or ""):
        return f"СНИЛС врача участка № {chosen.site_number} некорректен: «{chosen.doctor_snils}»"
    return ""


@lru_cache(maxsize=4096)
def _snils_valid(value: str) -> bool:
    """A district's doctor recurs on thousands of lines: check each СНИЛС once."""
    return snils_is_valid(value)


def person_line(
    person: AttachedPerson, *, mo: Mo, period: ExportPeriod, today: dt.date, tz: dt.tzinfo
) -> tuple[list[str | None] | None, list[ExportProblem]]:
    """The file line of a person (None when it cannot be valid) and what the error report says."""
    chosen, others = choose_attachment(person.attachments, period.report_date)
    policy = choose_policy(person.policies, period.report_date)
    refusals = [reason for reason in (_district_reason(chosen), _policy_reason(policy)) if reason]
    notes = [_second_open(other, chosen) for other in others]
    cells: list[str | None] | None = None
    if refusals or policy is None:
        refusals = [f"{reason} — не выгружен" for reason in refusals]
    else:
        if chosen.date_to is not None and chosen.date_to > today:
            notes.append(
                f"дата открепления {chosen.date_to:%d.%m.%Y} ещё не наступила — выгружен как прикреплённый "
                "на отчётную дату, без даты открепления"
            )
        document = latest_document(person.documents)
        line = AttachmentLine(
            action=action_code(
                created_on=chosen.created_at.astimezone(tz).date(),
                period_start=period.date_from,
                moved_here=chosen.moved_here,
            ),
            policy_form=policy.form,
            policy_id=policy_id(policy.form, policy.series, policy.number),
            enp=policy.enp,
            last_name=chosen.last_name,
            first_name=chosen.first_name,
            middle_name=chosen.middle_name,
            birth_date=chosen.birth_date,
            birth_place=chosen.birth_place,
            doc_type=document.doc_type if document else None,
            doc_number=series_number(document.series, document.number) if document else "",
            doc_date=document.issued_at if document else None,
            doc_issuer=document.issuer if document else "",
            snils=chosen.snils,
            mo_code=mo.code,
            method=chosen.method,
            attach_type=chosen.attach_type,
            detached_on=chosen.date_to if chosen.date_to and chosen.date_to <= period.report_date else None,
            mo_oid=mo.oid,
            subdivision_code=_building_code(chosen.subdivision_code),
            site_number=chosen.site_number or "",
            doctor_snils=chosen.doctor_snils or "",
            staff_category=chosen.doctor_post_type,
        )
        cells = line.cells()
    in_file = cells is not None
    problems = [_problem(chosen, reason, in_file) for reason in refusals + notes]
    return cells, problems


def _second_open(other: AttachmentRow, chosen: AttachmentRow) -> str:
    site = other.site_number or "—"
    return (
        f"второе открытое прикрепление к МО (с {other.date_from:%d.%m.%Y}, участок № {site}) не выгружено: "
        f"в файле прикрепление с {chosen.date_from:%d.%m.%Y}"
    )


def _building_code(code: str | None) -> str:
    """The building code as the DISTRICT package sends it (LPUBUILDING_CODETFOMS: leading zeros off),
    so the fund sees one code for one building in both exchanges."""
    if not code:
        return ""
    return str(int(code)) if code.isdigit() else code


def _problem(row: AttachmentRow, reason: str, in_file: bool) -> ExportProblem:
    full_name = " ".join(part for part in (row.last_name, row.first_name, row.middle_name) if part)
    return ExportProblem(row.person_id, full_name, row.birth_date, row.site_number or "", reason, in_file)


def encoding_problems(row: AttachmentRow, cells: CsvRow) -> list[ExportProblem]:
    """Characters windows-1251 cannot carry: the line would be refused by the writer."""
    return [
        _problem(
            row,
            f"символ «{p.char}» (U+{ord(p.char):04X}) в поле «{field_name(p.column)}» не представим "
            "в windows-1251 — не выгружен",
            in_file=False,
        )
        for p in row_problems(cells)
    ]


def _encodable(cells: CsvRow) -> bool:
    try:
        "".join(value for value in cells if value).encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def export_lines(
    *, workplace: Workplace | None, mo: Mo, period: ExportPeriod
) -> Iterator[tuple[AttachedPerson, list[str | None] | None, list[ExportProblem]]]:
    """Every person of the file with their line (or None) and their report entries, in person order."""
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    for person in attached_persons(
        workplace=workplace, mo=mo, date_from=period.date_from, date_to=period.date_to
    ):
        cells, problems = person_line(person, mo=mo, period=period, today=today, tz=tz)
        yield person, cells, problems


def export_outcomes(
    *, workplace: Workplace | None, mo: Mo, period: ExportPeriod
) -> Iterator[tuple[bool, list[ExportProblem]]]:
    """Per person: is the line in the file, and the report entries (encoding problems included)."""
    for person, cells, problems in export_lines(workplace=workplace, mo=mo, period=period):
        if cells is not None and not _encodable(cells):
            chosen, _ = choose_attachment(person.attachments, period.report_date)
            problems = [
                ExportProblem(p.person_id, p.full_name, p.birth_date, p.site_number, p.reason, False)
                for p in problems
            ] + encoding_problems(chosen, cells)
            cells = None
        yield cells is not None, problems


def export_problems(
    *, workplace: Workplace | None, mo: Mo, period: ExportPeriod, stats: ExportCheck | None = None
) -> Generator[ExportProblem]:
    """The full error report, streamed; `stats` counts as it goes."""
    for in_file, problems in export_outcomes(workplace=workplace, mo=mo, period=period):
        if stats is not None:
            stats.count(in_file=in_file, problems=len(problems))
        yield from problems


# --- the page's check, the file and the report ------------------------------------------------


@dataclass
class ExportCheck:
    """What the file will hold and what is reported: counts, and the first report lines for the page."""

    rows: int = 0
    not_exported: int = 0
    problems_total: int = 0
    problems: list[ExportProblem] = field(default_factory=list)

    @property
    def persons(self) -> int:
        return self.rows + self.not_exported

    def count(self, *, in_file: bool, problems: int) -> None:
        if in_file:
            self.rows += 1
        else:
            self.not_exported += 1
        self.problems_total += problems


def export_check_steps(
    *,
    workplace: Workplace | None,
    mo: Mo,
    period: ExportPeriod,
    check: ExportCheck,
    every: int = 5000,
    shown: int = PAGE_PROBLEMS,
) -> Iterator[int]:
    """The check of the page — one pass without writing the file — filling `check` and telling every
    `every` persons how many are checked, so the page can show its progress while it runs."""
    with transaction.atomic():  # lazy server-side cursor on PostgreSQL, one snapshot of the data
        for in_file, problems in export_outcomes(workplace=workplace, mo=mo, period=period):
            check.count(in_file=in_file, problems=len(problems))
            check.problems.extend(problems[: max(0, shown - len(check.problems))])
            if check.persons % every == 0:
                yield check.persons


def export_check(
    *, workplace: Workplace | None, mo: Mo, period: ExportPeriod, shown: int = PAGE_PROBLEMS
) -> ExportCheck:
    """The row count and the error report for the page, at once."""
    check = ExportCheck()
    for _ in export_check_steps(workplace=workplace, mo=mo, period=period, check=check, shown=shown):
        pass
    return check


@dataclass
class FileStats:
    """Rows written and persons left out (for the audit trail), filled while the file streams."""

    rows: int = 0
    not_exported: int = 0


def attachment_file_chunks(
    *, workplace: Workplace | None, mo: Mo, period: ExportPeriod, stats: FileStats | None = None
) -> Iterator[bytes]:
    """The file as windows-1251 chunks, one database pass in one transaction (a server-side cursor on
    PostgreSQL reads lazily inside a transaction); memory stays flat whatever the number of rows."""
    counts = stats if stats is not None else FileStats()

    def lines() -> Generator[list[str | None]]:
        for _, cells, _problems in export_lines(workplace=workplace, mo=mo, period=period):
            if cells is None:
                counts.not_exported += 1
                continue
            counts.rows += 1
            yield cells

    def bad_row(_number: int, _row: CsvRow, _problems: object) -> None:
        counts.rows -= 1  # counted above, then refused by the writer: it is in the error report
        counts.not_exported += 1

    with transaction.atomic():
        rows = lines()
        try:
            yield from iter_csv(rows, omit_trailing_absent=True, on_bad_row=bad_row)
        finally:
            rows.close()  # the cursor is closed inside the transaction, also when the client goes away


REPORT_HEADER = ("№", "ИД человека", "ФИО", "Дата рождения", "Участок", "Причина", "Человек в файле")


def report_chunks(problems: Iterator[ExportProblem], *, rows_per_chunk: int = 500) -> Iterator[bytes]:
    """The error report as UTF-8 CSV with a BOM and `;` (what a Russian Excel opens; UTF-8 because the
    report names the very characters windows-1251 cannot carry)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(REPORT_HEADER)
    for number, p in enumerate(problems, start=1):
        writer.writerow(
            [
                number,
                p.person_id,
                p.full_name,
                f"{p.birth_date:%d.%m.%Y}",
                p.site_number,
                p.reason,
                "да" if p.in_file else "нет",
            ]
        )
        if number % rows_per_chunk == 0:
            yield _take(buffer)
    yield _take(buffer)


def _take(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


# --- responses (pages and API alike) -------------------------------------------------------------


def _streamed(
    chunks: Iterator[bytes], *, name: str, content_type: str, on_close: Callable[[bool], None]
) -> StreamingHttpResponse:
    def body() -> Iterator[bytes]:
        completed = False
        try:
            yield from chunks
            completed = True
        finally:  # also when the client goes away: the generator is closed by the server
            on_close(completed)

    response = StreamingHttpResponse(body(), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # a proxy passes the chunks on as they come
    return response


def _details(mo: Mo, period: ExportPeriod, name: str, via: str) -> dict[str, object]:
    return {
        "file": name,
        "mo": mo.code,
        "date_from": period.date_from.isoformat(),
        "date_to": period.date_to.isoformat(),
        "via": via,
    }


def attachment_file_response(
    *, request: HttpRequest, workplace: Workplace, mo: Mo, period: ExportPeriod, via: str
) -> StreamingHttpResponse:
    """The file, streamed; the audit trail gets who, МО, period and the rows written once it ends."""
    name = export_file_name(mo, period)
    stats = FileStats()

    def audit(completed: bool) -> None:
        audit_record(
            action=AuditAction.EXPORT,
            request=request,
            obj=mo,
            outcome="успешно" if completed else f"прервано после {stats.rows} строк",
            details=_details(mo, period, name, via)
            | {"rows": stats.rows, "not_exported": stats.not_exported},
        )

    chunks = attachment_file_chunks(workplace=workplace, mo=mo, period=period, stats=stats)
    return _streamed(chunks, name=name, content_type="text/csv; charset=windows-1251", on_close=audit)


def report_response(
    *, request: HttpRequest, workplace: Workplace, mo: Mo, period: ExportPeriod
) -> StreamingHttpResponse:
    """The full error report, streamed, recorded in the audit trail as a download."""
    name = report_file_name(mo, period)
    check = ExportCheck()

    def audit(completed: bool) -> None:
        audit_record(
            action=AuditAction.DOWNLOAD,
            request=request,
            obj=mo,
            outcome="успешно" if completed else "прервано",
            details=_details(mo, period, name, "page") | {"problems": check.problems_total},
        )

    def chunks() -> Iterator[bytes]:
        with transaction.atomic():
            problems = export_problems(workplace=workplace, mo=mo, period=period, stats=check)
            try:
                yield from report_chunks(problems)
            finally:
                problems.close()

    return _streamed(chunks(), name=name, content_type="text/csv; charset=utf-8", on_close=audit)
