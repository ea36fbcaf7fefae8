"""Order 263 (issue 12): stages 1 and 2 for a region of 20 hospitals — ≈2,000 departments and bed
profiles, BENCH_ISZL (100,000) referrals and stays, 300,000 movements — formed by the sync engine on
PostgreSQL (read, build, XSD-validate, store) beside a bare lxml build + validate + serialise of the
same payloads and a bare COPY of the same rows, in the same run (target ≤ 4× lxml).

Three region runs, as in production, the fund accepting everything after each (SentObject written by
SQL, not timed): the first tells the structure; the second the stays and referrals (they wait for
their departments to be accepted); the third the movements (they wait for their HOSPITALISATION).

Run with `make bench` (DATABASE_URL on PostgreSQL)."""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection
from django.db.models import Count
from lxml import etree

from hospitalisation import formats as f
from hospitalisation.models import Movement, Referral, Stay
from registry.models import Bed, BedProfile, Department, Person, Policy, Subdivision
from servicelog import forming
from servicelog.models import Package, PackageStatus, SentObject
from servicelog.services import service_execute
from tests.benchmarks.storage import copy_limit
from tests.factories import MoFactory, SmoFactory

N = int(os.environ.get("BENCH_ISZL", "100000"))  # referrals + stays
HOSPITALS = 20
DEPARTMENTS = 50  # per hospital, one bed profile of 10 beds each
MOVES = 6  # per stay not refused: the admission department and five profile stays
pytestmark = pytest.mark.postgres


