"""DBF: header validated before dbfread parses any value (C/D/N/L/F only); dBase III writing with `dbf`."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import SimpleNamespace

import dbf as dbf_lib
from dbfread import FieldParser
from dbfread.dbf import DBFField, DBFHeader

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_FIELDS = 255
DEFAULT_ENCODING = "cp866"

# Header byte 29 (language driver) -> code page (reference/formats.md §1.6); 0x00 and others -> default.
LANGUAGE_ENCODINGS = {0x65: "cp866", 0x26: "cp866", 0xC9: "cp1251"}
WRITE_LANGUAGE_BYTES = {"cp866": 0x65, "cp1251": 0xC9}
# dBase III/IV/V and FoxPro versions whose header layout we understand (memo flag variants included).
SUPPORTED_VERSIONS = {0x03, 0x04, 0x05, 0x30, 0x31, 0x83, 0x8B, 0xF5}
FIELD_TYPES = "CDNLF"

_HEADER_SIZE = 32
_DESCRIPTOR_SIZE = 32
_TERMINATOR = 0x0D
_EOF = 0x1A
_MAX_NUMERIC_LENGTH = 20
_INTEGER = re.compile(rb"[+-]?\d+")
_DECIMAL = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)")
_DATE = re.compile(rb"\d{8}")
_SPEC = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_]{0,9})\s+([A-Za-z])\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*", re.ASCII
)

DbfValue = str | int | Decimal | dt.date | bool | None


class DbfRejected(ValueError):
    """The file is refused as a whole; the message is Russian and safe to show to a user."""


@dataclass(frozen=True)
class DbfProblem:
    """One value that cannot be written (row is 1-based, in the order given)."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"строка {self.row}, поле {self.field}: {self.message}"


class DbfWriteError(ValueError):
    """Some rows cannot be written; `problems` lists them so the caller can report those rows."""

    def __init__(self, problems: list[DbfProblem]) -> None:
        self.problems = problems
        shown = "; ".join(str(problem) for problem in problems[:10])
        more = f" (и ещё {len(problems) - 10})" if len(problems) > 10 else ""
        super().__init__(f"Не удалось сформировать DBF: {shown}{more}.")


@dataclass(frozen=True)
class DbfField:
    """A field descriptor: name, type letter (C/D/N/L/F), length and decimal count."""

    name: str
    type: str
    length: int
    decimals: int = 0

    @property
    def spec(self) -> str:
        """The descriptor in `NAME T(len,dec)` form, as accepted by `write_dbf`."""
        if self.type in "DL":
            return f"{self.name} {self.type}"
        if self.type == "C":
            return f"{self.name} C({self.length})"
        return f"{self.name} {self.type}({self.length},{self.decimals})"


@dataclass(frozen=True)
class DbfRecord:
    """One live record: its 1-based physical number, values by field name, and per-value errors."""

    number: int
    values: dict[str, DbfValue]
    errors: list[str] = field(default_factory=list)


class _BadValue(Exception):
    """A single value is invalid; the message (Russian) goes into DbfRecord.errors."""


class _StrictParser(FieldParser):
    """dbfread's parser with strict dates and Decimal numbers; every failure raises _BadValue."""

    def parse(self, field: DbfField, data: bytes) -> DbfValue:
        try:
            value: DbfValue = super().parse(field, data)
        except UnicodeDecodeError as exc:
            raise _BadValue(f"значение не декодируется в кодировке {self.encoding}") from exc
        except ValueError as exc:  # dbfread's own refusal (an illegal logical value)
            raise _BadValue(f"некорректное значение «{_show(data, self.encoding)}»") from exc
        return value

    def parseD(self, field: DbfField, data: bytes) -> dt.date | None:
        if not data.strip(b" 0\x00"):
            return None
        if _DATE.fullmatch(data):
            try:
                return dt.date(int(data[:4]), int(data[4:6]), int(data[6:8]))
            except ValueError:
                pass
        raise _BadValue(f"некорректная дата «{_show(data, self.encoding)}»")

    def parseN(self, field: DbfField, data: bytes) -> int | Decimal | None:
        text = data.strip(b" \x00")
        if not text:
            return None
        if _INTEGER.fullmatch(text):
            return int(text)
        normalized = text.replace(b",", b".")
        if _DECIMAL.fullmatch(normalized):
            try:
                return Decimal(normalized.decode("ascii"))
            except InvalidOperation:
                pass
        raise _BadValue(f"некорректное число «{_show(data, self.encoding)}»")

    parseF = parseN


