"""Dispensary observation (C5) and PERSCANCER (C7): packages per formats §5, validated against our
XSD, answered by the emulator in process, accepted and rejected; bad cards; the card section; API."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

import tfoms_emulator
from prophylaxis.formats import DISP_XSD, DISPOUT_XSD, PERSCANCER_XSD
from prophylaxis.models import DispensaryCard, DispensaryVisit
from servicelog.inbox import inbound_handle
from servicelog.models import LogEntry, Package, PackageStatus, RunResult
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.factories import DispensaryCardFactory, PolicyFactory, StaffFactory
from tfoms_portal import messaging
from tfoms_portal.formats.xml import load_schema, validate

S = PackageStatus
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]


def exchange(mo=None):
    run = service_execute("tfoms_auto", mo=mo)
    relay_run()
    messaging.get_backend().drain([messaging.queue_name(messaging.TO_MIS_ANSWER)], inbound_handle)
    return run


def packages(package_type: str, **filters) -> list[Package]:
    return list(Package.objects.filter(package_type=package_type, **filters).order_by("sequence"))


@pytest.fixture
def card(mo_a):
    card = DispensaryCardFactory(mo=mo_a, diagnosis="E11.9")
    PolicyFactory(person=card.person, enp="5956410834000014", valid_from=dt.date(2015, 1, 1))
    DispensaryVisit.objects.create(card=card, planned_date=dt.date(2027, 2, 1))
    DispensaryVisit.objects.create(card=card, planned_date=dt.date(2027, 5, 1))
    return card


def test_disp_insert_is_valid_and_accepted(mo_a, card):
    run = exchange(mo_a)
    assert run.result == RunResult.SUCCESS
    (disp,) = packages("DISP")
    assert disp.status == S.ACCEPTED and disp.operation == "Insert"
    root = etree.fromstring(disp.body.encode())
    assert validate(root, load_schema(DISP_XSD)) == []
    assert root.findtext("HEADER/CODE_MO") == "590001" and root.findtext("HEADER/DISP_ID") == str(card.pk)
    assert root.findtext("BODY/BDZ_ID") == str(card.person.fund_person_id)
    assert root.findtext("BODY/DS") == "E11.9" and root.findtext("BODY/ATTACH_DISP_TYPE") == "1"
    assert [e.text for e in root.findall("BODY/DATES/PLAN_DATE")] == ["2027-02-01", "2027-05-01"]
    assert root.findtext("BODY/NPOLIS") == "5956410834000014"
    assert disp.enp == "5956410834000014"  # searchable by person in the journal (E5)
    assert not packages("PERSCANCER")  # E11.9 is no neoplasm


def test_a_changed_card_is_an_update_and_an_unchanged_one_sends_nothing(mo_a, card):
    exchange(mo_a)
    exchange(mo_a)
    assert len(packages("DISP")) == 1
    DispensaryVisit.objects.create(card=card, planned_date=dt.date(2027, 8, 1))
    exchange(mo_a)
    assert [p.operation for p in packages("DISP")] == ["Insert", "Update"]
    assert packages("DISP")[-1].status == S.ACCEPTED


def test_removal_goes_only_after_the_disp_was_accepted(mo_a, card):
    card.date_out, card.result_out = dt.date(2025, 6, 1), DispensaryCard.ResultOut.RECOVERY
    card.save()
    run = exchange(mo_a)  # never told: the taking goes first, the removal waits for its acceptance
    assert packages("DISP")[0].status == S.ACCEPTED and not packages("DISPOUT")
    assert run.log.filter(
        level="warning", message__startswith="Снятий с диспансерного наблюдения, ожидающих, пока ТФОМС примет"
    ).exists()
    exchange(mo_a)
    (out,) = packages("DISPOUT")
    assert out.status == S.ACCEPTED
    root = etree.fromstring(out.body.encode())
    assert validate(root, load_schema(DISPOUT_XSD)) == []
    assert root.findtext("BODY/DATE_OUT") == "2025-06-01" and root.findtext("BODY/RESULT_OUT") == "1"
    exchange(mo_a)
    assert len(packages("DISP")) == 1 and len(packages("DISPOUT")) == 1  # ending changes no DISP


def test_ending_a_card_the_fund_knows_sends_dispout(mo_a, card):
    exchange(mo_a)
    card.date_out, card.result_out = dt.date(2026, 1, 10), DispensaryCard.ResultOut.MOVED
    card.save()
    exchange(mo_a)
    assert [p.status for p in packages("DISPOUT")] == [S.ACCEPTED]
    assert len(packages("DISP")) == 1


def test_a_reopened_card_withdraws_its_removal(mo_a, card):
    exchange(mo_a)
    DispensaryCard.objects.filter(pk=card.pk).update(date_out=dt.date(2026, 1, 10), result_out=1)
    exchange(mo_a)
    DispensaryCard.objects.filter(pk=card.pk).update(date_out=None, result_out=None)  # removed by mistake
    exchange(mo_a)
    assert [(p.operation, p.status) for p in packages("DISPOUT")] == [
        ("Insert", S.ACCEPTED),
        ("Delete", S.ACCEPTED),
    ]
    assert len(packages("DISP")) == 1  # the taking is what the fund has again


def test_a_deleted_ended_card_withdraws_the_removal_before_the_taking(mo_a, card):
    exchange(mo_a)
    DispensaryCard.objects.filter(pk=card.pk).update(date_out=dt.date(2026, 1, 10), result_out=1)
    exchange(mo_a)
    card.visits.all().delete()
    card.delete()
    exchange(mo_a)
    deletes = Package.objects.filter(operation="Delete").order_by("sequence")
    assert [(p.package_type, p.status) for p in deletes] == [("DISPOUT", S.ACCEPTED), ("DISP", S.ACCEPTED)]


def test_a_change_while_the_insert_is_on_its_way_is_an_update(mo_a, card):
    service_execute("tfoms_auto", mo=mo_a)
    relay_run()  # sent, the fund has not answered yet
    DispensaryVisit.objects.create(card=card, planned_date=dt.date(2027, 11, 1))
    exchange(mo_a)
    assert [(p.operation, p.status) for p in packages("DISP")] == [
        ("Insert", S.ACCEPTED),
        ("Update", S.ACCEPTED),
    ]


def test_a_deleted_card_is_a_delete(mo_a, card):
    exchange(mo_a)
    card.visits.all().delete()
    card.delete()
    exchange(mo_a)
    delete = packages("DISP")[-1]
    assert delete.operation == "Delete" and delete.status == S.ACCEPTED
    assert etree.fromstring(delete.body.encode()).find("BODY") is None


def test_perscancer_for_a_malignant_neoplasm(mo_a, card):
    card.diagnosis = "C50.9"
    card.save()
    exchange(mo_a)
    (cancer,) = packages("PERSCANCER")
    assert cancer.status == S.ACCEPTED
    root = etree.fromstring(cancer.body.encode())
    assert validate(root, load_schema(PERSCANCER_XSD)) == []
    assert root.findtext("HEADER/REG_ID") == str(card.pk) and root.findtext("BODY/DS") == "C50.9"
    card.diagnosis = "D48.1"  # no longer C00–C97 / D00–D09: the fund is told to forget it
    card.save()
    exchange(mo_a)
    assert [p.operation for p in packages("PERSCANCER")] == ["Insert", "Delete"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"doctor": None}, "Пакет не сформирован: не указан СНИЛС врача"),
        ({"diagnosis": ""}, "Пакет не сформирован: не указан диагноз"),
        ({"date_in": None}, "Пакет не сформирован: не указана дата взятия под наблюдение"),
    ],
)
def test_an_incomplete_card_is_a_form_error_naming_the_field(mo_a, card, change, message):
    DispensaryCard.objects.filter(pk=card.pk).update(**change)
    run = exchange(mo_a)
    (disp,) = packages("DISP")
    assert disp.status == S.FORM_ERROR and disp.result == message
    assert run.result == RunResult.ERROR
    exchange(mo_a)
    assert len(packages("DISP")) == 1  # unchanged: not formed again
    DispensaryCard.objects.filter(pk=card.pk).update(
        doctor=StaffFactory(mo=mo_a), diagnosis="I10", date_in=dt.date(2024, 1, 1)
    )
    exchange(mo_a)
    assert [p.status for p in packages("DISP")] == [S.FORM_ERROR, S.ACCEPTED]


def test_doctor_without_snils_is_a_form_error(mo_a, card):
    StaffFactory._meta.model.objects.filter(pk=card.doctor_id).update(snils="")
    exchange(mo_a)
    assert packages("DISP")[0].result == "Пакет не сформирован: не указан СНИЛС врача"


def test_a_person_without_the_fund_id_is_named_on_the_run(mo_a, card):
    type(card.person).objects.filter(pk=card.person_id).update(fund_person_id=None)
    run = exchange(mo_a)
    assert not packages("DISP")
    line = run.log.get(level=LogEntry.Level.WARNING)
    assert "без идентификатора в РС ЕРЗ (BDZ_ID): 1" in line.message and f"(№ {card.pk})" in line.message


def test_the_fund_refuses_an_unknown_person(mo_a, card):
    tfoms_emulator.default_emulator().register_persons({1})
    exchange(mo_a)
    (disp,) = packages("DISP")
    assert disp.status == S.REJECTED_BY_FUND
    assert f"застрахованное лицо {card.person.fund_person_id} не найдено в РС ЕРЗ" in disp.result


def test_the_fund_refuses_a_diagnosis_not_in_icd10_form(mo_a, card):
    DispensaryCard.objects.filter(pk=card.pk).update(diagnosis="110")  # typed in by hand, no validation
    exchange(mo_a)
    assert packages("DISP")[0].status == S.REJECTED_BY_FUND
    assert "диагноз «110» не в форме МКБ-10" in packages("DISP")[0].result


def test_the_fund_refuses_a_removal_before_the_taking(mo_a, card):
    exchange(mo_a)
    DispensaryCard.objects.filter(pk=card.pk).update(date_out=dt.date(2020, 1, 1), result_out=4)
    exchange(mo_a)
    (out,) = packages("DISPOUT")
    assert out.status == S.REJECTED_BY_FUND and "раньше DATE_IN" in out.result


def test_another_mo_in_the_region_run_keeps_its_own(mo_a, mo_b, card):
    DispensaryCardFactory(mo=mo_b)
    exchange()
    assert sorted(p.mo.code for p in packages("DISP")) == ["590001", "590002"]


# --- the person's card and the API (A4) ---------------------------------------------------------


def test_the_person_card_shows_cards_with_their_exchange_state(enter, mo_admin_a, card):
    exchange(card.mo)
    html = enter(mo_admin_a).get(f"/persons/{card.person_id}/").content.decode()
    assert "Диспансерное наблюдение" in html and "E11.9" in html and "Принят ТФОМС" in html


def test_api_lists_cards_with_their_last_package(enter, mo_admin_a, card):
    exchange(card.mo)
    closed = DispensaryCardFactory(mo=card.mo, person=card.person, date_out=dt.date(2025, 1, 1), result_out=1)
    client = enter(mo_admin_a)
    data = client.get("/api/v1/dispensary/cards/", {"person": card.person_id}).json()
    assert [c["id"] for c in data] == [card.pk, closed.pk]
    assert data[0]["last_package"]["status_display"] == "Принят ТФОМС"
    assert data[0]["planned_visits"] == ["2027-02-01", "2027-05-01"]
    assert data[1]["last_package"] is None
    opened = client.get("/api/v1/dispensary/cards/", {"status": "open"}).json()
    assert [c["id"] for c in opened] == [card.pk]
    assert client.get("/api/v1/dispensary/cards/", {"status": "нет"}).status_code == 400


def test_another_mo_sees_no_card_and_gets_404_for_the_person(enter, mo_admin_b, card):
    client = enter(mo_admin_b)
    assert client.get("/api/v1/dispensary/cards/").json() == []
    assert client.get("/api/v1/dispensary/cards/", {"person": card.person_id}).status_code == 404
    assert client.get(f"/persons/{card.person_id}/").status_code == 404


def test_a_cancer_card_shows_both_states(enter, mo_admin_a, card):
    DispensaryCard.objects.filter(pk=card.pk).update(diagnosis="C61")
    exchange(card.mo)
    (data,) = enter(mo_admin_a).get("/api/v1/dispensary/cards/").json()
    assert data["last_package"]["package_type"] == "DISP"
    assert data["cancer_package"]["package_type"] == "PERSCANCER"


def test_the_dc_admin_sees_every_mo(enter, dc_admin, card, mo_b):
    DispensaryCardFactory(mo=mo_b)
    assert len(enter(dc_admin).get("/api/v1/dispensary/cards/").json()) == 2


def test_the_card_says_why_a_card_is_not_sent(enter, mo_admin_a, card):
    type(card.person).objects.filter(pk=card.person_id).update(fund_person_id=None)
    exchange(card.mo)
    html = enter(mo_admin_a).get(f"/persons/{card.person_id}/").content.decode()
    assert f"№ {card.pk}" in html and "нет идентификатора в РС ЕРЗ (BDZID), нужна идентификация" in html
