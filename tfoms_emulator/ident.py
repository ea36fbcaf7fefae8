"""Batch identification by DBF (SPEC B, formats §1): the fund answers request files from its register."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import struct
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any, TextIO

import dbf
import dbfread

from . import clock

ENCODING = "cp866"
LANGUAGE_BYTE = 0x65  # cp866 "Russian MS-DOS"
# Language byte -> code page of a request; any other byte (0x00 included) is read as cp866.
READ_ENCODINGS = {0x65: "cp866", 0x26: "cp866", 0xC9: "cp1251"}
DBF_VERSIONS = {0x03, 0x04, 0x05, 0x30, 0x31, 0x83, 0x8B, 0xF5}

FieldDef = tuple[str, str, int, int]  # name, type letter, length, decimals

# The request of formats §1.3, in order.
REQUEST_FIELDS: list[FieldDef] = [
    ("FAM", "C", 60, 0),
    ("IM", "C", 60, 0),
    ("OT", "C", 60, 0),
    ("DR", "D", 8, 0),
    ("W", "N", 1, 0),
    ("SS", "C", 14, 0),
    ("C_DOC", "N", 2, 0),
    ("S_DOC", "C", 10, 0),
    ("N_DOC", "C", 30, 0),
    ("OPDOC", "N", 1, 0),
    ("SPOL", "C", 10, 0),
    ("NPOL", "C", 19, 0),
    ("ENP", "C", 16, 0),
    ("DIN", "D", 8, 0),
    ("DOUT", "D", 8, 0),
]
# The echoed document fields are named DOCTP/DOCS/DOCN by real funds (formats §1.4) unless asked otherwise.
DOC_FIELD_NAMES = {
    "doctp": {"C_DOC": "DOCTP", "S_DOC": "DOCS", "N_DOC": "DOCN"},
    "c_doc": {"C_DOC": "C_DOC", "S_DOC": "S_DOC", "N_DOC": "N_DOC"},
}
# The fund's result fields after the echo; RPRZ is an extra field real replies carry (the portal ignores it).
RESULT_FIELDS: list[FieldDef] = [
    ("EERP", "C", 10, 0),
    ("REPL", "C", 254, 0),
    ("RQ", "C", 5, 0),
    ("RQOGRN", "C", 13, 0),
    ("ROKATO", "C", 5, 0),
    ("ROPDOC", "N", 2, 0),
    ("RSPOL", "C", 10, 0),
    ("RNPOL", "C", 20, 0),
    ("RENP", "C", 16, 0),
    ("RDBEG", "D", 8, 0),
    ("RDEND", "D", 8, 0),
    ("RPRZ", "C", 5, 0),
]

NOT_FOUND = ("Р01", "Застрахованное лицо не найдено в РС ЕРЗ")
NO_POLICY = ("Р02", "Нет действующего полиса ОМС на период запроса")

CLAIM_DIR = ".emulator"
# A request file is taken only once unchanged this long, in case its writer did not use a temporary name.
SETTLE_SECONDS = 0.5
DONE_DIR = "done"
REJECTED_DIR = "rejected"

Row = dict[str, Any]


class RegisterError(ValueError):
    """The register file cannot be used; the message says where and why (Russian)."""


class RequestError(ValueError):
    """The request file cannot be answered; the message says why (Russian)."""


@dataclass(frozen=True)
class Policy:
    """One ОМС policy of a person in the register."""

    type: int
    ser: str = ""
    num: str = ""
    enp: str = ""
    smo: str = ""
    smo_ogrn: str = ""
    okato: str = ""
    dbeg: dt.date | None = None
    dend: dt.date | None = None

    def valid_on(self, start: dt.date, end: dt.date) -> bool:
        """True when the policy is in force on at least one day of [start, end]."""
        return (self.dbeg is None or self.dbeg <= end) and (self.dend is None or self.dend >= start)


@dataclass(frozen=True)
class Person:
    """One insured person of the register; `errors` are answered instead of a policy."""

    bdzid: int | None
    fam: str
    im: str = ""
    ot: str = ""
    dr: dt.date | None = None
    w: int | None = None
    snils: str = ""
    doc_type: int | None = None
    doc_ser: str = ""
    doc_num: str = ""
    policies: tuple[Policy, ...] = ()
    errors: tuple[tuple[str, str], ...] = ()


def _name(value: str) -> str:
    return " ".join(value.split()).upper().replace("Ё", "Е")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _doc_key(doc_type: int | None, ser: str, num: str, dr: dt.date | None) -> tuple[Any, ...] | None:
    if doc_type is None or not num.strip() or dr is None:
        return None
    return (doc_type, re.sub(r"\s", "", ser).upper(), re.sub(r"\s", "", num).upper(), dr)


class Register:
    """The fund's register of insured persons with its look-up indexes (the first person of a key wins)."""

    def __init__(self, persons: Iterable[Person] = ()) -> None:
        self.persons = list(persons)
        self._by_enp: dict[str, Person] = {}
        self._by_snils: dict[str, Person] = {}
        self._by_name: dict[tuple[str, str, str, dt.date], Person] = {}
        self._by_doc: dict[tuple[Any, ...], Person] = {}
        for person in self.persons:
            for policy in person.policies:
                if policy.enp:
                    self._by_enp.setdefault(policy.enp, person)
            if _digits(person.snils):
                self._by_snils.setdefault(_digits(person.snils), person)
            if person.dr is not None:
                key = (_name(person.fam), _name(person.im), _name(person.ot), person.dr)
                self._by_name.setdefault(key, person)
            doc = _doc_key(person.doc_type, person.doc_ser, person.doc_num, person.dr)
            if doc is not None:
                self._by_doc.setdefault(doc, person)

    def find(self, row: Mapping[str, Any]) -> Person | None:
        """The person of a request row: by ЕНП, else СНИЛС, else ФИО + birth date, else document + it."""
        enp = str(row.get("ENP") or "").strip()
        if enp and enp in self._by_enp:
            return self._by_enp[enp]
        snils = _digits(str(row.get("SS") or ""))
        if snils and snils in self._by_snils:
            return self._by_snils[snils]
        dr = row.get("DR")
        fam = _name(str(row.get("FAM") or ""))
        if fam and isinstance(dr, dt.date):
            key = (fam, _name(str(row.get("IM") or "")), _name(str(row.get("OT") or "")), dr)
            if key in self._by_name:
                return self._by_name[key]
        doc_type = row.get("C_DOC")
        doc = _doc_key(
            int(doc_type) if isinstance(doc_type, int | float) else None,
            str(row.get("S_DOC") or ""),
            str(row.get("N_DOC") or ""),
            dr if isinstance(dr, dt.date) else None,
        )
        return self._by_doc.get(doc) if doc is not None else None

    def result(self, row: Mapping[str, Any], today: dt.date | None = None) -> Row:
        """The result fields (EERP … RPRZ) the fund answers for one request row."""
        person = self.find(row)
        if person is None:
            return _error_result([NOT_FOUND])
        if person.errors:
            return _error_result(list(person.errors))
        start, end = _period(row, today or clock.today())
        valid = [policy for policy in person.policies if policy.valid_on(start, end)]
        if not valid:
            return _error_result([NO_POLICY])
        policy = max(valid, key=lambda p: p.dbeg or dt.date.min)
        return {
            "EERP": "",
            "REPL": "",
            "RQ": policy.smo,
            "RQOGRN": policy.smo_ogrn,
            "ROKATO": policy.okato,
            "ROPDOC": policy.type,
            "RSPOL": policy.ser,
            "RNPOL": policy.num,
            "RENP": policy.enp,
            "RDBEG": policy.dbeg,
            "RDEND": policy.dend,
            "RPRZ": "0",
        }


