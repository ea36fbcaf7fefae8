"""Identification responses (issue 5): FILES × 200 response records loaded on PostgreSQL beside a bare
dbfread pass over the same files in the same run; memory measured after the first tenth and at the end.

Run with `make bench` (DATABASE_URL on PostgreSQL); BENCH_IDENT_FILES overrides the 500 files."""

from __future__ import annotations

import datetime as dt
import os
import resource
import time
import uuid

import dbfread
import pytest

from identification.formats import request_dbf
from identification.models import IdentificationPackage, IdentificationRecord, RecordStatus
from identification.services import identification_response_load
from registry.models import Person
from tests.factories import MoFactory, SmoFactory
from tfoms_emulator import ident

FILES = int(os.environ.get("BENCH_IDENT_FILES", "500"))
PER_FILE = 200
pytestmark = pytest.mark.postgres


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.django_db(transaction=True)
def test_identification_load_against_bare_dbfread(tmp_path):
    mo = MoFactory(code="590001")
    smo = SmoFactory(code="59021", ogrn="1025900000006")
    total = FILES * PER_FILE
    persons = Person.objects.bulk_create(
        [
            Person(
                last_name=f"Фамилия{n}",
                first_name="Имя",
                middle_name="Отчество",
                birth_date=dt.date(1950, 1, 1) + dt.timedelta(days=n % 20000),
                sex=1 + n % 2,
                snils="",
            )
            for n in range(total)
        ],
        batch_size=5000,
    )
    register = {"persons": []}
    files: list[tuple[str, bytes]] = []
    today = dt.date(2026, 11, 26)
    for f in range(FILES):
        package = IdentificationPackage.objects.create(
            name=f"590001_26112026_{f + 1}", mo=mo, formed_at=dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
        )
        records = []
        rows = []
        for r in range(PER_FILE):
            person = persons[f * PER_FILE + r]
            values = {
                "FAM": person.last_name.upper(),
                "IM": "ИМЯ",
                "OT": "ОТЧЕСТВО",
                "DR": person.birth_date.isoformat(),
                "W": person.sex,
                "SS": "",
                "C_DOC": 14,
                "S_DOC": "5704",
                "N_DOC": str(100000 + r),
                "OPDOC": None,
                "SPOL": "",
                "NPOL": "",
                "ENP": "",
                "DIN": today.isoformat(),
                "DOUT": today.isoformat(),
            }
            records.append(
                IdentificationRecord(
                    package=package,
                    row_number=r + 1,
                    person=person,
                    source="manual",
                    period_from=today,
                    period_to=today,
                    status=RecordStatus.WAITING,
                    status_date=today,
                    request=values,
                )
            )
            rows.append(values)
            if r % 10:  # nine in ten are known to the fund
                register["persons"].append(
                    {
                        "bdzid": person.pk,
                        "fam": values["FAM"],
                        "im": "ИМЯ",
                        "ot": "ОТЧЕСТВО",
                        "dr": values["DR"],
                        "w": person.sex,
                        "snils": "",
                        "doc_type": 14,
                        "doc_ser": "5704",
                        "doc_num": values["N_DOC"],
                        "policies": [
                            {
                                "type": 3,
                                "ser": "",
                                "num": "",
                                "enp": f"59{person.pk:014d}",
                                "smo": "59021",
                                "smo_ogrn": smo.ogrn,
                                "okato": "57000",
                                "dbeg": "2020-01-01",
                                "dend": None,
                            }
                        ],
                    }
                )
        IdentificationRecord.objects.bulk_create(records)
        files.append((f"{package.name}.DBF", request_dbf(rows)))
    fund = ident.parse_register(register)
    responses = [(name, ident.answer_request(data, fund, today=today)) for name, data in files]

    started = time.perf_counter()
    bare_rows = 0
    for _, data in responses:
        for _record in _iter_dbf(data):
            bare_rows += 1
    bare = time.perf_counter() - started
    assert bare_rows == total

    rss_tenth = 0.0
    started = time.perf_counter()
    identified = 0
    for index, (name, data) in enumerate(responses, start=1):
        identified += identification_response_load(file_name=name, data=data).identified
        if index == max(1, FILES // 10):
            rss_tenth = _rss_mb()
    loaded = time.perf_counter() - started
    rss_end = _rss_mb()
    assert identified == total * 9 // 10
    print(
        f"\nIDENTIFICATION BENCH (postgresql, {FILES} files × {PER_FILE} = {total} response records):\n"
        f"  bare dbfread pass : {bare:.1f} s ({total / bare:,.0f} rows/s)\n"
        f"  load (B4, B5)     : {loaded:.1f} s ({total / loaded:,.0f} rows/s) "
        f"= {loaded / bare:.1f}× the bare pass\n"
        f"  RSS after {max(1, FILES // 10)} files: {rss_tenth:.0f} MB, after {FILES}: {rss_end:.0f} MB"
    )


def _iter_dbf(data: bytes):
    """dbfread reads from a path only: the bare pass writes each file once and iterates its records."""
    path = f"/tmp/bench-{uuid.uuid4().hex}.dbf"
    with open(path, "wb") as handle:
        handle.write(data)
    try:
        yield from dbfread.DBF(path, encoding="cp866")
    finally:
        os.unlink(path)
