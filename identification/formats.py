"""Identification DBF layouts (formats §1.3–§1.5): the request we write, the response we read.

External field names (FAM, DR, C_DOC, RQ …) live only here; services see `RequestRow`/`ResponseRow`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tfoms_portal.formats.dbf import DbfRejected, read_dbf, write_dbf

# The 15 request fields of §1.3, in order, with their types and lengths.
REQUEST_FIELDS = [
    "FAM C(60)",
    "IM C(60)",
    "OT C(60)",
    "DR D",
    "W N(1,0)",
    "SS C(14)",
    "C_DOC N(2,0)",
    "S_DOC C(10)",
    "N_DOC C(30)",
    "OPDOC N(1,0)",
    "SPOL C(10)",
    "NPOL C(19)",
    "ENP C(16)",
    "DIN D",
    "DOUT D",
]
REQUEST_NAMES = [spec.split()[0] for spec in REQUEST_FIELDS]
# The response may echo the document fields under either name set (formats §1.4, §11.1).
DOC_ALIASES = {"C_DOC": "DOCTP", "S_DOC": "DOCS", "N_DOC": "DOCN"}
RESULT_NAMES = ["EERP", "REPL", "RQ", "RQOGRN", "ROPDOC", "RSPOL", "RNPOL", "RENP", "RDBEG", "RDEND"]
FILE_NAME = re.compile(r"^(\d{6})_(\d{8})_(\d+)$")


class ResponseRejected(ValueError):
    """The response file as a whole cannot be loaded; the message is for the person who loaded it."""


def request_name(mcod: str, day: dt.date, number: int) -> str:
    return f"{mcod}_{day:%d%m%Y}_{number}"


def name_mcod(stem: str) -> str | None:
    """The МО registry number in a file name `<MCOD>_<DDMMYYYY>_<N>`, or None if it is not such a name."""
    match = FILE_NAME.match(stem)
    return match.group(1) if match else None


def request_dbf(rows: Iterable[dict[str, Any]]) -> bytes:
    """The request file: cp866, language byte 0x65, fields of §1.3 (rows keyed by those names)."""
    return write_dbf(
        REQUEST_FIELDS, [{name: _dbf_value(row.get(name)) for name in REQUEST_NAMES} for row in rows]
    )


def _dbf_value(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return dt.date.fromisoformat(value)
    return value


def request_key(values: dict[str, Any]) -> tuple[str, ...]:
    """The 15 echoed fields normalised for comparison: text stripped and upper-cased, dates ISO, numbers
    as integers; the matching key between a request record and a response row (B4)."""
    return tuple(_normal(values.get(name)) for name in REQUEST_NAMES)


def _normal(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | int):
        return str(int(value))
    return str(value).strip().upper().replace("Ё", "Е")


@dataclass(frozen=True)
class ResponseRow:
    number: int  # record number in the file, from 1
    key: tuple[str, ...]
    raw: dict[str, Any]  # every field as read (JSON-friendly), unknown ones included
    eerp: str
    repl: str
    smo_code: str
    smo_ogrn: str
    policy_type: int | None
    policy_series: str
    policy_number: str
    enp: str
    valid_from: dt.date | None
    valid_to: dt.date | None

    @property
    def not_identified(self) -> bool:
        """EERP filled means not identified; "0" counts as empty (formats §11.4)."""
        return self.eerp not in ("", "0")


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _date(values: dict[str, Any], name: str) -> dt.date | None:
    value = values.get(name)
    return value if isinstance(value, dt.date) else None


def _text(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


def response_rows(data: bytes, *, max_rows: int | None = None) -> list[ResponseRow]:
    """Every row of a response DBF, validated first: a broken file or any bad value refuses the whole
    file (nothing is applied from a file we cannot read completely). `max_rows` bounds the file by its
    request: the header's count is checked before a single row is read."""
    try:
        table = read_dbf(data)
    except DbfRejected as exc:
        raise ResponseRejected(str(exc)) from exc
    if max_rows is not None and table.record_count > max_rows:
        raise ResponseRejected(
            f"в файле {table.record_count} записей, а ответ на этот пакет может содержать не более "
            f"{max_rows} (по записям запроса); файл не соответствует запросу."
        )
    names = set(table.field_names)
    aliases = {alias: name for name, alias in DOC_ALIASES.items() if name not in names and alias in names}
    missing = [n for n in REQUEST_NAMES if n not in names and n not in aliases.values()] + [
        n for n in ("EERP", "REPL") if n not in names
    ]
    if missing:
        raise ResponseRejected(f"В файле ответа нет полей: {', '.join(missing)}.")
    rows: list[ResponseRow] = []
    problems: list[str] = []
    for record in table.records():
        if record.errors:
            problems.extend(f"запись {record.number}: {error}" for error in record.errors)
            continue
        values = {aliases.get(name, name): value for name, value in record.values.items()}
        policy_type = values.get("ROPDOC")
        rows.append(
            ResponseRow(
                number=record.number,
                key=request_key(values),
                raw={name: _json(value) for name, value in record.values.items()},
                eerp=_text(values, "EERP"),
                repl=_text(values, "REPL"),
                smo_code=_text(values, "RQ"),
                smo_ogrn=_text(values, "RQOGRN"),
                policy_type=int(policy_type) if isinstance(policy_type, int | Decimal) else None,
                policy_series=_text(values, "RSPOL"),
                policy_number=_text(values, "RNPOL"),
                enp=_text(values, "RENP"),
                valid_from=_date(values, "RDBEG"),
                valid_to=_date(values, "RDEND"),
            )
        )
    if problems:
        shown = "; ".join(problems[:10]) + (f" … и ещё {len(problems) - 10}" if len(problems) > 10 else "")
        raise ResponseRejected(f"Файл ответа содержит некорректные значения: {shown}.")
    return rows


def repl_errors(repl: str) -> list[tuple[str, str]]:
    """REPL `code=text;code=text`; an item without `=` has code -1 (formats §1.5)."""
    errors = []
    for item in repl.split(";"):
        item = item.strip()
        if not item:
            continue
        code, sep, text = item.partition("=")
        errors.append((code.strip(), text.strip()) if sep else ("-1", item))
    return errors