def _period(row: Mapping[str, Any], today: dt.date) -> tuple[dt.date, dt.date]:
    din, dout = row.get("DIN"), row.get("DOUT")
    start = din if isinstance(din, dt.date) else dout if isinstance(dout, dt.date) else today
    end = dout if isinstance(dout, dt.date) else start
    return (start, end) if start <= end else (end, start)


def _error_result(errors: list[tuple[str, str]]) -> Row:
    repl = ";".join(f"{code}={text}" for code, text in errors)
    return {name: None for name, *_ in RESULT_FIELDS} | {"EERP": "1", "REPL": repl[:254], "RPRZ": ""}


# --- the register file -----------------------------------------------------------------------------


def _text(item: Mapping[str, Any], key: str, where: str, max_length: int | None = None) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise RegisterError(f"{where}: поле {key} должно быть строкой")
    text = str(value).strip()
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        raise RegisterError(f"{where}: поле {key} содержит символы вне кодировки {ENCODING}") from None
    if max_length is not None and len(text) > max_length:
        raise RegisterError(f"{where}: поле {key} длиннее {max_length} символов")
    return text


def _int(item: Mapping[str, Any], key: str, where: str) -> int | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise RegisterError(f"{where}: поле {key} должно быть целым числом")
    return int(value)


