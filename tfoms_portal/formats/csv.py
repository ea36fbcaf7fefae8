"""The attachment-file CSV writer (DESIGN §6): `;`, quoted present values, bare absent ones, cp1251."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

ENCODING = "cp1251"
SEPARATOR = ";"
ROW_SEPARATOR = b"\r\n"
DEFAULT_CHUNK_BYTES = 64 * 1024

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

CsvRow = Sequence[str | None]


class CsvError(ValueError):
    """A row cannot be written; the message is Russian."""


@dataclass(frozen=True)
class CsvProblem:
    """A character of a value that windows-1251 cannot represent (row and column are 1-based)."""

    row: int
    column: int
    char: str

    def __str__(self) -> str:
        return (
            f"строка {self.row}, поле {self.column}: символ «{self.char}» (U+{ord(self.char):04X}) "
            "не представим в кодировке windows-1251"
        )


class CsvEncodingError(CsvError):
    """Values hold characters outside windows-1251; `problems` lists each (row, column, char)."""

    def __init__(self, problems: list[CsvProblem]) -> None:
        self.problems = problems
        shown = "; ".join(str(problem) for problem in problems[:10])
        more = f" (и ещё {len(problems) - 10})" if len(problems) > 10 else ""
        super().__init__(f"Файл не сформирован: {shown}{more}.")


BadRowHandler = Callable[[int, CsvRow, list[CsvProblem]], None]


def row_problems(row: CsvRow, row_number: int = 1) -> list[CsvProblem]:
    """Every character of the row's values that windows-1251 cannot represent, in order."""
    problems: list[CsvProblem] = []
    for column, value in enumerate(row, start=1):
        if value is None:
            continue
        try:
            value.encode(ENCODING)
        except UnicodeEncodeError:
            problems.extend(
                CsvProblem(row=row_number, column=column, char=ch) for ch in value if not _encodable(ch)
            )
    return problems


def _encodable(ch: str) -> bool:
    try:
        ch.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def format_row(row: CsvRow, *, omit_trailing_absent: bool = False, row_number: int = 1) -> str:
    """One line without a line break: present values quoted (`"` doubled, CR/LF → space), None bare.

    With `omit_trailing_absent`, a last value that is None is left out together with its separator.
    """
    values = list(row)
    if omit_trailing_absent and len(values) > 1 and values[-1] is None:
        values.pop()
    cells: list[str] = []
    for column, value in enumerate(values, start=1):
        if value is None:
            cells.append("")
        elif isinstance(value, str):
            cells.append('"' + _LINE_BREAK.sub(" ", value).replace('"', '""') + '"')
        else:
            raise CsvError(
                f"Строка {row_number}, поле {column}: ожидается строка, получено {type(value).__name__}."
            )
    line = SEPARATOR.join(cells)
    if not line:
        raise CsvError(f"Строка {row_number} пуста; пустые строки в файле недопустимы.")
    return line


def iter_csv(
    rows: Iterable[CsvRow],
    *,
    omit_trailing_absent: bool = False,
    on_bad_row: BadRowHandler | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Iterator[bytes]:
    """Yield the file as windows-1251 byte chunks; CR LF only between rows, none before or after.

    A row with characters outside windows-1251 raises CsvEncodingError, or, when `on_bad_row` is given,
    is left out of the file and passed to it as (row number, row, problems) for the error report.
    """
    parts: list[bytes] = []
    buffered = 0
    first = True
    for number, row in enumerate(rows, start=1):
        line = format_row(row, omit_trailing_absent=omit_trailing_absent, row_number=number)
        try:
            encoded = line.encode(ENCODING)
        except UnicodeEncodeError:
            problems = row_problems(row, number)
            if on_bad_row is None:
                raise CsvEncodingError(problems) from None
            on_bad_row(number, row, problems)
            continue
        if not first:
            parts.append(ROW_SEPARATOR)
            buffered += len(ROW_SEPARATOR)
        first = False
        parts.append(encoded)
        buffered += len(encoded)
        if buffered >= chunk_bytes:
            yield b"".join(parts)
            parts, buffered = [], 0
    if parts:
        yield b"".join(parts)


def write_csv(
    rows: Iterable[CsvRow],
    *,
    omit_trailing_absent: bool = False,
    on_bad_row: BadRowHandler | None = None,
) -> bytes:
    """The whole file as bytes (see `iter_csv`)."""
    return b"".join(iter_csv(rows, omit_trailing_absent=omit_trailing_absent, on_bad_row=on_bad_row))
