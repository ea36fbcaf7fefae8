"""Issue 15 item 6: a reversed or impossible period typed by hand gets a message and keeps what was
typed — never a silent correction or an empty result."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tfoms_portal.dates import typed_period

pytestmark = pytest.mark.django_db
REVERSED = {"date_from": "2026-11-30", "date_to": "2026-11-01"}


def test_the_parser_says_what_is_wrong():
    assert typed_period("31.02.2026", "").error.startswith("Неверная дата «31.02.2026» в поле «с»")
    assert "позже его окончания" in typed_period("30.11.2026", "2026-11-01").error
    ok = typed_period("01.11.2026", "2026-11-30")
    assert not ok.error and ok.input_from == "2026-11-01" and ok.input_to == "2026-11-30"


def test_identification_says_a_reversed_period_and_keeps_it(enter, mo_admin_a):
    html = enter(mo_admin_a).get("/identification/", {"mode": "month", **REVERSED}).content.decode()
    assert "Начало периода (30.11.2026) позже его окончания (01.11.2026)" in html
    assert 'name="date_from" value="2026-11-30"' in html and 'name="date_to" value="2026-11-01"' in html
    assert "За период пакетов нет" not in html  # not an empty list of some other period


def test_package_search_says_a_reversed_period_and_searches_nothing(enter, mo_admin_a):
    html = enter(mo_admin_a).get("/journal/search/", {"q": "Иванов", **REVERSED}).content.decode()
    assert 'data-testid="period-error"' in html and "позже его окончания" in html
    assert 'value="2026-11-30"' in html and "Найдено:" not in html


def test_audit_says_an_impossible_date_and_keeps_it(enter, dc_admin):
    html = enter(dc_admin).get("/audit/", {"date_from": "31.02.2026"}).content.decode()
    assert "Неверная дата «31.02.2026» в поле «с»" in html and 'value="31.02.2026"' in html


def test_the_packages_api_answers_400(enter, mo_admin_a):
    enter(mo_admin_a)
    client = APIClient()
    client.force_authenticate(mo_admin_a.user)
    response = client.get("/api/v1/servicelog/packages/", REVERSED)
    assert response.status_code == 400 and "позже его окончания" in str(response.json())
