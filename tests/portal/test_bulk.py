"""tfoms_portal.db.bulk_insert: forming writes its packages with COPY on PostgreSQL (issue 10 item 6).
What goes in must come back exactly — text with the characters COPY escapes, JSON, NULLs, auto_now_add — and
the rows get their ids like bulk_create's."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from servicelog.models import LogEntry, Package, PackageStatus, Service
from tfoms_portal.db import bulk_insert

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

AWKWARD = "Иванов\tИван\\n\nстрока\r\\конец «кавычки» 'и' \"ещё\""


def _package(n: int, service: Service) -> Package:
    return Package(
        uuid=f"00000000-0000-0000-0000-{n:012d}",
        service=service,
        package_type="DISTRICT",
        operation="Insert",
        status=PackageStatus.FORMED,
        result=AWKWARD,
        object_id=str(n),
        payload={"FAM": AWKWARD, "LIST": [1, None, "a\tb"], "EMPTY": ""},
        body="<?xml version='1.0'?>\n<A>\\</A>",
        content_hash="h",
        enp="",
        fio=AWKWARD[:200],
    )


def test_bulk_insert_round_trips_what_copy_escapes():
    service = Service.objects.get(code="tfoms_auto")
    with CaptureQueriesContext(connection) as queries:
        saved = bulk_insert(Package, [_package(n, service) for n in range(3)])
    assert len(queries) == 2  # the ids, then one COPY (counted like any statement)
    assert len({p.pk for p in saved}) == 3 and all(p.pk for p in saved)
    for package in saved:
        stored = Package.objects.get(pk=package.pk)
        assert stored.result == AWKWARD and stored.fio == AWKWARD
        assert stored.payload == {"FAM": AWKWARD, "LIST": [1, None, "a\tb"], "EMPTY": ""}
        assert stored.body == "<?xml version='1.0'?>\n<A>\\</A>"
        assert stored.run_id is None and stored.next_attempt_at is None  # NULLs stay NULL
        assert stored.created_at is not None and stored.do_not_send is False
    entries = bulk_insert(LogEntry, [LogEntry(package=saved[0], message="готово")])
    assert LogEntry.objects.get(pk=entries[0].pk).package_id == saved[0].pk


def test_bulk_insert_is_all_or_nothing():
    service = Service.objects.get(code="tfoms_auto")
    duplicate = [_package(7, service), _package(7, service)]  # the same uuid twice: unique violated
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 — psycopg2's UniqueViolation
        bulk_insert(Package, [_package(6, service), *duplicate])
    assert not Package.objects.filter(object_id__in=["6", "7"]).exists()
