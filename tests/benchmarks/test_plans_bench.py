"""Prophylaxis plans (issue 11): 100,000 DISPPLAN messages of one plan formed by the sync engine —
read, built, XSD-validated, stored on PostgreSQL — beside a bare lxml build + validate + serialise of
the same payloads in the same run (target ≤ 4×); and the order-88 PROF export of the same plan:
time and peak memory growth (streamed, target ≤ 200 MB).

Run with `make bench` (DATABASE_URL on PostgreSQL); BENCH_PLAN overrides the 100,000 persons."""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from lxml import etree

from prophylaxis.models import PlanKind, PlanPerson, ProphylaxisPlan
from prophylaxis.plan_formats import DISPPLAN_ENVELOPE, DISPPLAN_XSD
from prophylaxis.plans import PLANS, ExportRequest, plans_export
from registry.models import Policy
from servicelog import forming
from servicelog.models import Package, PackageStatus
from servicelog.runs import run_finish, run_open
from servicelog.sync import family_sync
from tests.benchmarks.storage import copy_limit
from tests.benchmarks.test_attachment_bench import _fill, _reset_peak_rss, _sites, _status_mb
from tests.factories import MoFactory, SmoFactory

N = int(os.environ.get("BENCH_PLAN", "100000"))
pytestmark = pytest.mark.postgres


def bare_forming(payloads: list[dict]) -> float:
    """The limit: the same trees with plain lxml, validated against the same XSD, serialised."""
    schema = etree.XMLSchema(etree.parse(str(DISPPLAN_XSD)))
    started = time.perf_counter()
    for payload in payloads:
        root = etree.Element("PKG")
        header = etree.SubElement(root, "HEADER")
        etree.SubElement(header, "OPERATIONTYPE").text = "Insert"
        etree.SubElement(header, "DATA").text = "2026-12-01"
        for tag in DISPPLAN_ENVELOPE.header:
            if tag in payload:
                etree.SubElement(header, tag).text = payload[tag]
        body = etree.SubElement(root, "BODY")
        for tag in DISPPLAN_ENVELOPE.body[:-1]:
            if tag in payload:
                etree.SubElement(body, tag).text = payload[tag]
        measure = etree.SubElement(body, "SV_PL_MER")
        for tag in DISPPLAN_ENVELOPE.groups["SV_PL_MER"]:
            etree.SubElement(measure, tag).text = payload["SV_PL_MER"][tag]
        assert schema.validate(root), schema.error_log
        etree.tostring(root, encoding="utf-8", xml_declaration=True)
    return time.perf_counter() - started


@pytest.mark.django_db(transaction=True)
def test_plans_against_bare_lxml(monkeypatch):
    monkeypatch.setattr(forming, "_kickers", [])  # forming only: the relay does not publish on commit
    mo = MoFactory(code="590001", oid="1.2.643.5.1.13.13.12.2.59.9001")
    other = MoFactory(code="590002")
    smo = SmoFactory(code="59021")
    _sites(mo)
    _fill(mo.pk, other.pk, N)
    Policy.objects.update(smo=smo)
    plan = ProphylaxisPlan.objects.create(mo=mo, kind=PlanKind.DV1, year=timezone.localdate().year)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PlanPerson._meta.db_table} (plan_id, person_id, quarter, smo_id, status, "
            f"error_code, error_text, updated_at) SELECT %s, id, 1 + id %% 4, %s, 'new', '', '', now() "
            f"FROM registry_person",
            [plan.pk, smo.pk],
        )
    run = run_open("dispplan_exchange", mo=mo)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        family_sync(run=run, mo=mo, family=PLANS, subset=plan.pk)
    formed = time.perf_counter() - started
    run_finish(run)
    packages = Package.objects.filter(run=run, package_type="DISPPLAN")
    errors = packages.exclude(status=PackageStatus.FORMED)
    assert packages.count() == N and not errors.exists(), errors.first().result if errors.exists() else ""
    payloads = list(packages.values_list("payload", flat=True))
    bare_forming(payloads[:1000])  # warm the schema and the allocator
    bare = bare_forming(payloads)
    del payloads
    stored = copy_limit(run.pk)

    _reset_peak_rss()
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    request = ExportRequest(plans=[plan], smos=[], month=12, year=plan.year, quarter=4, number=1)
    (export,) = plans_export(mo=mo, request=request, user=None).exports
    exported = time.perf_counter() - started
    growth = _status_mb("VmHWM") - before
    assert export.records == N
    print(
        f"\nPLANS BENCH (postgresql, one plan of {N:,} persons):\n"
        f"  bare lxml build + XSD validate + serialise: {bare:.1f} s ({N / bare:,.0f} messages/s)\n"
        f"  bare COPY of the same rows and log lines into twins of their tables: {stored:.1f} s\n"
        f"  DISPPLAN by family_sync (read, build, validate, store): {formed:.1f} s "
        f"({N / formed:,.0f} messages/s) = {formed / bare:.1f}× bare lxml (target ≤ 4×), "
        f"{formed / (bare + stored):.1f}× lxml + COPY\n"
        f"  queries: {len(queries)} for {N:,} messages = {len(queries) / N:.4f} per message\n"
        f"  PROF export (order 88, streamed into its ZIP): {exported:.1f} s, "
        f"{len(bytes(export.content)) / 2**20:.1f} MB ZIP, peak memory growth {growth:.0f} MB (target ≤ 200 MB)"
    )
    assert growth <= 200
