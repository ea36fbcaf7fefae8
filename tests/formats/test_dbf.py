"""DBF reading with the header validated first (hostile corpus built here) and dBase III writing."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal
from pathlib import Path

import dbfread
import pytest

from tfoms_portal.formats.dbf import (
    DbfField,
    DbfRejected,
    DbfWriteError,
    parse_field_spec,
    read_dbf,
    write_dbf,
)

# reference/formats.md §1.3, in order, types and lengths exactly as listed there.
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
REQUEST_LAYOUT = [
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


def build_dbf(
    fields: list[tuple[str, str, int, int]],
    records: list[list[bytes]],
    *,
    version: int = 0x03,
    language: int = 0x65,
    record_count: int | None = None,
    record_length: int | None = None,
    header_length: int | None = None,
    terminator: bytes = b"\r",
    eof: bytes = b"\x1a",
    deleted: frozenset[int] = frozenset(),
) -> bytes:
    """A DBF assembled byte by byte, with every header value overridable to make it lie."""
    descriptors = b"".join(
        name.encode("ascii").ljust(11, b"\0")
        + kind.encode("ascii")
        + bytes(4)
        + bytes([length, decimals])
        + bytes(14)
        for name, kind, length, decimals in fields
    )
    real_record_length = 1 + sum(length for _, _, length, _ in fields)
    header = struct.pack(
        "<BBBBLHH20x",
        version,
        125,
        1,
        2,
        len(records) if record_count is None else record_count,
        32 + len(descriptors) + len(terminator) if header_length is None else header_length,
        real_record_length if record_length is None else record_length,
    )
    header = header[:29] + bytes([language]) + header[30:]
    body = b"".join(
        (b"*" if index in deleted else b" ") + b"".join(values) for index, values in enumerate(records)
    )
    return header + descriptors + terminator + body + eof


PEOPLE_FIELDS = [
    ("FAM", "C", 20, 0),
    ("DR", "D", 8, 0),
    ("W", "N", 1, 0),
    ("SUM", "N", 8, 2),
    ("OK", "L", 1, 0),
]


def person(
    fam: bytes, dr: bytes = b"19800102", w: bytes = b"1", total: bytes = b"   12.50", ok: bytes = b"T"
) -> list[bytes]:
    return [fam.ljust(20), dr, w, total, ok]


def _refused(data: bytes, **kwargs: object) -> str:
    with pytest.raises(DbfRejected) as info:
        read_dbf(data, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


# --- reading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "encoding"),
    [(0x65, "cp866"), (0x26, "cp866"), (0xC9, "cp1251"), (0x00, "cp866"), (0x57, "cp866")],
)
def test_language_byte_selects_the_code_page(language: int, encoding: str) -> None:
    data = build_dbf(PEOPLE_FIELDS, [person("Иванова Ёлка".encode(encoding))], language=language)
    table = read_dbf(data)
    assert (table.encoding, table.language_byte) == (encoding, language)
    [record] = list(table.records())
    assert record.values == {
        "FAM": "Иванова Ёлка",
        "DR": dt.date(1980, 1, 2),
        "W": 1,
        "SUM": Decimal("12.50"),
        "OK": True,
    }
    assert record.errors == [] and record.number == 1


def test_zero_language_byte_uses_the_callers_default() -> None:
    data = build_dbf(PEOPLE_FIELDS, [person("Петров".encode("cp1251"))], language=0x00)
    table = read_dbf(data, default_encoding="cp1251")
    assert next(table.records()).values["FAM"] == "Петров"
    assert read_dbf(data, encoding="cp1251").encoding == "cp1251"


def test_fields_and_counts_are_reported() -> None:
    table = read_dbf(build_dbf(PEOPLE_FIELDS, [person(b"A"), person(b"B")], deleted=frozenset({0})))
    assert table.field_names == ["FAM", "DR", "W", "SUM", "OK"]
    assert table.fields[3] == DbfField("SUM", "N", 8, 2)
    assert (table.record_count, table.deleted_count) == (2, 1)
    assert [(r.number, r.values["FAM"]) for r in table.records()] == [(2, "B")]


def test_empty_values_are_none_or_empty_string() -> None:
    record = next(read_dbf(build_dbf(PEOPLE_FIELDS, [[b" " * 20, b" " * 8, b" ", b" " * 8, b"?"]])).records())
    assert record.values == {"FAM": "", "DR": None, "W": None, "SUM": None, "OK": None}
    assert record.errors == []


def test_invalid_values_are_reported_per_record_not_raised() -> None:
    records = [
        person("Иванов".encode("cp866")),
        person(b"Bad date", dr=b"20240231"),
        person(b"Bad number", w=b"x", total=b"1_000.00"),
        person(b"Bad logical", ok=b"Z"),
        person(b"Not a date", dr=b"2024-1-1"),
    ]
    table = read_dbf(build_dbf(PEOPLE_FIELDS, records))
    result = list(table.records())
    assert [r.errors for r in result] == [
        [],
        ["запись № 2, поле DR: некорректная дата «20240231»"],
        ["запись № 3, поле W: некорректное число «x»", "запись № 3, поле SUM: некорректное число «1_000.00»"],
        ["запись № 4, поле OK: некорректное значение «Z»"],
        ["запись № 5, поле DR: некорректная дата «2024-1-1»"],
    ]
    assert result[1].values["DR"] is None and result[1].values["FAM"] == "Bad date"


def test_undecodable_text_is_reported() -> None:
    data = build_dbf(PEOPLE_FIELDS, [person(b"\x98bad")], language=0xC9)  # 0x98 is unassigned in cp1251
    record = next(read_dbf(data).records())
    assert record.errors == ["запись № 1, поле FAM: значение не декодируется в кодировке cp1251"]
    assert record.values["FAM"] is None


def test_comma_decimal_and_signs_are_read() -> None:
    records = [person(b"A", total=b"  -3,25 "), person(b"B", total=b"     +7 ")]
    values = [r.values["SUM"] for r in read_dbf(build_dbf(PEOPLE_FIELDS, records)).records()]
    assert values == [Decimal("-3.25"), 7]


def test_missing_trailing_eof_is_tolerated() -> None:
    assert len(list(read_dbf(build_dbf(PEOPLE_FIELDS, [person(b"A")], eof=b"")).records())) == 1


def test_non_dbf_is_refused() -> None:
    for data in (b"", b"hello", b"PK\x03\x04" + bytes(100), b"<?xml version='1.0'?><r/>" * 4):
        assert _refused(data).startswith("Файл не является корректным DBF: ")


def test_oversized_file_is_refused() -> None:
    data = build_dbf(PEOPLE_FIELDS, [person(b"A")] * 10)
    assert _refused(data, max_bytes=100).startswith("Файл DBF слишком велик")


def test_truncated_dbf_is_refused() -> None:
    data = build_dbf(PEOPLE_FIELDS, [person(b"A"), person(b"B"), person(b"C")])
    message = _refused(data[:-20])
    assert message == (
        "Файл не является корректным DBF: число записей в заголовке (3) больше, чем помещается в файле (2); "
        "файл обрезан или заголовок неверен."
    )
    assert _refused(data[:100]).startswith("Файл не является корректным DBF: ")


def test_header_claiming_more_records_than_present_is_refused() -> None:
    data = build_dbf(PEOPLE_FIELDS, [person(b"A")], record_count=1_000_000)
    assert "число записей в заголовке (1000000) больше, чем помещается в файле (1)" in _refused(data)


def test_header_claiming_fewer_records_than_present_is_refused() -> None:
    data = build_dbf(PEOPLE_FIELDS, [person(b"A"), person(b"B")], record_count=1)
    assert "записей больше, чем указано в заголовке" in _refused(data)


def test_record_length_disagreeing_with_fields_is_refused() -> None:
    data = build_dbf(PEOPLE_FIELDS, [person(b"A")], record_length=40)
    assert _refused(data) == (
        "Файл не является корректным DBF: длина записи в заголовке 40 не равна сумме длин полей плюс 1 (39)."
    )


def test_too_many_fields_are_refused() -> None:
    fields = [(f"F{i}", "C", 1, 0) for i in range(300)]
    data = build_dbf(fields, [[b"x"] * 300])
    assert _refused(data) == "Файл не является корректным DBF: слишком много полей, допустимо не более 255."
    assert len(read_dbf(data, max_fields=300).fields) == 300


def test_missing_terminator_is_refused() -> None:
    expected = (
        "Файл не является корректным DBF: в пределах заголовка не найден признак конца описания полей (0x0D)."
    )
    assert _refused(build_dbf(PEOPLE_FIELDS, [person(b"A")], terminator=b"")) == expected
    other_byte = build_dbf(PEOPLE_FIELDS, [person(b"A")], terminator=b"\n")
    assert _refused(other_byte) == expected


def test_header_length_beyond_the_file_is_refused() -> None:
    data = build_dbf(PEOPLE_FIELDS, [person(b"A")], header_length=60_000)
    assert "длина заголовка 60000 не соответствует размеру файла" in _refused(data)


def test_unknown_version_is_refused() -> None:
    assert "неизвестная версия формата (байт 0 = 0x42)" in _refused(
        build_dbf(PEOPLE_FIELDS, [], version=0x42)
    )


@pytest.mark.parametrize(("kind", "length"), [("M", 10), ("I", 4), ("T", 8), ("B", 8)])
def test_unsupported_field_types_are_refused(kind: str, length: int) -> None:
    data = build_dbf([("FAM", "C", 10, 0), ("X", kind, length, 0)], [[b"a" * 10, b"0" * length]])
    assert _refused(data) == (
        f"Файл DBF не принимается: поле X имеет тип «{kind}», допустимы только C, D, N, L, F."
    )


def test_inconsistent_field_descriptors_are_refused() -> None:
    assert "поле даты DR имеет длину 6" in _refused(build_dbf([("DR", "D", 6, 0)], [[b"202401"]]))
    assert "повторяются имена полей: FAM" in _refused(build_dbf([("FAM", "C", 1, 0), ("fam", "C", 1, 0)], []))
    assert "некорректное имя" in _refused(build_dbf([("", "C", 1, 0)], []))
    assert "недопустимый размер (5,5)" in _refused(build_dbf([("N", "N", 5, 5)], []))


def test_corrupt_deletion_flag_is_refused() -> None:
    data = bytearray(build_dbf(PEOPLE_FIELDS, [person(b"A"), person(b"B")]))
    data[32 + 32 * 5 + 1 + 39] = ord("X")
    assert "запись № 2 повреждена (неизвестный признак удаления 0x58)" in _refused(bytes(data))


# --- writing ---------------------------------------------------------------------------------------


def test_field_specs_are_parsed() -> None:
    assert parse_field_spec("FAM C(60)") == DbfField("FAM", "C", 60, 0)
    assert parse_field_spec("dr D") == DbfField("DR", "D", 8, 0)
    assert parse_field_spec("W N(1,0)") == DbfField("W", "N", 1, 0)
    assert parse_field_spec("SUM N(10, 2)") == DbfField("SUM", "N", 10, 2)
    for bad in ("FAM", "FAM C", "FAM M(10)", "FAM C(300)", "TOO_LONG_NAME C(1)", "W N(3,2)", "DR D(6)"):
        with pytest.raises(ValueError, match=r"DBF|Поле типа"):
            parse_field_spec(bad)


REQUEST_ROWS: list[dict[str, object]] = [
    {
        "FAM": "Иванова-Петрова",
        "IM": "Алёна",
        "OT": "Сергеевна",
        "DR": dt.date(1985, 3, 14),
        "W": 2,
        "SS": "112-233-445 95",
        "C_DOC": 14,
        "S_DOC": "45 09",
        "N_DOC": "123456",
        "OPDOC": 3,
        "SPOL": None,
        "NPOL": None,
        "ENP": "7700000000000011",
        "DIN": dt.date(2025, 6, 1),
        "DOUT": dt.date(2025, 6, 1),
    },
    {
        "FAM": "Ёлкин",
        "IM": "Пётр",
        "DR": dt.date(2001, 12, 31),
        "W": 1,
        "C_DOC": 3,
        "OPDOC": 1,
        "SPOL": "АБ №",
    },
]


def test_identification_request_round_trip(tmp_path: Path) -> None:
    data = write_dbf(REQUEST_FIELDS, REQUEST_ROWS)
    assert data[0] == 0x03  # dBase III
    assert data[29] == 0x65  # cp866, Russian MS-DOS
    assert data.endswith(b"\x1a")
    table = read_dbf(data)
    assert [(f.name, f.type, f.length, f.decimals) for f in table.fields] == REQUEST_LAYOUT
    assert table.encoding == "cp866"
    assert table.record_length == 1 + 60 * 3 + 8 + 1 + 14 + 2 + 10 + 30 + 1 + 10 + 19 + 16 + 8 + 8
    records = list(table.records())
    assert all(not r.errors for r in records)
    expected_first = {**REQUEST_ROWS[0], "SPOL": "", "NPOL": ""}
    assert records[0].values == expected_first
    second = records[1].values
    assert (second["FAM"], second["IM"], second["OT"], second["SPOL"]) == ("Ёлкин", "Пётр", "", "АБ №")
    assert (second["DR"], second["W"], second["DIN"], second["SS"]) == (dt.date(2001, 12, 31), 1, None, "")
    assert "Иванова-Петрова".encode("cp866") in data

    # An independent reader agrees.
    path = tmp_path / "123456_01062025_1.DBF"
    path.write_bytes(data)
    rows = list(dbfread.DBF(str(path)))
    assert rows[0]["FAM"] == "Иванова-Петрова" and rows[0]["DR"] == dt.date(1985, 3, 14)


def test_sequence_rows_and_cp1251() -> None:
    data = write_dbf(
        ["FAM C(10)", "OK L", "SUM N(8,2)"],
        [("Щука", True, Decimal("1.5")), (None, None, None)],
        encoding="cp1251",
    )
    assert data[29] == 0xC9
    values = [r.values for r in read_dbf(data).records()]
    assert values == [
        {"FAM": "Щука", "OK": True, "SUM": Decimal("1.50")},
        {"FAM": "", "OK": None, "SUM": None},
    ]


def test_unwritable_values_are_listed_with_row_and_field() -> None:
    rows = [
        {"FAM": "Müller", "W": 1},
        {"FAM": "Иванов", "W": 12},
        {"FAM": "x" * 11, "W": Decimal("1.5")},
        {"FAM": "ok", "W": 1, "DR": dt.datetime(2020, 1, 1, 12, 0, tzinfo=dt.UTC)},
    ]
    with pytest.raises(DbfWriteError) as info:
        write_dbf(["FAM C(10)", "W N(1,0)", "DR D"], rows)
    assert [str(p) for p in info.value.problems] == [
        "строка 1, поле FAM: символы не представимы в кодировке cp866: «ü» (U+00FC)",
        "строка 2, поле W: число не помещается в поле длиной 1",
        "строка 3, поле FAM: значение длиннее 10 символов",
        "строка 3, поле W: больше 0 знаков после запятой",
        "строка 4, поле DR: ожидается дата",
    ]
    assert str(info.value).startswith("Не удалось сформировать DBF: строка 1, поле FAM: ")


def test_unknown_row_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="неизвестные поля DBF: XYZ"):
        write_dbf(["FAM C(10)"], [{"FAM": "a", "XYZ": 1}])
