"""Exports of journal lists to CSV and XLSX, streamed: memory does not grow with the rows (E5)."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import xlsxwriter
from django.http import FileResponse, StreamingHttpResponse

Row = Sequence[Any]


def _csv_chunks(header: Row, rows: Iterable[Row]) -> Iterator[bytes]:
    """UTF-8 with a BOM and `;` — what a Russian Excel opens without asking."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    yield "\ufeff".encode() + buffer.getvalue().encode("utf-8")
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(["" if value is None else value for value in row])
        yield buffer.getvalue().encode("utf-8")


def csv_response(name: str, header: Row, rows: Iterable[Row]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_chunks(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def xlsx_response(name: str, header: Row, rows: Iterable[Row]) -> FileResponse:
    """xlsxwriter's constant-memory mode writes row by row to a temporary file, then it is streamed."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "tmpdir": tempfile.gettempdir()})
    sheet = workbook.add_worksheet(name[:31])
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, list(header), bold)
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, ["" if value is None else str(value) for value in row])
    workbook.close()
    stream = open(path, "rb")  # noqa: SIM115  (FileResponse closes it)
    os.unlink(path)  # the open handle keeps the data until the response is sent
    return FileResponse(
        stream,
        as_attachment=True,
        filename=f"{name}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
