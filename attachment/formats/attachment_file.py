"""The attachment file `MO2<MCOD><YYYYMMDD>.csv` (manual §4.5.1, formats §4.1): name, 23 fields, values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from registry.checkdigits import digits_only, snils_format

# Manual §4.5.1.4, in file order. External names live only here.
FIELDS: tuple[str, ...] = (
    "Действие",
    "Тип ДПФС",
    "ИД_полиса",
    "ЕНП",
    "Фамилия",
    "Имя",
    "Отчество",
    "Дата_рождения",
    "Место_рождения",
    "Тип_УДЛ",
    "Ном_УДЛ",
    "Дата_УДЛ",
    "Орган_УДЛ",
    "СНИЛС",
    "ИД_МО",
    "Способ_прикрепления",
    "Тип_прикрепления",
    "Дата_открепления",
    "ОИД_ЛПУ",
    "Код_подразделения",
    "Код_участка",
    "СНИЛС_врача",
    "Категория_медработника",
)

ACTION_REGISTER = "Р"  # a new person, or re-attached from another МО within the period
ACTION_CORRECT = "И"  # everything else
NEW_PERSON_DAYS = 7  # "добавлен в Систему за последние 7 дней до начала отчетного периода"

# Policy form letters (the FFOMS "Код типа полиса ОМС"): unified policies carry the ЕНП, the old-style
# policy "series № number", the temporary certificate its number.
UNIFIED_FORMS = frozenset({"П", "Э", "К"})
OLD_FORM = "С"
TEMPORARY_FORM = "В"
POLICY_FORMS = UNIFIED_FORMS | {OLD_FORM, TEMPORARY_FORM}
STAFF_CATEGORIES = frozenset({1, 2})  # 1 врач, 2 медработник среднего звена


def file_name(mo_code: str, report_date: dt.date) -> str:
    """`MO2` (Latin letters, source 2 = МО) + the six-digit МО code + the report date."""
    return f"MO2{mo_code}{report_date:%Y%m%d}.csv"


def yyyymmdd(day: dt.date | None) -> str | None:
    return day.isoformat().replace("-", "") if day is not None else None  # strftime is slower


def series_number(series: str, number: str) -> str:
    """ "series № number" (space, №, space), or the bare number when there is no series."""
    series, number = series.strip(), number.strip()
    if series and number:
        return f"{series} № {number}"
    return series or number


def snils_dashed(value: str) -> str | None:
    """11 digits → `XXX-XXX-XXX XX` (registry.checkdigits.snils_format); None when not 11 digits."""
    return snils_format(value) if len(digits_only(value)) == 11 else None


def policy_id(form: str, series: str, number: str) -> str:
    """ИД_полиса: "series № number" of an old-style policy, the number of a temporary certificate,
    nothing for a unified policy (its ЕНП goes to the ЕНП field)."""
    if form == OLD_FORM:
        return series_number(series, number)
    if form == TEMPORARY_FORM:
        return number.strip()
    return ""


def new_person_window(period_start: dt.date) -> tuple[dt.date, dt.date]:
    """Days [first, last] in which a person added to the system counts as new for the period."""
    return period_start - dt.timedelta(days=NEW_PERSON_DAYS), period_start - dt.timedelta(days=1)


def action_code(*, created_on: dt.date, period_start: dt.date, moved_here: bool) -> str:
    """Р when the person was added in the 7 days before the period start (`created_on` is the local
    date of the record's creation) or came from another МО whose attachment ended in the period."""
    first, last = new_person_window(period_start)
    if moved_here or first <= created_on <= last:
        return ACTION_REGISTER
    return ACTION_CORRECT


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a few µs more on each of a million lines
class AttachmentLine:
    """One line of the file as plain values; `cells()` turns it into the 23 field values."""

    action: str
    policy_form: str
    policy_id: str
    enp: str
    last_name: str
    first_name: str
    middle_name: str
    birth_date: dt.date
    birth_place: str
    doc_type: int | None
    doc_number: str
    doc_date: dt.date | None
    doc_issuer: str
    snils: str
    mo_code: str
    method: int
    attach_type: int | None
    detached_on: dt.date | None
    mo_oid: str
    subdivision_code: str
    site_number: str
    doctor_snils: str
    staff_category: int | None

    def cells(self) -> list[str | None]:
        """Field values in file order; None is an absent value (written as nothing)."""
        return [
            self.action,
            self.policy_form,
            _present(self.policy_id),
            _present(self.enp),
            _present(self.last_name),
            _present(self.first_name),
            _present(self.middle_name),
            yyyymmdd(self.birth_date),
            _present(self.birth_place),
            str(self.doc_type) if self.doc_type is not None else None,
            _present(self.doc_number),
            yyyymmdd(self.doc_date),
            _present(self.doc_issuer),
            snils_dashed(self.snils) or _present(self.snils),  # formatted like the doctor's
            self.mo_code,
            str(self.method),
            str(self.attach_type) if self.attach_type is not None else None,
            yyyymmdd(self.detached_on),
            _present(self.mo_oid),
            _present(self.subdivision_code),
            self.site_number,
            snils_dashed(self.doctor_snils),
            str(self.staff_category) if self.staff_category in STAFF_CATEGORIES else None,
        ]


def _present(value: str) -> str | None:
    value = value.strip()
    return value or None


def field_name(column: int) -> str:
    """The field name of a 1-based column (for error messages)."""
    return FIELDS[column - 1] if 1 <= column <= len(FIELDS) else f"поле {column}"
