"""/api/v1/prophylaxis/ (C3, D2, D3): the page's actions without a browser, scoped (A4)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from prophylaxis.models import PlanExport, PlanPerson
from tests.factories import SmoFactory

P = PlanPerson.Status
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]


def test_plans_and_persons(enter, mo_admin_a, plan):
    client = enter(mo_admin_a)
    (row,) = client.get(reverse("api_plans")).json()
    assert row["kind"] == "ДВ1" and row["period"] == "IV квартал 2026" and row["counts"]["new"] == 3
    assert client.get(reverse("api_plans"), {"status": "error"}).json() == []
    assert client.get(reverse("api_plans"), {"status": "bogus"}).status_code == 400
    persons = client.get(reverse("api_plan_persons", args=[plan.pk])).json()
    assert {p["status_display"] for p in persons} == {"Новая"} and len(persons) == 3


def test_send_and_refusal_while_on_its_way(enter, mo_admin_a, plan):
    client = enter(mo_admin_a)
    sent = client.post(reverse("api_plan_send", args=[plan.pk]))
    assert sent.status_code == 200 and sent.json()["formed"] == 3
    assert sent.json()["archive"].startswith("S_DPM590001T59")
    again = client.post(reverse("api_plan_send", args=[plan.pk]))
    assert again.status_code == 409 and "ещё не обработан" in again.json()["detail"]


def test_export_one_file_and_zip_of_zips(enter, mo_admin_a, plan):
    client = enter(mo_admin_a)
    body = {"plans": [plan.pk], "month": 12, "year": 2026, "quarter": 4, "number": 1}
    one = client.post(reverse("api_plan_exports"), body, content_type="application/json")
    assert one.status_code == 200 and one["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(one.content)) as z:
        assert z.namelist() == ["PROF_M590001T59_26121.XML"]
    SmoFactory(code="59030")
    PlanPerson.objects.filter(pk=plan.persons.first().pk).update(smo=SmoFactory(code="59030"))
    both = client.post(
        reverse("api_plan_exports"),
        {**body, "number": 2, "smo": ["59021", "59030"]},
        content_type="application/json",
    )
    with zipfile.ZipFile(io.BytesIO(both.content)) as z:
        assert z.namelist() == ["PROF_M590001T59S59021_26122.zip", "PROF_M590001T59S59030_26122.zip"]
    nothing = client.post(reverse("api_plan_exports"), {**body, "number": 3}, content_type="application/json")
    assert nothing.status_code == 400 and nothing.json()["detail"] == "Нет записей для экспорта."
    bad = client.post(reverse("api_plan_exports"), {**body, "number": 12}, content_type="application/json")
    assert bad.status_code == 400 and "number" in bad.json()


def test_error_reply(enter, mo_admin_a, plan):
    client = enter(mo_admin_a)
    body = {"plans": [plan.pk], "month": 12, "year": 2026, "number": 1}
    client.post(reverse("api_plan_exports"), body, content_type="application/json")
    export = PlanExport.objects.get()
    xml = (
        f"<OSHIB_PR><VERSION>1.0</VERSION><DATA>2026-12-02</DATA><FNAME>ERR_1</FNAME>"
        f"<FNAME_I>{export.file_name}</FNAME_I></OSHIB_PR>"
    ).encode()
    upload = io.BytesIO(xml)
    upload.name = "ERR_1.xml"
    answer = client.post(reverse("api_plan_error_replies"), {"file": upload})
    assert answer.status_code == 200 and answer.json()["accepted"] == 3
    assert plan.persons.filter(status=P.ACCEPTED).count() == 3


def test_another_mo_gets_404(enter, mo_admin_b, plan):
    client = enter(mo_admin_b)
    assert client.get(reverse("api_plans")).json() == []
    assert client.get(reverse("api_plan_persons", args=[plan.pk])).status_code == 404
    assert client.post(reverse("api_plan_send", args=[plan.pk])).status_code == 404
    body = {"plans": [plan.pk], "month": 12, "year": 2026, "number": 1}
    assert client.post(reverse("api_plan_exports"), body, content_type="application/json").status_code == 404
    assert not PlanExport.objects.exists()


def test_statistician_cannot_send_nor_load_replies(enter, statistician_a, plan):
    client = enter(statistician_a)
    assert client.post(reverse("api_plan_send", args=[plan.pk])).status_code == 403
    assert client.post(reverse("api_plan_error_replies"), {}).status_code == 403


def test_export_quarter_is_one_of_the_forms(enter, mo_admin_a, plan):
    body = {"plans": [plan.pk], "month": 12, "year": 2026, "quarter": 1, "number": 1}
    answer = enter(mo_admin_a).post(reverse("api_plan_exports"), body, content_type="application/json")
    assert answer.status_code == 400 and "quarter" in answer.json()