def _date(item: Mapping[str, Any], key: str, where: str) -> dt.date | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RegisterError(f"{where}: поле {key} должно быть датой ГГГГ-ММ-ДД, а не «{value}»") from None


def _policy(item: Any, where: str) -> Policy:
    if not isinstance(item, dict):
        raise RegisterError(f"{where}: полис должен быть объектом")
    policy_type = _int(item, "type", where)
    if policy_type is None:
        raise RegisterError(f"{where}: не указан тип полиса (type)")
    return Policy(
        type=policy_type,
        ser=_text(item, "ser", where, 10),
        num=_text(item, "num", where, 20),
        enp=_text(item, "enp", where, 16),
        smo=_text(item, "smo", where, 5),
        smo_ogrn=_text(item, "smo_ogrn", where, 13),
        okato=_text(item, "okato", where, 5),
        dbeg=_date(item, "dbeg", where),
        dend=_date(item, "dend", where),
    )


def _person(item: Any, where: str) -> Person:
    if not isinstance(item, dict):
        raise RegisterError(f"{where}: запись должна быть объектом")
    policies = item.get("policies") or []
    errors = item.get("errors") or []
    if not isinstance(policies, list) or not isinstance(errors, list):
        raise RegisterError(f"{where}: policies и errors должны быть списками")
    pairs: list[tuple[str, str]] = []
    for error in errors:
        if not (isinstance(error, list | tuple) and len(error) == 2):
            raise RegisterError(f"{where}: ошибка должна быть парой [код, текст]")
        pair = {"code": error[0], "text": error[1]}
        pairs.append((_text(pair, "code", where), _text(pair, "text", where)))
    return Person(
        bdzid=_int(item, "bdzid", where),
        fam=_text(item, "fam", where),
        im=_text(item, "im", where),
        ot=_text(item, "ot", where),
        dr=_date(item, "dr", where),
        w=_int(item, "w", where),
        snils=_text(item, "snils", where),
        doc_type=_int(item, "doc_type", where),
        doc_ser=_text(item, "doc_ser", where),
        doc_num=_text(item, "doc_num", where),
        policies=tuple(_policy(p, f"{where}, полис № {n}") for n, p in enumerate(policies, start=1)),
        errors=tuple(pairs),
    )


def parse_register(data: Any) -> Register:
    """A register from the decoded JSON `{"persons": [...]}`."""
    persons = data.get("persons") if isinstance(data, dict) else None
    if not isinstance(persons, list):
        raise RegisterError("Регистр: ожидается объект с полем persons (список)")
    return Register(_person(item, f"Регистр, запись № {n}") for n, item in enumerate(persons, start=1))