def _fill(mo_ids: list[int], smo_id: int) -> None:
    """The structure, persons with a policy, referrals, stays and movements by INSERT … SELECT."""
    sub, dep, prof, bed = (m._meta.db_table for m in (Subdivision, Department, BedProfile, Bed))
    person, policy = Person._meta.db_table, Policy._meta.db_table
    ref, stay, move = Referral._meta.db_table, Stay._meta.db_table, Movement._meta.db_table
    ids = ",".join(str(i) for i in mo_ids)
    half = N // 2
    with connection.cursor() as c:
        c.execute(f"""
            INSERT INTO {sub} (mo_id, code, name, kind, age_group, address, phone, created_at, updated_at)
            SELECT m, k.code, k.name, k.kind, 4, 'г. Пермь, ул. Ленина, 1', '', now(), now()
            FROM unnest(ARRAY[{ids}]) AS m,
                (VALUES ('001', 'Стационар', 'hospital'), ('002', 'Поликлиника', 'polyclinic')) AS k(code, name, kind)
        """)
        c.execute(f"""
            INSERT INTO {dep} (subdivision_id, code, name, group_type, profile_code, phone, is_oms,
                created_at, updated_at)
            SELECT s.id, lpad(d::text, 3, '0'), 'Отделение № ' || d,
                CASE WHEN d = 1 THEN 'admission' ELSE 'round_the_clock' END, '97', '', true, now(), now()
            FROM {sub} s, generate_series(1, {DEPARTMENTS + 1}) AS d WHERE s.kind = 'hospital'
        """)
        c.execute(f"""
            INSERT INTO {prof} (department_id, profile_code, name, date_begin, repair_beds, created_at, updated_at)
            SELECT id, '19', 'терапевтические', DATE '2013-01-01', 0, now(), now()
            FROM {dep} WHERE group_type = 'round_the_clock'
        """)
        c.execute(f"""
            INSERT INTO {bed} (bed_profile_id, number, kind, date_begin, updated_at)
            SELECT p.id, p.id || '-' || b, 'adult', DATE '2013-01-01', now()
            FROM {prof} p, generate_series(1, 10) AS b
        """)
        c.execute(f"""
            INSERT INTO {person} (last_name, first_name, middle_name, birth_date, sex, snils, birth_place,
                soc_status, identified_in_tfoms, identification_request_reason, created_at, updated_at)
            SELECT 'Фамилия' || i, 'Имя', 'Отчество', DATE '1950-01-01' + i % 20000, 1 + i % 2,
                lpad(i::text, 11, '0'), '', '', false, '', now(), now()
            FROM generate_series(1, {half}) AS i
        """)
        c.execute(f"""
            INSERT INTO {policy} (person_id, policy_type, form, series, number, enp, smo_id, valid_from, source)
            SELECT id, 3, 'П', '', '', '59' || lpad(id::text, 14, '0'), {smo_id}, DATE '2015-01-01', 'manual'
            FROM {person}
        """)
        # profiles numbered within each hospital: row r of hospital h → department r of it
        c.execute(f"""
            CREATE TEMP TABLE bench_beds AS
            SELECT s.mo_id, s.id AS building, p.department_id AS department, p.id AS profile,
                row_number() OVER (PARTITION BY s.mo_id ORDER BY p.id) - 1 AS r,
                dense_rank() OVER (ORDER BY s.mo_id) - 1 AS h
            FROM {prof} p JOIN {dep} d ON d.id = p.department_id JOIN {sub} s ON s.id = d.subdivision_id
        """)
        c.execute(f"""
            INSERT INTO {ref} (mo_id, number, kind, auto_created, payment, from_subdivision_id, to_mo_id,
                to_department_id, to_bed_profile_id, diagnosis, diagnosis_text, referral_date, person_id,
                phone, cancelled_at, cancel_reason, cancel_source, cancel_description, fund_result,
                created_at, updated_at)
            SELECT src.mo_id, i, 'planned', false, 'oms', poly.id, dst.mo_id, dst.department, dst.profile,
                'I20.8', 'Стенокардия', DATE '2026-11-01' + i % 28, pr.id, '+7 900 000-00-00',
                CASE WHEN i % 10 = 0 THEN DATE '2026-11-29' END, CASE WHEN i % 10 = 0 THEN 1 END,
                CASE WHEN i % 10 = 0 THEN 1 END, '', '', now(), now()
            FROM generate_series(1, {half}) AS i
            JOIN (SELECT DISTINCT mo_id, h FROM bench_beds) src ON src.h = i % {HOSPITALS}
            JOIN bench_beds dst ON dst.h = (i + 1) % {HOSPITALS} AND dst.r = i % {DEPARTMENTS}
            JOIN {sub} poly ON poly.mo_id = src.mo_id AND poly.kind = 'polyclinic'
            JOIN {person} pr ON pr.id = (SELECT min(id) FROM {person}) + i - 1
        """)
        c.execute(f"""
            INSERT INTO {stay} (mo_id, person_id, subdivision_id, department_id, bed_profile_id, admitted_at,
                form_of_care, payment, card_number, diagnosis, diagnosis_text, outcome, refusal_reason,
                refused_at, created_at, updated_at)
            SELECT b.mo_id, pr.id, b.building, b.department, b.profile,
                TIMESTAMPTZ '2026-11-01 10:00+05' + (i % 28) * INTERVAL '1 day', 0, 'oms',
                '2026-' || lpad(i::text, 6, '0'), 'I20.8', '',
                CASE WHEN i % 25 = 0 THEN 'refused' ELSE 'hospitalised' END,
                CASE WHEN i % 25 = 0 THEN 2 END, CASE WHEN i % 25 = 0 THEN DATE '2026-11-01' END, now(), now()
            FROM generate_series(1, {half}) AS i
            JOIN bench_beds b ON b.h = i % {HOSPITALS} AND b.r = i % {DEPARTMENTS}
            JOIN {person} pr ON pr.id = (SELECT min(id) FROM {person}) + i - 1
        """)
        c.execute(f"""
            INSERT INTO {move} (stay_id, department_id, bed_profile_id, date_in, date_out, outcome,
                created_at, updated_at)
            SELECT s.id, CASE WHEN k = 0 THEN adm.id ELSE s.department_id END,
                CASE WHEN k = 0 THEN NULL ELSE s.bed_profile_id END,
                s.admitted_at::date + GREATEST(k - 1, 0), s.admitted_at::date + k,
                CASE WHEN k = {MOVES - 1} THEN 1 END, now(), now()
            FROM {stay} s JOIN {dep} adm ON adm.subdivision_id = s.subdivision_id AND adm.group_type = 'admission',
                generate_series(0, {MOVES - 1}) AS k
            WHERE s.outcome = 'hospitalised'
        """)
        for table in (sub, dep, prof, bed, person, policy, ref, stay, move):
            c.execute(f"ANALYZE {table}")


