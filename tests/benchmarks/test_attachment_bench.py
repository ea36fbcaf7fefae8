"""The attachment file (issue 7, D1) for ATTACHED persons on PostgreSQL: the real streamed response
beside `psql \\copy` of the equivalent query (same joins, same columns) in the same run; the time
ratio (target ≤ 5×) and the peak memory of the generation (target ≤ 200 MB) are printed.

Run with `make bench` (DATABASE_URL on PostgreSQL); BENCH_ATTACHED overrides the 1,000,000 persons."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time

import pytest
from django.db import connection
from django.test import RequestFactory

from attachment.export import ExportPeriod, attachment_file_response, export_check
from registry import checkdigits
from registry.models import (
    Attachment,
    Department,
    IdentityDocument,
    Person,
    Policy,
    Role,
    Site,
    Staff,
    Subdivision,
)
from tests.factories import MoFactory, UserFactory, WorkplaceFactory

ATTACHED = int(os.environ.get("BENCH_ATTACHED", "1000000"))
SITES = 100
PERIOD = ExportPeriod(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
pytestmark = pytest.mark.postgres


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    raise RuntimeError(key)


def _reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _fill(mo_id: int, other_mo_id: int, count: int = ATTACHED) -> None:
    """`count` (ATTACHED) persons with a policy and a document each, attached to МО A over SITES districts; every
    20th detached in the period, every 50th came from МО B in the period (Р), every 100th is new (Р),
    every 10th has an old-style policy. INSERT … SELECT generate_series: the data never passes Python
    (integers only are put into the statements, which therefore take no parameters)."""
    person, attachment = Person._meta.db_table, Attachment._meta.db_table
    policy, document = Policy._meta.db_table, IdentityDocument._meta.db_table
    site = Site._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {person} (last_name, first_name, middle_name, birth_date, sex, snils, birth_place,
                soc_status, identified_in_tfoms, identification_request_reason, created_at, updated_at)
            SELECT 'Фамилия' || i, 'Имя', 'Отчество', DATE '1950-01-01' + i % 20000, 1 + i % 2,
                lpad(i::text, 11, '0'), 'г. Пермь', '', false, '',
                CASE WHEN i % 100 = 0 THEN TIMESTAMPTZ '2026-09-28 10:00+05'
                     ELSE TIMESTAMPTZ '2019-01-01 10:00+05' END,
                now()
            FROM generate_series(1, {count}) AS i
            """
        )
        cursor.execute(
            f"""
            INSERT INTO {attachment} (person_id, mo_id, site_id, method, attach_type, is_conditional,
                date_from, date_to)
            SELECT p.id, {mo_id}, s.ids[1 + p.id % {SITES}], 2, 1, false,
                CASE WHEN p.id % 50 = 1 THEN DATE '2026-10-06' ELSE DATE '2020-01-01' END,
                CASE WHEN p.id % 20 = 0 THEN DATE '2026-10-15' END
            FROM {person} p,
                (SELECT array_agg(id ORDER BY id) AS ids FROM {site} WHERE mo_id = {mo_id}) s
            """
        )
        cursor.execute(
            f"""
            INSERT INTO {attachment} (person_id, mo_id, method, attach_type, is_conditional, date_from, date_to)
            SELECT id, {other_mo_id}, 1, 1, false, DATE '2015-01-01', DATE '2026-10-05' FROM {person} WHERE id % 50 = 1
            """
        )
        cursor.execute(
            f"""
            INSERT INTO {policy} (person_id, policy_type, form, series, number, enp, valid_from, source)
            SELECT id, CASE WHEN id % 10 = 0 THEN 1 ELSE 3 END,
                CASE WHEN id % 10 = 0 THEN 'С' ELSE 'П' END,
                CASE WHEN id % 10 = 0 THEN 'ПМ' ELSE '' END,
                CASE WHEN id % 10 = 0 THEN lpad(id::text, 8, '0') ELSE '' END,
                CASE WHEN id % 10 = 0 THEN '' ELSE '59' || lpad(id::text, 14, '0') END,
                DATE '2015-01-01', 'manual'
            FROM {person}
            """
        )
        cursor.execute(
            f"""
            INSERT INTO {document} (person_id, doc_type, series, number, issued_at, issuer)
            SELECT id, 14, '5704', lpad(id::text, 6, '0'), DATE '2005-04-01', 'ОУФМС России по Пермскому краю'
            FROM {person}
            """
        )
        for table in (person, attachment, policy, document, site):
            cursor.execute(f"ANALYZE {table}")


