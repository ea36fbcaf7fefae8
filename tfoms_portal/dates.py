"""Dates as people type them: ГГГГ-ММ-ДД (date inputs, the API) or ДД.ММ.ГГГГ (by hand)."""

from __future__ import annotations

import datetime as dt
import re

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