def _show(data: bytes, encoding: str) -> str:
    return data.decode(encoding, errors="replace").strip(" \x00")[:80]


def _rejected(reason: str) -> DbfRejected:
    return DbfRejected(f"Файл не является корректным DBF: {reason}.")


@dataclass(frozen=True)
class DbfTable:
    """A validated DBF held in memory; iterate `records()` for the values."""

    fields: list[DbfField]
    encoding: str
    language_byte: int
    version: int
    record_count: int  # as in the header, deleted records included
    deleted_count: int
    header_length: int
    record_length: int
    data: bytes = field(repr=False)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def records(self) -> Iterator[DbfRecord]:
        """Yield live (not deleted) records; an invalid value becomes None plus a message in `errors`."""
        shim = SimpleNamespace(
            header=SimpleNamespace(dbversion=self.version),
            encoding=self.encoding,
            char_decode_errors="strict",
        )
        parser = _StrictParser(shim)
        for index in range(self.record_count):
            start = self.header_length + index * self.record_length
            if self.data[start] == ord("*"):
                continue
            number = index + 1
            values: dict[str, DbfValue] = {}
            errors: list[str] = []
            position = start + 1
            for f in self.fields:
                raw = self.data[position : position + f.length]
                position += f.length
                try:
                    values[f.name] = parser.parse(f, raw)
                except _BadValue as exc:
                    values[f.name] = None
                    errors.append(f"запись № {number}, поле {f.name}: {exc}")
            yield DbfRecord(number=number, values=values, errors=errors)


def _read_field(raw: bytes, number: int, encoding: str) -> DbfField:
    descriptor = DBFField.unpack(raw)
    try:
        name = descriptor.name.split(b"\0")[0].decode(encoding).strip()
    except UnicodeDecodeError:
        name = ""
    if not name or not name.isprintable():
        raise _rejected(f"поле № {number} имеет некорректное имя")
    type_byte = descriptor.type[0]
    type_letter = chr(type_byte)
    if type_letter not in FIELD_TYPES:
        shown = type_letter if 32 < type_byte < 127 else f"0x{type_byte:02X}"
        raise DbfRejected(
            f"Файл DBF не принимается: поле {name} имеет тип «{shown}», допустимы только C, D, N, L, F."
        )
    length, decimals = descriptor.length, descriptor.decimal_count
    if type_letter == "C":
        # FoxPro keeps the high byte of long character fields in the decimal count (as dbfread does).
        length, decimals = length | decimals << 8, 0
    if length < 1:
        raise _rejected(f"поле {name} имеет нулевую длину")
    if type_letter == "D" and length != 8:
        raise _rejected(f"поле даты {name} имеет длину {length} вместо 8")
    if type_letter == "L" and length != 1:
        raise _rejected(f"логическое поле {name} имеет длину {length} вместо 1")
    if type_letter in "NF" and (length > _MAX_NUMERIC_LENGTH or decimals >= length):
        raise _rejected(f"числовое поле {name} имеет недопустимый размер ({length},{decimals})")
    if type_letter in "DL":
        decimals = 0
    return DbfField(name=name, type=type_letter, length=length, decimals=decimals)