def register_json(path: Path | str) -> Any:
    """The register file's JSON (UTF-8), not checked yet; RegisterError when it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RegisterError(f"Регистр {path} не прочитан: {exc.strerror or exc}") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise RegisterError(f"Регистр {path} не является корректным JSON: {exc}") from None


def load_register(path: Path | str) -> Register:
    """Read the register JSON file (UTF-8)."""
    return parse_register(register_json(path))


# --- request and response files --------------------------------------------------------------------


@dataclass
class Counts:
    """What one answer contains: rows answered, identified, not identified (errors), not found (Р01)."""

    rows: int = 0
    identified: int = 0
    not_identified: int = 0
    not_found: int = 0
    omitted: int = 0
    extra: int = 0

    def describe(self) -> str:
        line = (
            f"записей {self.rows}: идентифицировано {self.identified}, "
            f"не идентифицировано {self.not_identified}, не найдено {self.not_found}"
        )
        if self.omitted:
            line += f", пропущено {self.omitted}"
        if self.extra:
            line += f", лишних строк {self.extra}"
        return line


def _check_header(data: bytes) -> None:
    if len(data) < 33:
        raise RequestError("Файл не является корректным DBF: файл слишком короткий")
    if data[0] not in DBF_VERSIONS:
        raise RequestError(f"Файл не является корректным DBF: неизвестная версия формата 0x{data[0]:02X}")
    count, header_length, record_length = struct.unpack("<IHH", data[4:12])
    if header_length < 33 or record_length < 1 or header_length + count * record_length > len(data):
        raise RequestError("Файл не является корректным DBF: заголовок не соответствует размеру файла")


def read_request(data: bytes) -> list[Row]:
    """The live records of a request DBF as dbfread gives them (deleted records left out)."""
    _check_header(data)
    encoding = READ_ENCODINGS.get(data[29], ENCODING)
    with tempfile.TemporaryDirectory(prefix="tfoms-ident-") as directory:
        path = Path(directory) / "request.dbf"
        path.write_bytes(data)
        try:
            table = dbfread.DBF(str(path), encoding=encoding, ignorecase=False, recfactory=dict)
            types = {f.name.upper(): f.type for f in table.fields}
            if table.header.recordlen != 1 + sum(f.length for f in table.fields):
                raise RequestError("Файл не является корректным DBF: длина записи не равна сумме длин полей")
            missing = [name for name, *_ in REQUEST_FIELDS if name not in types]
            if missing:
                raise RequestError(f"В файле запроса нет полей: {', '.join(missing)}")
            for name, kind, *_ in REQUEST_FIELDS:
                if types[name] != kind:
                    raise RequestError(f"Поле {name} должно иметь тип {kind}, а не {types[name]}")
            records = list(table)
        except RequestError:
            raise
        except Exception as exc:  # the file is untrusted: any failure of the parser is a refusal
            raise RequestError(f"Файл не является корректным DBF: {exc}") from None
    return [{str(key).upper(): value for key, value in record.items()} for record in records]


def _response_fields(doc_field_names: str) -> tuple[list[FieldDef], dict[str, str]]:
    if doc_field_names not in DOC_FIELD_NAMES:
        raise ValueError(f"doc_field_names: ожидается одно из {', '.join(DOC_FIELD_NAMES)}")
    renamed = DOC_FIELD_NAMES[doc_field_names]
    echo = [(renamed.get(name, name), kind, length, dec) for name, kind, length, dec in REQUEST_FIELDS]
    return echo + RESULT_FIELDS, renamed


def _echo_value(value: Any, fdef: FieldDef, where: str) -> Any:
    """A request value as it goes into the response field, or RequestError when it does not fit there."""
    name, kind, length, _ = fdef
    if value is None or kind == "D":
        return value
    if kind == "N":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or len(str(value)) > length:
            raise RequestError(f"{where}: значение {name} «{value}» не помещается в поле N({length},0)")
        return value
    try:
        encoded = str(value).encode(ENCODING)
    except UnicodeEncodeError:
        raise RequestError(f"{where}: значение {name} содержит символы вне кодировки {ENCODING}") from None
    if len(encoded) > length:
        raise RequestError(f"{where}: значение {name} длиннее {length} символов")
    return value


def _extra_row(row: Mapping[str, Any], fields: list[FieldDef], renamed: dict[str, str]) -> Row:
    kinds = {name: kind for name, kind, *_ in fields}
    original = {new: old for old, new in DOC_FIELD_NAMES["doctp"].items()}  # DOCTP -> C_DOC …
    result: Row = {}
    for key, value in row.items():
        upper = key.upper()
        name = renamed.get(original.get(upper, upper), upper)
        if name not in kinds:
            raise ValueError(f"extra_rows: неизвестное поле {key}")
        if kinds[name] == "D" and isinstance(value, str):
            value = dt.date.fromisoformat(value) if value else None
        result[name] = value
    return result


def _write_dbf(fields: list[FieldDef], rows: list[Row]) -> bytes:
    specs = "; ".join(
        f"{n} D" if k == "D" else f"{n} C({ln})" if k == "C" else f"{n} N({ln},{d})" for n, k, ln, d in fields
    )
    with tempfile.TemporaryDirectory(prefix="tfoms-ident-") as directory:
        path = Path(directory) / "response.dbf"
        table = dbf.Table(str(path), specs, dbf_type="db3", codepage=LANGUAGE_BYTE)
        table.open(dbf.READ_WRITE)
        try:
            for row in rows:
                table.append(tuple(row.get(name) for name, *_ in fields))
        finally:
            table.close()
        content = bytearray(path.read_bytes())
    content[29] = LANGUAGE_BYTE
    # `dbf` strips leading and trailing whitespace of character values; put every value back exactly
    # (padded with spaces) so the echo reads back as the request did.
    header_length, record_length = struct.unpack("<HH", content[8:12])
    for index, row in enumerate(rows):
        offset = header_length + index * record_length + 1
        for name, kind, length, _ in fields:
            value = row.get(name)
            if kind == "C" and value:
                content[offset : offset + length] = str(value).encode(ENCODING).ljust(length, b" ")
            offset += length
    return bytes(content)


def build_response(
    request_bytes: bytes,
    register: Register,
    *,
    doc_field_names: str = "doctp",
    omit_rows: set[int] | None = None,
    extra_rows: list[dict[str, Any]] | None = None,
    today: dt.date | None = None,
) -> tuple[bytes, Counts]:
    """The response DBF for a request and what it contains; see answer_request()."""
    fields, renamed = _response_fields(doc_field_names)
    records = read_request(request_bytes)
    counts = Counts()
    rows: list[Row] = []
    for index, record in enumerate(records):
        if omit_rows and index in omit_rows:
            counts.omitted += 1
            continue
        where = f"Запись № {index + 1}"
        echo: Row = {}
        for name, kind, length, decimals in REQUEST_FIELDS:
            target = renamed.get(name, name)
            echo[target] = _echo_value(record.get(name), (target, kind, length, decimals), where)
        result = register.result(record, today)
        rows.append(echo | result)
        counts.rows += 1
        if not result["EERP"]:
            counts.identified += 1
        elif result["REPL"] == "=".join(NOT_FOUND):
            counts.not_found += 1
        else:
            counts.not_identified += 1
    for extra in extra_rows or []:
        rows.append(_extra_row(extra, fields, renamed))
        counts.rows += 1
        counts.extra += 1
    return _write_dbf(fields, rows), counts


def answer_request(
    request_bytes: bytes,
    register: Register,
    *,
    doc_field_names: str = "doctp",
    omit_rows: set[int] | None = None,
    extra_rows: list[dict[str, Any]] | None = None,
    today: dt.date | None = None,
) -> bytes:
    """The fund's response DBF to a request DBF (RequestError when the request cannot be read).

    `doc_field_names`: "doctp" echoes the document as DOCTP/DOCS/DOCN, "c_doc" keeps C_DOC/S_DOC/N_DOC.
    `omit_rows`: 0-based numbers of the request's live records left out of the answer.
    `extra_rows`: rows matching no request appended at the end (keys are response field names, any case;
    C_DOC/S_DOC/N_DOC and DOCTP/DOCS/DOCN both accepted; dates as dates or ISO strings).
    `today`: the date of a request row without DIN/DOUT (default: the real today).
    """
    content, _ = build_response(
        request_bytes,
        register,
        doc_field_names=doc_field_names,
        omit_rows=omit_rows,
        extra_rows=extra_rows,
        today=today,
    )
    return content


def write_atomically(path: Path, data: bytes) -> None:
    """Write via a hidden temporary name in the same folder, then rename: readers never see half a file."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def answer_file(
    request_path: Path | str, out_dir: Path | str, register: Register, *, doc_field_names: str = "doctp"
) -> Path:
    """Answer a request file into `out_dir` under the request's own name; returns the response's path."""
    request = Path(request_path)
    target = Path(out_dir) / request.name
    content = answer_request(request.read_bytes(), register, doc_field_names=doc_field_names)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, content)
    return target


