"""Forming (issue 10 item 6): N attachment packages of one МО formed by the sync engine — read, built,
XSD-validated and stored on PostgreSQL — beside a bare lxml build + XSD validate + serialise of the same
payloads in the same run (target ≤ 4×); queries per package printed.

Run with `make bench` (DATABASE_URL on PostgreSQL); BENCH_FORMING overrides the 100,000 packages."""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from lxml import etree

from attachment.formats.person_attach import PAD_BODY, PAD_HEADER, PERSONATTACHDISTRICT_XSD
from attachment.services import ATTACH, _attachments
from servicelog import forming
from servicelog.models import Package, PackageStatus
from servicelog.runs import run_finish, run_open
from servicelog.sync import SyncContext, family_sync
from tests.benchmarks.storage import copy_limit
from tests.benchmarks.test_attachment_bench import _fill, _sites
from tests.factories import MoFactory

N = int(os.environ.get("BENCH_FORMING", "100000"))
pytestmark = pytest.mark.postgres


def bare_forming(payloads: list[dict[str, str]]) -> float:
    """The limit: the same trees built with plain lxml, validated against the same XSD, serialised."""
    schema = etree.XMLSchema(etree.parse(str(PERSONATTACHDISTRICT_XSD)))
    started = time.perf_counter()
    for payload in payloads:
        root = etree.Element("PKG")
        header = etree.SubElement(root, "HEADER")
        etree.SubElement(header, "OPERATIONTYPE").text = "Insert"
        etree.SubElement(header, "DATA").text = "2026-12-01"
        for tag in PAD_HEADER:
            etree.SubElement(header, tag).text = payload[tag]
        body = etree.SubElement(root, "BODY")
        for tag in PAD_BODY:
            if tag in payload:
                etree.SubElement(body, tag).text = payload[tag]
        assert schema.validate(root)
        etree.tostring(root, encoding="utf-8", xml_declaration=True)
    return time.perf_counter() - started


@pytest.mark.django_db(transaction=True)
def test_forming_against_bare_lxml(monkeypatch):
    monkeypatch.setattr(forming, "_kickers", [])  # forming only: the relay does not publish on commit
    mo = MoFactory(code="590001", oid="1.2.643.5.1.13.13.12.2.59.9001")
    other = MoFactory(code="590002")
    _sites(mo)
    _fill(mo.pk, other.pk, N)
    run = run_open("tfoms_auto", mo=mo)
    ctx = SyncContext(run=run, owner=mo, today=timezone.localdate())
    started = time.perf_counter()
    listed = len(list(_attachments(ctx)))  # the family's own read and payloads alone, for the split
    listing = time.perf_counter() - started
    assert listed == N
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        family_sync(run=run, mo=mo, family=ATTACH)
    formed = time.perf_counter() - started
    run_finish(run)
    attachments = Package.objects.filter(run=run, package_type="PERSONATTACHDISTRICT")
    count = attachments.count()
    errors = attachments.exclude(status=PackageStatus.FORMED)
    assert count == N and not errors.exists(), errors.first().result if errors.exists() else ""
    payloads = list(attachments.values_list("payload", flat=True))
    bare_forming(payloads[:1000])  # warm the schema and the allocator
    bare = bare_forming(payloads)
    total = Package.objects.filter(run=run).count()
    stored = copy_limit(run.pk)
    print(
        f"\nFORMING BENCH (postgresql, {N:,} PERSONATTACHDISTRICT + {total - N} DISTRICT of one МО):\n"
        f"  bare lxml build + XSD validate + serialise: {bare:.1f} s ({N / bare:,.0f} packages/s)\n"
        f"  bare COPY of the same rows and log lines into twins of their tables: {stored:.1f} s\n"
        f"  family_sync (read, build, validate, store): {formed:.1f} s ({total / formed:,.0f} packages/s) "
        f"= {formed / bare:.1f}× bare lxml (target ≤ 4×), {formed / (bare + stored):.1f}× lxml + COPY\n"
        f"  of which the family's read of its objects and payloads (ORM): {listing:.1f} s\n"
        f"  queries: {len(queries)} for {total:,} packages = {len(queries) / total:.4f} per package (target ≤ 2)"
    )
