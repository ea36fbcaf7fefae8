"""Dates as people type them: ГГГГ-ММ-ДД (date inputs, the API) or ДД.ММ.ГГГГ (by hand)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_RUSSIAN = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_day(value: str | None) -> dt.date | None:
    """The date typed, None when nothing was; ValueError for anything else (never a silent guess)."""
    value = (value or "").strip()
    if not value:
        return None
    if match := _ISO.fullmatch(value):
        year, month, day = match.groups()
    elif match := _RUSSIAN.fullmatch(value):
        day, month, year = match.groups()
    else:
        raise ValueError(value)
    return dt.date(int(year), int(month), int(day))  # ValueError for 31.02.2026


@dataclass(frozen=True)
class TypedPeriod:
    """A period as typed into a form: the dates, what was typed (shown back as it was), and the
    Russian message when it cannot be used — never a silent correction (issue 15 item 6)."""

    date_from: dt.date | None
    date_to: dt.date | None
    typed_from: str
    typed_to: str
    error: str = ""

    @property
    def input_from(self) -> str:
        """For `<input type="date">`: the date when it is one, else what was typed."""
        return self.date_from.isoformat() if self.date_from else self.typed_from

    @property
    def input_to(self) -> str:
        return self.date_to.isoformat() if self.date_to else self.typed_to


def typed_period(typed_from: str | None, typed_to: str | None) -> TypedPeriod:
    raw_from, raw_to = (typed_from or "").strip()[:40], (typed_to or "").strip()[:40]
    problems, days = [], []
    for raw, label in ((raw_from, "с"), (raw_to, "по")):
        try:
            days.append(parse_day(raw))
        except ValueError:
            days.append(None)
            problems.append(f"Неверная дата «{raw}» в поле «{label}»: ожидается ДД.ММ.ГГГГ.")
    start, end = days
    if start and end and start > end:
        problems.append(
            f"Начало периода ({start:%d.%m.%Y}) позже его окончания ({end:%d.%m.%Y}): "
            "укажите период в правильном порядке."
        )
    return TypedPeriod(start, end, raw_from, raw_to, " ".join(problems))
