"""bulk_update_fast writes what bulk_update would, JSON and dates included (one statement per batch)."""

import datetime as dt

import pytest

from identification.models import IdentificationPackage, IdentificationRecord
from tests.factories import MoFactory, PersonFactory
from tfoms_portal.db import bulk_update_fast

pytestmark = pytest.mark.django_db


def test_fields_of_every_row_are_updated(django_assert_max_num_queries):
    package = IdentificationPackage.objects.create(
        name="p", mo=MoFactory(), formed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    records = [
        IdentificationRecord.objects.create(
            package=package,
            person=PersonFactory(),
            source="manual",
            period_from=dt.date(2026, 1, 1),
            period_to=dt.date(2026, 1, 1),
            status="waiting",
            status_date=dt.date(2026, 1, 1),
            request={},
        )
        for _ in range(3)
    ]
    for n, record in enumerate(records):
        record.status = "identified" if n else "not_identified"
        record.status_date = dt.date(2026, 2, n + 1)
        record.error_codes = [f"E{n}"]
        record.response_row = {"ROW": n, "ТЕКСТ": "да"}
    with django_assert_max_num_queries(2):
        bulk_update_fast(records, ["status", "status_date", "error_codes", "response_row"])
    got = {r.pk: r for r in IdentificationRecord.objects.all()}
    for n, record in enumerate(records):
        fresh = got[record.pk]
        assert (fresh.status, fresh.status_date, fresh.error_codes, fresh.response_row) == (
            record.status,
            dt.date(2026, 2, n + 1),
            [f"E{n}"],
            {"ROW": n, "ТЕКСТ": "да"},
        )
