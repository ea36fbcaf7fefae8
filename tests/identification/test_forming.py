"""Selecting people and writing request files (B2, B3; formats §1.1–§1.3)."""

from __future__ import annotations

import datetime as dt

import pytest

from identification.formats import REQUEST_FIELDS
from identification.models import IdentificationRecord, RecordStatus
from identification.services import ident_packages_form, out_dir
from registry.models import Person, TreatmentCase
from servicelog.models import RunResult
from servicelog.services import service_execute
from tests.factories import AttachmentFactory, CaseFactory, PersonFactory, PolicyFactory
from tfoms_portal.formats.dbf import read_dbf

from .conftest import queued_person, request_rows

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 26)


def test_request_file_has_the_15_fields_in_order_cp866(package):
    table = read_dbf(bytes(package.request_file))
    assert [f.spec for f in table.fields] == REQUEST_FIELDS
    assert table.language_byte == 0x65 and table.encoding == "cp866"
    assert package.name == "590001_26112026_1" and package.file_name == "590001_26112026_1.DBF"
    rows = request_rows(package)
    assert [r["FAM"] for r in rows] == ["ИВАНОВ", "ПЕТРОВ", "СИДОРОВ"]
    first = rows[0]
    assert first["SS"].count("-") == 2 and len(first["SS"]) == 14
    assert first["C_DOC"] == 14 and first["S_DOC"] == "5704" and first["OPDOC"] == 3
    assert first["DIN"] == first["DOUT"] == TODAY
    assert (out_dir() / "590001_26112026_1.DBF").read_bytes() == bytes(package.request_file)


def test_queue_is_cleared_and_records_kept(package):
    assert not Person.objects.filter(identification_requested_at__isnull=False).exists()
    records = package.records.order_by("row_number")
    assert [r.row_number for r in records] == [1, 2, 3]
    assert {r.status for r in records} == {RecordStatus.WAITING}
    assert records[0].source == "new_person" and records[0].request["FAM"] == "ИВАНОВ"


def test_at_most_200_records_per_file_and_numbered_names(mo_a, settings):
    settings.IDENT_RECORDS_PER_FILE = 2
    for name in ("А", "Б", "В"):
        queued_person(mo_a, last_name=name)
    packages = ident_packages_form(run=None, mo=mo_a, today=TODAY)
    assert [p.name for p in packages] == ["590001_26112026_1", "590001_26112026_2"]
    assert [p.records.count() for p in packages] == [2, 1]
    queued_person(mo_a, last_name="Г")
    (later,) = ident_packages_form(run=None, mo=mo_a, today=TODAY)
    assert later.name == "590001_26112026_3"
    assert settings.IDENT_RECORDS_PER_FILE == 2


def test_incomplete_person_gets_the_error_and_no_file_row(mo_a):
    bare = PersonFactory(last_name="Безданных", snils="")
    AttachmentFactory(person=bare, mo=mo_a)
    from registry.services import person_identification_request

    person_identification_request(person=bare, reason="manual", mo=mo_a)
    queued_person(mo_a, last_name="Полный")
    (package,) = ident_packages_form(run=None, mo=mo_a, today=TODAY)
    record = IdentificationRecord.objects.get(person=bare)
    assert record.status == RecordStatus.INCOMPLETE and record.row_number is None
    assert record.error_text == "Ошибка. Не все необходимые данные заполнены"
    assert [r["FAM"] for r in request_rows(package)] == ["ПОЛНЫЙ"]


def test_yesterdays_oms_cases_without_a_valid_policy(mo_a, mo_b):
    yesterday = TODAY - dt.timedelta(days=1)
    uninsured = PersonFactory(last_name="Беспол")
    CaseFactory(person=uninsured, mo=mo_a, date_begin=yesterday, date_end=TODAY, number="C-1")
    insured = PersonFactory(last_name="Споли")
    PolicyFactory(person=insured, valid_from=dt.date(2020, 1, 1))
    CaseFactory(person=insured, mo=mo_a, date_begin=yesterday)
    paid = PersonFactory(last_name="Платный")
    CaseFactory(person=paid, mo=mo_a, date_begin=yesterday, payment=TreatmentCase.Payment.OTHER)
    old = PersonFactory(last_name="Давний")
    CaseFactory(person=old, mo=mo_a, date_begin=yesterday - dt.timedelta(days=3))
    expired = PersonFactory(last_name="Истёкший")
    PolicyFactory(person=expired, valid_from=dt.date(2020, 1, 1), valid_to=yesterday)
    CaseFactory(person=expired, mo=mo_a, date_begin=yesterday, date_end=TODAY)  # ends after the policy
    (package,) = ident_packages_form(run=None, mo=mo_a, today=TODAY)
    records = {r.person.last_name: r for r in package.records.select_related("person")}
    assert set(records) == {"Беспол", "Истёкший"}
    case_record = records["Беспол"]
    assert case_record.treatment_case.number == "C-1" and case_record.source == "treatment_case"
    assert (case_record.period_from, case_record.period_to) == (yesterday, TODAY)
    rows = {r["FAM"]: r for r in request_rows(package)}
    assert rows["БЕСПОЛ"]["DIN"] == yesterday and rows["БЕСПОЛ"]["DOUT"] == TODAY
    assert ident_packages_form(run=None, mo=mo_a, today=TODAY) == []  # a case goes once


def test_formation_is_a_run_in_the_journal(mo_a):
    queued_person(mo_a, last_name="Журналов")
    run = service_execute("ident_batch", mo=mo_a)
    assert run.result == RunResult.SUCCESS
    assert run.log.filter(message__startswith="Сформирован пакет 590001_").exists()


def test_nothing_to_identify_forms_nothing(mo_a):
    assert ident_packages_form(run=None, mo=mo_a, today=TODAY) == []


def test_a_person_saved_new_is_queued_for_identification(enter, dc_admin):
    client = enter(dc_admin)
    response = client.post(
        "/admin/registry/person/add/",
        {
            "last_name": "Новиков",
            "first_name": "Николай",
            "middle_name": "",
            "birth_date": "1990-01-02",
            "sex": "1",
            "snils": "",
            "birth_place": "",
            "soc_status": "",
            "documents-TOTAL_FORMS": "0",
            "documents-INITIAL_FORMS": "0",
            "policies-TOTAL_FORMS": "0",
            "policies-INITIAL_FORMS": "0",
            "attachments-TOTAL_FORMS": "0",
            "attachments-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    person = Person.objects.get(last_name="Новиков")
    assert person.identification_request_reason == Person.IdentificationReason.NEW_PERSON
    assert person.identification_request_mo == dc_admin.mo and person.identification_requested_at is not None
