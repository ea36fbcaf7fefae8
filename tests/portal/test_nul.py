"""A NUL character (%00) in any search parameter is a 400 with a Russian message, never a 500
(issue 19 item 5): pages and API alike, on every parameter the probe found."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

URLS = [
    "/api/v1/servicelog/packages/?q=a%00b",
    "/api/v1/servicelog/packages/?text=%00",
    "/api/v1/servicelog/packages/?type=DISTRICT%00",
    "/api/v1/servicelog/runs/?service=tfoms_auto%00",
    "/journal/search/?q=%00",
    "/journal/?service=%00",
    "/persons/?fio=%00",
    "/api/v1/prophylaxis/plans/?status=%00",
]


@pytest.mark.parametrize("url", URLS)
def test_nul_in_a_query_is_refused_with_400(enter, dc_admin, url):
    answer = enter(dc_admin).get(url)
    assert answer.status_code == 400
    assert "недопустимый символ" in answer.content.decode()


def test_nul_in_a_form_field_is_refused(enter, mo_admin_a):
    answer = enter(mo_admin_a).post("/plans/export/", {"plans": "1", "number": "1\x00"})
    assert answer.status_code == 400 and "недопустимый символ" in answer.content.decode()


def test_api_answer_is_json(enter, dc_admin):
    answer = enter(dc_admin).get("/api/v1/servicelog/packages/?q=%00")
    assert answer.json()["detail"].startswith("Запрос содержит недопустимый символ")
