"""The attachment-file CSV writer, checked byte for byte (DESIGN §6, reference/formats.md §4.1)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tfoms_portal.formats.csv import (
    CsvEncodingError,
    CsvError,
    CsvProblem,
    CsvRow,
    format_row,
    iter_csv,
    row_problems,
    write_csv,
)


def test_golden_file_bytes() -> None:
    rows: list[CsvRow] = [
        ["Р", "П", None, "7700000000000011", "Иванов", "Иван", None, "19800102"],
        ["И", "С", "АБ № 123", None, "Петрова", "Анна", "Сергеевна", "19751231"],
    ]
    expected = (
        b'"\xd0";"\xcf";;"7700000000000011";"\xc8\xe2\xe0\xed\xee\xe2";"\xc8\xe2\xe0\xed";;"19800102"'
        b"\r\n"
        b'"\xc8";"\xd1";"\xc0\xc1 \xb9 123";;"\xcf\xe5\xf2\xf0\xee\xe2\xe0";"\xc0\xed\xed\xe0";'
        b'"\xd1\xe5\xf0\xe3\xe5\xe5\xe2\xed\xe0";"19751231"'
    )
    assert write_csv(rows) == expected


def test_quotes_are_doubled_and_separators_kept_inside_quotes() -> None:
    assert write_csv([['ООО "Ромашка"', "a;b", '"']]) == '"ООО ""Ромашка""";"a;b";""""'.encode("cp1251")


def test_absent_and_empty_values() -> None:
    assert write_csv([[None, "", None, "x", None]]) == b';"";;"x";'
    assert write_csv([[None, None]]) == b";"


def test_crlf_only_between_rows() -> None:
    assert write_csv([["a"]]) == b'"a"'
    assert write_csv([["a"], ["b"], ["c"]]) == b'"a"\r\n"b"\r\n"c"'
    assert write_csv([]) == b""


def test_line_breaks_inside_values_become_one_space() -> None:
    assert write_csv([["a\r\nb", "c\nd\re", "f\n\ng"]]) == b'"a b";"c d e";"f  g"'


def test_trailing_absent_value_is_omitted_only_when_asked() -> None:
    row: CsvRow = ["Р", "П", None]
    assert write_csv([row]) == '"Р";"П";'.encode("cp1251")
    assert write_csv([row], omit_trailing_absent=True) == '"Р";"П"'.encode("cp1251")
    assert write_csv([["Р", None, "1"]], omit_trailing_absent=True) == '"Р";;"1"'.encode("cp1251")
    # Only the last value: an absent value before it keeps its place.
    assert write_csv([["a", None, None]], omit_trailing_absent=True) == b'"a";'
    mixed = write_csv([["a", "1"], ["b", None]], omit_trailing_absent=True)
    assert mixed == b'"a";"1"\r\n"b"'


def test_character_outside_cp1251_is_reported() -> None:
    rows: list[CsvRow] = [["Иванов", "ok"], ["Müller", "Zoë 😀"]]
    with pytest.raises(CsvEncodingError) as info:
        write_csv(rows)
    assert info.value.problems == [
        CsvProblem(row=2, column=1, char="ü"),
        CsvProblem(row=2, column=2, char="ë"),
        CsvProblem(row=2, column=2, char="😀"),
    ]
    assert str(info.value) == (
        "Файл не сформирован: строка 2, поле 1: символ «ü» (U+00FC) не представим в кодировке windows-1251; "
        "строка 2, поле 2: символ «ë» (U+00EB) не представим в кодировке windows-1251; "
        "строка 2, поле 2: символ «😀» (U+1F600) не представим в кодировке windows-1251."
    )


def test_bad_rows_can_go_to_an_error_report_instead() -> None:
    rejected: list[tuple[int, CsvRow, list[CsvProblem]]] = []
    rows: list[CsvRow] = [["é"], ["a"], ["ё"], ["€ ok"], ["ñ"]]
    data = write_csv(rows, on_bad_row=lambda number, row, problems: rejected.append((number, row, problems)))
    assert data == '"a"\r\n"ё"\r\n"€ ok"'.encode("cp1251")
    assert [(number, problems) for number, _, problems in rejected] == [
        (1, [CsvProblem(1, 1, "é")]),
        (5, [CsvProblem(5, 1, "ñ")]),
    ]
    assert rejected[0][1] == ["é"]


def test_row_problems_and_format_row() -> None:
    assert row_problems(["ok", None, "aé"], row_number=7) == [CsvProblem(7, 3, "é")]
    assert format_row(["a", None, 'b"c']) == '"a";;"b""c"'


def test_empty_rows_and_non_strings_are_refused() -> None:
    for row in ([], [None]):
        with pytest.raises(CsvError, match="пуста"):
            write_csv([["a"], row])
    with pytest.raises(CsvError, match=r"Строка 1, поле 2: ожидается строка, получено int"):
        write_csv([["a", 1]])  # type: ignore[list-item]


def test_streaming_yields_bounded_chunks_lazily() -> None:
    def endless() -> Iterator[CsvRow]:
        for number in itertools.count(1):
            yield [str(number), "Иванов", None]

    chunks = iter_csv(endless(), chunk_bytes=1024)
    first, second = next(chunks), next(chunks)  # an endless source still gives chunks: nothing is held
    assert 1024 <= len(first) < 1024 + 64
    assert first.startswith('"1";"Иванов";\r\n"2"'.encode("cp1251"))
    assert second.startswith(b"\r\n")  # the separator belongs to the next row, never at the end

    rows: list[CsvRow] = [[str(n), "x" * (n % 50), None] for n in range(5000)]
    joined = b"".join(iter_csv(rows, chunk_bytes=4096))
    assert joined == write_csv(rows)
    assert not joined.endswith(b"\r\n") and b"\r\n\r\n" not in joined
    assert joined.count(b"\r\n") == 4999