def read_dbf(
    data: bytes,
    *,
    default_encoding: str = DEFAULT_ENCODING,
    encoding: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_fields: int = DEFAULT_MAX_FIELDS,
) -> DbfTable:
    """Validate the header and structure, then return the table (values are parsed lazily by `records()`).

    The code page is `encoding` when given, else the language byte's (0x65/0x26 cp866, 0xC9 cp1251),
    else `default_encoding`.
    """
    size = len(data)
    if size > max_bytes:
        raise DbfRejected(f"Файл DBF слишком велик: {size} байт, допустимо не более {max_bytes}.")
    if size < _HEADER_SIZE + 1:
        raise _rejected("файл слишком короткий")
    header = DBFHeader.unpack(data[:_HEADER_SIZE])
    if header.dbversion not in SUPPORTED_VERSIONS:
        raise _rejected(f"неизвестная версия формата (байт 0 = 0x{header.dbversion:02X})")
    language_byte = header.language_driver
    chosen = encoding or LANGUAGE_ENCODINGS.get(language_byte, default_encoding)
    header_length, record_length, record_count = header.headerlen, header.recordlen, header.numrecords
    if header_length < _HEADER_SIZE + 1 or header_length > size:
        raise _rejected(f"длина заголовка {header_length} не соответствует размеру файла {size}")

    no_terminator = _rejected("в пределах заголовка не найден признак конца описания полей (0x0D)")
    fields: list[DbfField] = []
    offset = _HEADER_SIZE
    while True:
        if offset >= header_length:
            raise no_terminator
        if data[offset] == _TERMINATOR:
            break
        if len(fields) >= max_fields:
            raise _rejected(f"слишком много полей, допустимо не более {max_fields}")
        if offset + _DESCRIPTOR_SIZE >= header_length:
            raise no_terminator
        fields.append(_read_field(data[offset : offset + _DESCRIPTOR_SIZE], len(fields) + 1, chosen))
        offset += _DESCRIPTOR_SIZE
    if not fields:
        raise _rejected("в файле нет ни одного поля")
    names = [f.name.upper() for f in fields]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise _rejected(f"повторяются имена полей: {', '.join(duplicates)}")

    expected_length = 1 + sum(f.length for f in fields)
    if record_length != expected_length:
        raise _rejected(
            f"длина записи в заголовке {record_length} не равна сумме длин полей плюс 1 ({expected_length})"
        )
    data_end = header_length + record_count * record_length
    if data_end > size:
        present = (size - header_length) // record_length
        raise _rejected(
            f"число записей в заголовке ({record_count}) больше, чем помещается в файле ({present}); "
            "файл обрезан или заголовок неверен"
        )
    tail = data[data_end:]
    if tail and tail[0] != _EOF:
        raise _rejected("после последней записи есть лишние данные (записей больше, чем указано в заголовке)")
    flags = data[header_length:data_end:record_length]
    bad = flags.translate(None, b" *")
    if bad:
        number = flags.index(bad[0]) + 1
        raise _rejected(f"запись № {number} повреждена (неизвестный признак удаления 0x{bad[0]:02X})")

    return DbfTable(
        fields=fields,
        encoding=chosen,
        language_byte=language_byte,
        version=header.dbversion,
        record_count=record_count,
        deleted_count=flags.count(b"*"),
        header_length=header_length,
        record_length=record_length,
        data=data,
    )


# --- writing ---------------------------------------------------------------------------------------


def parse_field_spec(spec: str) -> DbfField:
    """Parse `FAM C(60)`, `DR D`, `W N(1,0)`, `OK L` into a field; an invalid spec raises ValueError."""
    match = _SPEC.fullmatch(spec)
    if not match:
        raise ValueError(f"Некорректное описание поля DBF: «{spec}».")
    name, type_letter = match.group(1).upper(), match.group(2).upper()
    length = int(match.group(3)) if match.group(3) else None
    decimals = int(match.group(4)) if match.group(4) else 0
    if type_letter not in FIELD_TYPES:
        raise ValueError(f"Тип поля DBF «{type_letter}» не поддерживается: «{spec}».")
    if type_letter in "DL":
        fixed = 8 if type_letter == "D" else 1
        if length not in (None, fixed) or decimals:
            raise ValueError(f"Поле типа {type_letter} имеет фиксированную длину {fixed}: «{spec}».")
        return DbfField(name=name, type=type_letter, length=fixed)
    if length is None:
        raise ValueError(f"Для поля DBF не указана длина: «{spec}».")
    if type_letter == "C" and not (1 <= length <= 254 and decimals == 0):
        raise ValueError(f"Длина символьного поля DBF должна быть от 1 до 254: «{spec}».")
    if type_letter in "NF" and not (1 <= length <= _MAX_NUMERIC_LENGTH and decimals <= max(length - 2, 0)):
        raise ValueError(f"Недопустимый размер числового поля DBF: «{spec}».")
    return DbfField(name=name, type=type_letter, length=length, decimals=decimals)


