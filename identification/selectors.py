"""Reads of the identification form (B1), scoped by the viewer's workplace."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from registry.access import get_scoped_or_404, scope
from registry.models import Person, Smo, Workplace
from registry.selectors import nsi_names
from tfoms_portal.search import contains_like, starts_like

from .models import IdentificationPackage, IdentificationRecord, RecordStatus

MODES = {"day": "День", "week": "Неделя", "month": "Месяц"}


@dataclass(frozen=True)
class Period:
    mode: str
    date_from: dt.date
    date_to: dt.date

    @classmethod
    def around(cls, mode: str, day: dt.date) -> Period:
        """The day, the week (Monday–Sunday) or the month containing `day`."""
        if mode == "day":
            return cls(mode, day, day)
        if mode == "week":
            start = day - dt.timedelta(days=day.weekday())
            return cls(mode, start, start + dt.timedelta(days=6))
        last = calendar.monthrange(day.year, day.month)[1]
        return cls("month", day.replace(day=1), day.replace(day=last))

    def shifted(self, step: int) -> Period:
        """Назад (-1) / Вперед (+1) by the period's own length."""
        if self.mode == "month":
            month = self.date_from.month - 1 + step
            return Period.around("month", dt.date(self.date_from.year + month // 12, month % 12 + 1, 1))
        length = (self.date_to - self.date_from).days + 1
        delta = dt.timedelta(days=length * step)
        return Period(self.mode, self.date_from + delta, self.date_to + delta)


def period_from_params(mode: str, date_from: dt.date | None, date_to: dt.date | None, step: int) -> Period:
    mode = mode if mode in MODES else "month"
    if date_from and date_to and date_from <= date_to and step == 0:
        return Period(mode, date_from, date_to)
    try:
        period = Period.around(mode, date_from or timezone.localdate())
        return period.shifted(step) if step else period
    except (ValueError, OverflowError):  # past year 1 or 9999: back to the present
        return Period.around(mode, timezone.localdate())


def packages_for(
    *, workplace: Workplace | None, period: Period, show: str
) -> QuerySet[IdentificationPackage]:
    """Packages formed in the period, with their counts; "Показать": answered / unanswered / all."""
    packages = scope(IdentificationPackage.objects.all(), workplace).filter(
        formed_at__date__gte=period.date_from, formed_at__date__lte=period.date_to
    )
    if show == "answered":
        packages = packages.filter(response_loaded_at__isnull=False)
    elif show == "unanswered":
        packages = packages.filter(response_loaded_at__isnull=True)
    return packages.select_related("mo").annotate(
        total=Count("records"),
        identified=Count("records", filter=Q(records__status=RecordStatus.IDENTIFIED)),
        errors=Count(
            "records", filter=Q(records__status__in=[RecordStatus.NOT_IDENTIFIED, RecordStatus.INCOMPLETE])
        ),
    )


def package_get(*, workplace: Workplace | None, package_id: int) -> IdentificationPackage:
    return get_scoped_or_404(IdentificationPackage.objects.select_related("mo"), workplace, pk=package_id)


@dataclass(frozen=True)
class RecordFilter:
    """The contextual search of each column of the records pane."""

    patient: str = ""
    period: dt.date | None = None
    case: str = ""
    status: str = ""
    errors: str = ""
    result: str = ""


def package_records(
    *, package: IdentificationPackage, search: RecordFilter
) -> QuerySet[IdentificationRecord]:
    records = package.records.select_related("person", "treatment_case")
    for part, field in zip(search.patient.split(), ("last_name", "first_name", "middle_name"), strict=False):
        records = records.filter(starts_like(f"person__{field}", part))
    if search.period:
        records = records.filter(period_from__lte=search.period, period_to__gte=search.period)
    if search.case:
        records = records.filter(treatment_case__number__contains=search.case)
    if search.status:
        records = records.filter(status=search.status)
    if search.errors:  # the codes as the column shows them (Р02): error_text holds "Р02=…" for each
        records = records.filter(contains_like("error_text", search.errors))
    if search.result:
        records = records.filter(
            contains_like("error_text", search.result) | Q(response_row__icontains=search.result)
        )
    return records.order_by("row_number", "id")


def person_history(*, person_id: int, workplace: Workplace | None) -> QuerySet[IdentificationRecord]:
    """B7: the person's identification records within the viewer's МО, newest first."""
    return (
        scope(IdentificationRecord.objects.filter(person_id=person_id), workplace)
        .select_related("package", "treatment_case")
        .order_by("-status_date", "-id")
    )


def person_history_section(person: Person, workplace: Workplace | None) -> dict[str, Any]:
    history = list(person_history(person_id=person.pk, workplace=workplace)[:100])
    labels = dict(Person.IdentificationReason.choices)
    for record in history:
        record.source_display = labels.get(record.source, record.source)  # type: ignore[attr-defined]
    return {"history": history}


def with_results(records: list[IdentificationRecord]) -> list[IdentificationRecord]:
    """Each record with `result_text`: the fund's answer in words — the СМО by name, the policy's kind
    (F008), series and number of an old-style one or the ЕНП, its dates as ДД.ММ.ГГГГ (issue 15 item 4)."""
    rows = [r.response_row for r in records if r.response_row and not r.error_text]
    smos = dict(
        Smo.objects.filter(code__in={str(row.get("RQ") or "").strip() for row in rows}).values_list(
            "code", "name_short"
        )
    )
    kinds = nsi_names("F008") if rows else {}
    for record in records:
        record.result_text = record.error_text or (  # type: ignore[attr-defined]
            _result_text(record.response_row, smos, kinds) if record.response_row else ""
        )
    return records


def _result_text(row: dict[str, Any], smos: dict[str, str], kinds: dict[str, str]) -> str:
    def value(key: str) -> str:
        return str(row.get(key) or "").strip()

    smo_code = value("RQ")
    parts = [f"СМО: {smos.get(smo_code, 'неизвестная')} ({smo_code})" if smo_code else ""]
    kind = value("ROPDOC")
    parts.append(f"полис: {kinds.get(kind, kind)}" if kind else "")
    if value("RSPOL") or value("RNPOL"):
        parts.append(f"серия {value('RSPOL') or '—'} № {value('RNPOL') or '—'}")
    parts.append(f"ЕНП {value('RENP')}" if value("RENP") else "")
    begin, end = _day(value("RDBEG")), _day(value("RDEND"))
    if begin or end:
        parts.append(f"действует с {begin or '—'}" + (f" по {end}" if end else ""))
    return "; ".join(part for part in parts if part)


def _day(text: str) -> str:
    """A DBF date as the fund wrote it (ГГГГ-ММ-ДД or ГГГГММДД) as ДД.ММ.ГГГГ; anything else as it is."""
    digits = text.replace("-", "")
    if len(digits) == 8 and digits.isdigit():
        return f"{digits[6:8]}.{digits[4:6]}.{digits[:4]}"
    return text
