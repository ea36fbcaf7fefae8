"""The page "Планы диспансеризации и профилактических медицинских осмотров" (C3, D2, D3; manual
§4.5.2): plans and their persons, Отправить, the export form's rules, the error reply upload; another
МО's user gets 404 on every page and endpoint (A4)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from prophylaxis.models import PlanExport, PlanPerson
from servicelog.inbox import inbound_handle
from servicelog.relay import relay_run
from tfoms_portal import messaging

P = PlanPerson.Status
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]


def test_plans_page_lists_plans_with_counts_and_persons(enter, mo_admin_a, plan):
    client = enter(mo_admin_a)
    page = client.get(reverse("plans"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Дисп-ция взр. населения 1-ый этап" in text and "IV квартал 2026" in text
    pane = client.get(reverse("plan_persons", args=[plan.pk]))
    assert pane.status_code == 200 and pane.content.decode().count('data-testid="person-status"') == 3
    only_errors = client.get(reverse("plan_persons", args=[plan.pk]), {"status": "error"})
    assert "Записей в этом статусе нет" in only_errors.content.decode()


def test_sidebar_leads_to_the_plans(enter, statistician_a):
    page = enter(statistician_a).get(reverse("home"))
    assert reverse("plans") in page.content.decode()


def test_send_then_statuses_follow_the_exchange(enter, mo_admin_a, plan):
    client = enter(mo_admin_a)
    answer = client.post(reverse("plan_send", args=[plan.pk]), follow=True)
    assert "сформировано сообщений 3" in answer.content.decode()
    relay_run()
    messaging.get_backend().drain([messaging.queue_name(messaging.TO_MIS_ANSWER)], inbound_handle)
    pane = client.get(reverse("plan_persons", args=[plan.pk])).content.decode()
    assert pane.count('person-status">Принята ТФОМС') == 3
    again = client.post(reverse("plan_send", args=[plan.pk]), follow=True)
    assert "нет записей для отправки" in again.content.decode()


def test_statistician_may_not_send_nor_load_replies(enter, statistician_a, plan):
    client = enter(statistician_a)
    answer = client.post(reverse("plan_send", args=[plan.pk]), follow=True)
    assert "недоступна" in answer.content.decode()
    page = client.get(reverse("plans")).content.decode()
    assert 'data-testid="error-reply"' not in page
    upload = client.post(reverse("plan_error_reply"), {}, follow=True)
    assert "недоступна" in upload.content.decode()
    assert not PlanExport.objects.exists() and plan.persons.filter(status=P.NEW).count() == 3


def _form(plan, **values):
    data = {"plans": [plan.pk], "month": "12", "year": "2026", "quarter": "4", "number": "1"}
    data.update(values)
    return data


def test_export_form_defaults_and_result(enter, statistician_a, plan):
    client = enter(statistician_a)
    form = client.get(reverse("plan_export"), {"plans": plan.pk}).content.decode()
    assert 'value="Дисп-ция взр. населения 1-ый этап"' in form and 'value="IV квартал 2026"' in form
    result = client.post(reverse("plan_export"), _form(plan))
    text = result.content.decode()
    assert "Экспорт успешно завершён" in text and "Скачать и сохранить архив экспорта" in text
    export = PlanExport.objects.get()
    download = client.get(reverse("plan_exports_download"), {"ids": export.pk})
    assert download["Content-Disposition"].endswith('"PROF_M590001T59_26121.zip"')
    with zipfile.ZipFile(io.BytesIO(download.content)) as z:
        assert z.namelist() == ["PROF_M590001T59_26121.XML"]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"number": "10"}, "number"),
        ({"number": ""}, "number"),
        ({"month": "13"}, "month"),
        ({"year": "x"}, "year"),
    ],
)
def test_export_form_invalid_fields_are_marked(enter, mo_admin_a, plan, values, field):
    answer = enter(mo_admin_a).post(reverse("plan_export"), _form(plan, **values))
    text = answer.content.decode()
    assert answer.status_code == 400
    assert "Не все поля формы заполнены корректно" in text and 'class="invalid"' in text
    assert answer.context["form"].errors[field]
    assert not PlanExport.objects.exists()


def test_export_number_once_per_period_and_nothing_to_export(enter, mo_admin_a, plan):
    client = enter(mo_admin_a)
    client.post(reverse("plan_export"), _form(plan))
    taken = client.post(reverse("plan_export"), _form(plan))
    assert "уже выгружен" in taken.content.decode() and taken.status_code == 400
    empty = client.post(reverse("plan_export"), _form(plan, number="2"))
    assert "Нет записей для экспорта" in empty.content.decode()


def test_error_reply_upload(enter, mo_admin_a, plan):
    client = enter(mo_admin_a)
    client.post(reverse("plan_export"), _form(plan))
    export = PlanExport.objects.get()
    first = plan.persons.order_by("pk").first()
    xml = (
        f'<?xml version="1.0" encoding="windows-1251"?><OSHIB_PR><VERSION>1.0</VERSION>'
        f"<DATA>2026-12-02</DATA>"
        f"<FNAME>ERR_1</FNAME><FNAME_I>{export.file_name}</FNAME_I><ZAP_OSHIB><OSHIB>12</OSHIB>"
        f"<NOMER_Z>{first.pk}</NOMER_Z><COMMENT>Нет в регистре</COMMENT></ZAP_OSHIB></OSHIB_PR>"
    ).encode("cp1251")
    upload = io.BytesIO(xml)
    upload.name = "ERR_1.xml"
    answer = client.post(reverse("plan_error_reply"), {"file": upload}, follow=True)
    assert "принято записей 2, с ошибками 1" in answer.content.decode()
    bad = io.BytesIO(b"<x/>")
    bad.name = "reply.xml"
    refused = client.post(reverse("plan_error_reply"), {"file": bad}, follow=True)
    assert "в имени файла нет «ERR»" in refused.content.decode()


def test_another_mo_gets_404_everywhere(enter, mo_admin_b, mo_admin_a, plan):
    enter(mo_admin_a).post(reverse("plan_export"), _form(plan))
    export = PlanExport.objects.get()
    client = enter(mo_admin_b)
    assert client.get(reverse("plans"), {"plan": plan.pk}).status_code == 404
    assert client.get(reverse("plan_persons", args=[plan.pk])).status_code == 404
    assert client.post(reverse("plan_send", args=[plan.pk])).status_code == 404
    assert client.get(reverse("plan_export"), {"plans": plan.pk}).status_code == 404
    assert client.post(reverse("plan_export"), _form(plan, number="5")).status_code == 404
    assert client.get(reverse("plan_exports_download"), {"ids": export.pk}).status_code == 404
    assert "Дисп-ция взр." not in client.get(reverse("plans")).content.decode()
    assert plan.persons.filter(status=P.SENT).count() == 3  # nothing changed by B


def test_dc_admin_sees_every_mo_with_a_filter(enter, dc_admin, plan, mo_b):
    client = enter(dc_admin)
    assert "Дисп-ция взр." in client.get(reverse("plans")).content.decode()
    assert "Дисп-ция взр." not in client.get(reverse("plans"), {"mo": mo_b.code}).content.decode()


def test_export_without_a_ticked_plan_or_across_mo_says_why(enter, dc_admin, plan, mo_b):
    from tests.factories import make_plan

    client = enter(dc_admin)
    none = client.get(reverse("plan_export"), follow=True).content.decode()
    assert "Отметьте в списке планы для экспорта" in none
    other = make_plan(mo_b)
    mixed = client.get(reverse("plan_export"), {"plans": [plan.pk, other.pk]}, follow=True).content.decode()
    assert "Планы разных МО выгружаются отдельно" in mixed


def test_the_journal_says_where_plan_packages_come_from(enter, mo_admin_a):
    page = enter(mo_admin_a).get("/journal/", {"service": "dispplan_exchange"}).content.decode()
    assert "формируются кнопкой «Отправить»" in page and "Заданий у сервиса пока нет" not in page


def test_package_data_shows_the_planned_event_readably(enter, mo_admin_a, plan):
    from servicelog.models import Package

    enter(mo_admin_a).post(reverse("plan_send", args=[plan.pk]))
    package = Package.objects.filter(package_type="DISPPLAN").first()
    page = enter(mo_admin_a).get(reverse("journal_package", args=[package.pk])).content.decode()
    assert "PERIOD: 4" in page and "DISP: ДВ1" in page  # jsonb keeps no key order: either way round
    assert "{&#x27;" not in page