def _check_value(f: DbfField, value: object, encoding: str) -> str | None:
    """Why the value cannot be stored in the field (Russian), or None when it can."""
    if value is None:
        return None
    if f.type == "C":
        if not isinstance(value, str):
            return "ожидается строка"
        bad = sorted({ch for ch in value if not _encodable(ch, encoding)})
        if bad:
            shown = ", ".join(f"«{ch}» (U+{ord(ch):04X})" for ch in bad)
            return f"символы не представимы в кодировке {encoding}: {shown}"
        if len(value.encode(encoding)) > f.length:
            return f"значение длиннее {f.length} символов"
        return None
    if f.type == "D":
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            return "ожидается дата"
        return None
    if f.type == "L":
        return None if isinstance(value, bool) else "ожидается логическое значение"
    # N and F
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return "ожидается целое число или Decimal"
    number = Decimal(value)
    if not number.is_finite():
        return "ожидается конечное число"
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > f.decimals:
        return f"больше {f.decimals} знаков после запятой"
    if len(f"{number:.{f.decimals}f}") > f.length:
        return f"число не помещается в поле длиной {f.length}"
    return None


def _encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _row_values(
    fields: list[DbfField], row: Mapping[str, DbfValue] | Sequence[DbfValue], number: int
) -> list[DbfValue]:
    if isinstance(row, Mapping):
        upper = {str(key).upper(): value for key, value in row.items()}
        unknown = sorted(set(upper) - {f.name for f in fields})
        if unknown:
            raise ValueError(f"Строка {number}: неизвестные поля DBF: {', '.join(unknown)}.")
        return [upper.get(f.name) for f in fields]
    if isinstance(row, str | bytes) or len(row) != len(fields):
        raise ValueError(f"Строка {number}: ожидается {len(fields)} значений.")
    return list(row)


def write_dbf(
    field_specs: Sequence[str],
    rows: Iterable[Mapping[str, DbfValue] | Sequence[DbfValue]],
    *,
    encoding: str = DEFAULT_ENCODING,
) -> bytes:
    """Write a dBase III file (language byte 0x65 for cp866, 0xC9 for cp1251) and return its bytes.

    Rows are mappings by field name (missing names are empty) or sequences in field order. Every row is
    checked first; if any value cannot be stored, DbfWriteError lists all such values and nothing is written.
    """
    if encoding not in WRITE_LANGUAGE_BYTES:
        raise ValueError(f"Кодировка DBF {encoding} не поддерживается (допустимы cp866, cp1251).")
    language_byte = WRITE_LANGUAGE_BYTES[encoding]
    fields = [parse_field_spec(spec) for spec in field_specs]
    if not fields:
        raise ValueError("Для DBF не задано ни одного поля.")
    prepared: list[list[DbfValue]] = []
    problems: list[DbfProblem] = []
    for number, row in enumerate(rows, start=1):
        values = _row_values(fields, row, number)
        for f, value in zip(fields, values, strict=True):
            message = _check_value(f, value, encoding)
            if message:
                problems.append(DbfProblem(row=number, field=f.name, message=message))
        prepared.append(
            ["" if v is None and f.type == "C" else v for f, v in zip(fields, values, strict=True)]
        )
    if problems:
        raise DbfWriteError(problems)

    with tempfile.TemporaryDirectory(prefix="tfoms-dbf-") as directory:
        path = Path(directory) / "out.dbf"
        table = dbf_lib.Table(
            str(path), "; ".join(f.spec for f in fields), dbf_type="db3", codepage=language_byte
        )
        table.open(dbf_lib.READ_WRITE)
        try:
            for values in prepared:
                table.append(tuple(values))
        finally:
            table.close()
        content = bytearray(path.read_bytes())
    if content[29] != language_byte:
        content[29] = language_byte
    return bytes(content)