def _accept_everything() -> None:
    """The fund accepts every package formed so far (what its replies would do), by SQL."""
    package, sent = Package._meta.db_table, SentObject._meta.db_table
    with connection.cursor() as c:
        c.execute(f"UPDATE {package} SET status = 'accepted' WHERE status = 'formed'")
        c.execute(f"""
            INSERT INTO {sent} (package_type, object_id, external_id, mo_id, accepted_hash, accepted_at,
                last_package_id, deleted)
            SELECT package_type, object_id, external_id, mo_id, content_hash, now(), id, false
            FROM {package} WHERE status = 'accepted'
            ON CONFLICT (package_type, object_id) DO NOTHING
        """)


def bare_forming(packages: list[tuple[str, str, str, dict]]) -> float:
    """The limit: the same ISZL trees with plain lxml, validated against the same XSD, serialised."""
    schema = etree.XMLSchema(etree.parse(str(f.XSD)))
    started = time.perf_counter()
    for package_type, operation, guid, payload in packages:
        root = etree.Element(package_type)
        header = etree.SubElement(root, "header")
        etree.SubElement(header, "LPU").text = payload["LPU"]
        etree.SubElement(header, "TYPE").text = operation
        if "LPU_TO" in payload:
            etree.SubElement(header, "LPU_TO").text = payload["LPU_TO"]
        etree.SubElement(header, "ID").text = guid
        body = etree.SubElement(root, "body")
        for tag in f.ENVELOPES[package_type].body:
            if tag in payload:
                etree.SubElement(body, tag).text = payload[tag]
        assert schema.validate(root), schema.error_log
        etree.tostring(root, encoding="utf-8", xml_declaration=True)
    return time.perf_counter() - started


@pytest.mark.django_db(transaction=True)
def test_order_263_against_bare_lxml(monkeypatch):
    monkeypatch.setattr(forming, "_kickers", [])  # forming only: the relay does not publish on commit
    hospitals = [MoFactory(code=f"59{100 + n:04d}") for n in range(HOSPITALS)]
    smo = SmoFactory(code="59021")
    _fill([mo.pk for mo in hospitals], smo.pk)
    timings, runs, queries = [], [], [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    for _ in range(3):
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            runs.append(service_execute("iszl263"))
        timings.append(time.perf_counter() - started)
        _accept_everything()
    formed = sum(timings)
    packages = Package.objects.filter(run__in=runs)
    total = packages.count()
    wrong = packages.exclude(status=PackageStatus.ACCEPTED)
    assert not wrong.exists(), wrong.first().result if wrong.exists() else ""
    counts = dict(packages.values_list("package_type").annotate(n=Count("pk")).order_by())
    assert counts[f.MOTION] == Movement.objects.count() and counts[f.REFERRAL] == Referral.objects.count()
    rows = list(packages.values_list("package_type", "operation", "external_id", "payload"))
    bare_forming(rows[:1000])  # warm the schema and the allocator
    bare = bare_forming(rows)
    del rows
    stored = sum(copy_limit(run.pk) for run in runs)
    print(
        f"\nORDER 263 BENCH (postgresql, {HOSPITALS} hospitals, {BedProfile.objects.count():,} bed profiles, "
        f"{Department.objects.count():,} departments, {Referral.objects.count():,} referrals, "
        f"{Stay.objects.count():,} stays, {Movement.objects.count():,} movements):\n"
        f"  packages: {total:,} ({', '.join(f'{t} {n:,}' for t, n in sorted(counts.items()))})\n"
        f"  bare lxml build + XSD validate + serialise: {bare:.1f} s ({total / bare:,.0f} packages/s)\n"
        f"  bare COPY of the same rows and log lines into twins of their tables: {stored:.1f} s\n"
        f"  three region runs of iszl263 (list, diff, build, validate, store): {formed:.1f} s "
        f"({' + '.join(f'{t:.1f}' for t in timings)}; {total / formed:,.0f} packages/s) = "
        f"{formed / bare:.1f}× bare lxml (target ≤ 4×), {formed / (bare + stored):.1f}× lxml + COPY\n"
        f"  queries: {queries[0]} for {total:,} packages = {queries[0] / total:.4f} per package"
    )