def _equivalent_query(mo_id: int) -> str:
    """The selector's joins and columns in one statement: the attachments of the period with person,
    district, building and doctor, the policy valid on the report date (else the latest) and the latest
    document, the "came from another МО" flag, in the same order."""
    t = {m.__name__: m._meta.db_table for m in (Attachment, Person, Site, Department, Subdivision, Staff)}
    policy, document = Policy._meta.db_table, IdentityDocument._meta.db_table
    d1, d2 = PERIOD.date_from.isoformat(), PERIOD.date_to.isoformat()
    return " ".join(
        f"""
        SELECT a.id, a.person_id, a.date_from, a.date_to, a.method, a.attach_type, a.site_id,
            p.last_name, p.first_name, p.middle_name, p.birth_date, p.birth_place, p.snils, p.created_at,
            s.number, sub.code, s.doctor_id, st.snils, st.post_type,
            EXISTS (SELECT 1 FROM {t["Attachment"]} o WHERE o.person_id = a.person_id AND o.attach_type = 1
                AND o.date_to >= '{d1}' AND o.date_to <= '{d2}' AND o.date_from <= a.date_from
                AND o.mo_id <> {mo_id}) AS moved_here,
            pol.form, pol.series, pol.number, pol.enp,
            doc.doc_type, doc.series, doc.number, doc.issued_at, doc.issuer
        FROM {t["Attachment"]} a
        JOIN {t["Person"]} p ON p.id = a.person_id
        LEFT JOIN {t["Site"]} s ON s.id = a.site_id
        LEFT JOIN {t["Department"]} d ON d.id = s.department_id
        LEFT JOIN {t["Subdivision"]} sub ON sub.id = d.subdivision_id
        LEFT JOIN {t["Staff"]} st ON st.id = s.doctor_id
        LEFT JOIN LATERAL (SELECT form, series, number, enp FROM {policy} x WHERE x.person_id = a.person_id
            ORDER BY (x.valid_from <= '{d2}' AND (x.valid_to IS NULL OR x.valid_to >= '{d2}')) DESC,
                x.valid_from DESC, x.id DESC LIMIT 1) pol ON true
        LEFT JOIN LATERAL (SELECT doc_type, series, number, issued_at, issuer FROM {document} y
            WHERE y.person_id = a.person_id ORDER BY y.issued_at DESC NULLS LAST, y.id DESC LIMIT 1) doc ON true
        WHERE a.mo_id = {mo_id} AND a.attach_type = 1 AND a.date_from <= '{d2}'
            AND (a.date_to IS NULL OR a.date_to >= '{d1}')
        ORDER BY a.person_id, a.date_from DESC, a.id DESC
        """.split()
    )


def _psql_copy(query: str) -> float:
    db = connection.settings_dict
    env = os.environ | {"PGPASSWORD": str(db.get("PASSWORD") or "")}
    command = [
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        str(db.get("HOST") or "127.0.0.1"),
        "-p",
        str(db.get("PORT") or 5432),
        "-U",
        str(db.get("USER") or "postgres"),
        "-d",
        str(db["NAME"]),
        "-c",
        f"\\copy ({query}) TO '/dev/null' WITH (FORMAT csv, DELIMITER ';', FORCE_QUOTE *, ENCODING 'WIN1251')",
    ]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    return time.perf_counter() - started


def _sites(mo) -> None:
    """SITES districts of one building and department, each with its doctor."""
    subdivision = Subdivision.objects.create(mo=mo, code="001", name="Поликлиника", kind="polyclinic")
    department = Department.objects.create(
        subdivision=subdivision, code="001", name="Терапевтическое", group_type="polyclinic"
    )
    for n in range(SITES):
        doctor = Staff.objects.create(
            mo=mo,
            last_name="Врачова",
            first_name="Анна",
            snils=checkdigits.make_snils(223_344_000 + n),
            post_type=1,
        )
        Site.objects.create(
            mo=mo,
            department=department,
            number=str(n + 1),
            site_type=1,
            doctor=doctor,
            date_begin=dt.date(2015, 1, 1),
        )


@pytest.mark.django_db(transaction=True)
def test_attachment_file_against_psql_copy():
    mo = MoFactory(code="590001", oid="1.2.643.5.1.13.13.12.2.59.9001")
    other = MoFactory(code="590002")
    workplace = WorkplaceFactory(user=UserFactory(username="bench_admin"), mo=mo, role=Role.MO_ADMIN)
    _sites(mo)
    started = time.perf_counter()
    _fill(mo.pk, other.pk)
    filled = time.perf_counter() - started

    query = _equivalent_query(mo.pk)
    _psql_copy(query)  # warm the caches for both
    copy_time = _psql_copy(query)

    request = RequestFactory().get("/attachment/export/file/")
    request.user = workplace.user
    request.workplace = workplace  # type: ignore[attr-defined]
    rss_before = _status_mb("VmRSS:")
    _reset_peak_rss()
    started = time.perf_counter()
    response = attachment_file_response(
        request=request, workplace=workplace, mo=mo, period=PERIOD, via="bench"
    )
    size = rows = 0
    first = b""
    for chunk in response.streaming_content:
        first = first or bytes(chunk)
        size += len(chunk)
        rows += chunk.count(b"\r\n")
    response.close()
    generated = time.perf_counter() - started
    peak = _status_mb("VmHWM:") - rss_before
    rows += 1

    started = time.perf_counter()
    check = export_check(workplace=workplace, mo=mo, period=PERIOD)
    checked = time.perf_counter() - started

    assert rows == ATTACHED == check.rows
    assert first.startswith('"Р";"П";;"59'.encode("cp1251"))  # person 1 came from МО B
    print(
        f"\nATTACHMENT FILE BENCH (postgresql, {ATTACHED:,} attached persons, data built in {filled:.1f} s):\n"
        f"  psql \\copy of the equivalent query : {copy_time:.2f} s ({ATTACHED / copy_time:,.0f} rows/s)\n"
        f"  streamed file (the view's response)  : {generated:.2f} s ({ATTACHED / generated:,.0f} rows/s), "
        f"{size / 1_048_576:.0f} MB\n"
        f"  ratio                                : {generated / copy_time:.1f}× the copy (target ≤ 5×)\n"
        f"  peak memory of the generation        : +{peak:.0f} MB RSS over {rss_before:.0f} MB (target ≤ 200 MB)\n"
        f"  the page's check pass (error report) : {checked:.2f} s"
    )