# --- the watched folder ----------------------------------------------------------------------------


@dataclass
class FileResult:
    """What the watcher did with one request file: answered (with counts) or rejected (with the reason)."""

    name: str
    counts: Counts | None = None
    reason: str = ""
    response: Path | None = None

    def describe(self) -> str:
        if self.counts is not None:
            return f"{self.name} → ответ: {self.counts.describe()}"
        return f"{self.name} → отклонён: {self.reason}"


def _say(out: TextIO | None, line: str) -> None:
    print(line, file=out or sys.stdout, flush=True)


def _requests(in_dir: Path, settle: float) -> list[Path]:
    """The request files of `in_dir`: `*.DBF` in any case, not hidden, unchanged for `settle` seconds."""
    try:
        entries = sorted(in_dir.iterdir())
    except FileNotFoundError:
        return []
    found = []
    for path in entries:
        if path.suffix.lower() != ".dbf" or path.name.startswith("."):
            continue
        try:
            stat = path.stat()
        except OSError:
            continue
        if S_ISREG(stat.st_mode) and time.time() - stat.st_mtime >= settle:
            found.append(path)
    return found


def watch_once(
    in_dir: Path | str,
    out_dir: Path | str,
    register: Register,
    *,
    doc_field_names: str = "doctp",
    settle: float = SETTLE_SECONDS,
    out: TextIO | None = None,
) -> list[FileResult]:
    """One pass over `in_dir`: claim, answer into `out_dir` and file away every request found there.

    A file changed less than `settle` seconds ago is left for a later pass (its writer may not be done).
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    claim_dir = in_dir / CLAIM_DIR
    for folder in (claim_dir / DONE_DIR, claim_dir / REJECTED_DIR, out_dir):
        folder.mkdir(parents=True, exist_ok=True)
    results: list[FileResult] = []
    for request in _requests(in_dir, settle):
        # A unique claimed name: a later request of the same name never overwrites one being answered.
        claimed = claim_dir / f"{uuid.uuid4().hex}.{request.name}"
        try:
            os.rename(request, claimed)
        except OSError:
            continue  # another watcher took it (or it vanished)
        result = FileResult(request.name)
        try:
            content, result.counts = build_response(
                claimed.read_bytes(), register, doc_field_names=doc_field_names
            )
            result.response = out_dir / request.name
            write_atomically(result.response, content)
            os.replace(claimed, claim_dir / DONE_DIR / request.name)
        except Exception as exc:  # one bad file must not stop the watcher
            result.counts, result.response = None, None
            result.reason = str(exc) if isinstance(exc, RequestError) else f"Ошибка эмулятора: {exc!r}"
            rejected = claim_dir / REJECTED_DIR / request.name
            os.replace(claimed, rejected)
            rejected.with_name(rejected.name + ".txt").write_text(result.reason + "\n", encoding="utf-8")
        _say(out, result.describe())
        results.append(result)
    return results


@dataclass
class RegisterFile:
    """The register file, reloaded when its modification time or size changes; a bad version is reported
    and the last good one kept."""

    path: Path
    out: TextIO | None = None
    register: Register | None = None
    _stamp: tuple[int, int] | None = field(default=None, repr=False)

    def current(self) -> Register | None:
        try:
            stat = self.path.stat()
        except OSError:
            stamp = None
        else:
            stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return self.register
        self._stamp = stamp
        if stamp is None:
            _say(self.out, f"регистр {self.path} не найден; запросы ждут его появления")
            return self.register
        try:
            self.register = load_register(self.path)
        except RegisterError as exc:
            _say(self.out, f"регистр не загружен: {exc}")
        else:
            _say(self.out, f"регистр загружен: {len(self.register.persons)} застрахованных")
        return self.register


def watch(
    in_dir: Path | str,
    out_dir: Path | str,
    register_path: Path | str,
    *,
    interval: float = 1.0,
    should_stop: Callable[[], bool] = lambda: False,
    doc_field_names: str = "doctp",
    settle: float = SETTLE_SECONDS,
    out: TextIO | None = None,
) -> None:
    """Answer every request DBF appearing in `in_dir` (the portal's exchange out-folder) into `out_dir`
    (its in-folder) every `interval` seconds until should_stop(); nothing is answered while no register
    is loaded."""
    registry_file = RegisterFile(Path(register_path), out)
    while not should_stop():
        register = registry_file.current()
        if register is not None:
            watch_once(in_dir, out_dir, register, doc_field_names=doc_field_names, settle=settle, out=out)
        deadline = time.monotonic() + interval
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(min(0.1, interval))


def watch_forever(in_dir: Path | str, out_dir: Path | str, register_path: Path | str) -> None:
    """watch() that never stops (the demo runs it in a daemon thread by dotted path)."""
    watch(in_dir, out_dir, register_path)
