"""CHECKPERS, PERSCHANGE, DOUBLES, IDLEPERSONS (C7; formats §6), and where the fund's packages are
seen: the journal's standing run, the package with our answer, search, the card, МО scoping."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from audit.models import AuditAction, AuditEvent
from registry.models import FundMerge, Person
from servicelog.models import PackageStatus, ServiceRun
from tests.factories import (
    AttachmentFactory,
    DocumentFactory,
    PersonFactory,
    PolicyFactory,
    SmoFactory,
    fund_person,
)

from .fund_samples import (
    by_bdzid_xml,
    doubles_xml,
    idlepersons_xml,
    our_answer,
    person_xml,
    polis_xml,
    receive,
)
from .test_fund_polis import answer_root, assert_processed, assert_rejected

S = PackageStatus
pytestmark = pytest.mark.django_db


def test_checkpers_is_answered_with_the_person_and_policies_as_we_hold_them():
    person = PersonFactory(fund_person_id=7001, snils="11223344595")
    DocumentFactory(person=person, series="5704", number="123456")
    policy = PolicyFactory(person=person, valid_from=dt.date(2020, 1, 1))
    package = receive("CHECKPERS", by_bdzid_xml(7001))
    assert_processed(package)
    root = answer_root(package)  # valid against answer.xsd
    assert root.findtext("BODY/PERSON/PERSON_ID") == str(person.pk)
    assert root.findtext("BODY/PERSON/BDZ_ID") == "7001"
    assert root.findtext("BODY/PERSON/FAM") == person.last_name
    assert root.findtext("BODY/PERSON/DOCNUM") == "123456"
    assert root.findtext("BODY/PERSON/ENP") == policy.enp
    assert root.findtext("BODY/PERSON/POLIS_DATA/POLISBEGDT") == "2020-01-01T00:00:00"
    package.refresh_from_db()
    assert package.reply["PERSON"]["FAM"] == person.last_name  # shown as "Ответ" on the package


def test_checkpers_of_an_unknown_person_is_answered_error():
    assert_rejected(receive("CHECKPERS", by_bdzid_xml(424242)), "BDZID=424242", "не найден")


def test_perschange_marks_and_requeries_until_identification_answers(mo_a):
    person = PersonFactory(fund_person_id=7001)
    AttachmentFactory(person=person, mo=mo_a)
    assert_processed(receive("PERSCHANGE", by_bdzid_xml(7001)))
    person.refresh_from_db()
    assert person.fund_changed_at is not None
    assert (person.identification_request_reason, person.identification_request_mo) == (
        Person.IdentificationReason.FUND,
        mo_a,
    )
    assert person.fund_person_id == 7001  # the id is still the fund's; only the data changed


def test_doubles_gives_the_kept_id_to_the_holder_of_the_merged_one():
    person = PersonFactory(fund_person_id=7002)
    assert_processed(receive("DOUBLES", doubles_xml(kept=7001, merged=7002)))
    person.refresh_from_db()
    assert person.fund_person_id == 7001
    assert FundMerge.objects.get().outcome == FundMerge.Outcome.REPLACED


def test_doubles_with_both_persons_here_lists_them_and_merges_nothing(enter, dc_admin, mo_admin_a):
    kept, duplicate = PersonFactory(fund_person_id=7001), PersonFactory(fund_person_id=7002)
    assert_processed(receive("DOUBLES", doubles_xml(kept=7001, merged=7002)))
    kept.refresh_from_db(), duplicate.refresh_from_db()
    assert (kept.fund_person_id, duplicate.fund_person_id) == (7001, 7002)
    merge = FundMerge.objects.get()
    assert (merge.outcome, merge.person, merge.duplicate) == (
        FundMerge.Outcome.POSSIBLE_DUPLICATE,
        kept,
        duplicate,
    )
    page = enter(dc_admin).get("/persons/merges/").content.decode()
    assert "Объединённые записи ТФОМС" in page
    viewed = AuditEvent.objects.filter(action=AuditAction.PERSON_VIEWED).last()
    assert viewed is not None and sorted(viewed.details["persons"]) == sorted([kept.pk, duplicate.pk])
    assert page.count('data-testid="merge-person"') == 2
    assert kept.full_name in page and duplicate.full_name in page
    refused = enter(mo_admin_a).get("/persons/merges/", follow=True).content.decode()
    assert "Эта форма недоступна в вашем АРМ" in refused and duplicate.full_name not in refused


def test_doubles_about_nobody_here_is_recorded_and_answered_ok():
    assert_processed(receive("DOUBLES", doubles_xml(kept=7001, merged=7002)))
    assert FundMerge.objects.get().outcome == FundMerge.Outcome.NOTHING


@pytest.mark.parametrize(
    ("pr_fni", "birth", "status"),
    [(1, dt.date(1985, 3, 15), "5"), (0, dt.date(1985, 3, 15), "2"), (1, dt.date(1950, 3, 15), "6")],
)
def test_idlepersons_sets_the_social_status(pr_fni, birth, status):
    person = PersonFactory(fund_person_id=7001, last_name="Иванов", birth_date=birth, soc_status="")
    assert_processed(receive("IDLEPERSONS", idlepersons_xml(7001, pr_fni=pr_fni, dr=birth)))
    person.refresh_from_db()
    assert person.soc_status == status


def test_an_xsd_invalid_package_of_each_type_is_rejected():
    for package_type in ("CHECKPERS", "PERSCHANGE", "DOUBLES", "IDLEPERSONS"):
        package = receive(package_type, "<PKG><HEADER><OPERATIONTYPE>Insert</OPERATIONTYPE></HEADER></PKG>")
        assert package.status == S.REJECTED
        assert etree.fromstring(our_answer(package).body.encode()).findtext("BODY/RESULTS/RESULT") == "ERROR"


# --- where they are seen -------------------------------------------------------------------------


@pytest.fixture
def attached(mo_a):
    SmoFactory(code="59050")
    person = PersonFactory(fund_person_id=7001, last_name="Иванов", first_name="Иван")
    AttachmentFactory(person=person, mo=mo_a)
    return person


def test_inbound_packages_are_in_the_standing_run_of_the_service(attached):
    first = receive("PERSCHANGE", by_bdzid_xml(7001))
    second = receive("CHECKPERS", by_bdzid_xml(7001))
    assert first.run_id == second.run_id
    run = ServiceRun.objects.get(pk=first.run_id)
    assert run.service.code == "tfoms_auto" and run.scope_key.startswith("in:")


def test_a_package_about_a_person_belongs_to_their_mo(
    enter, attached, mo_a, mo_admin_a, mo_admin_b, dc_admin
):
    package = receive("POLIS", polis_xml(person=person_xml(), enp="5956410834000014"))
    assert package.mo == mo_a
    page = enter(mo_admin_a).get(f"/journal/packages/{package.pk}/").content.decode()
    assert "Ответ — отправленный ТФОМС" in page and "Пакет ответа" in page
    assert "Ответ отправлен" in page
    assert enter(mo_admin_b).get(f"/journal/packages/{package.pk}/").status_code == 404
    assert enter(dc_admin).get(f"/journal/packages/{package.pk}/").status_code == 200


def test_a_package_about_a_person_of_no_mo_is_the_dc_admins_only(enter, mo_admin_a, dc_admin):
    PersonFactory(fund_person_id=7001)
    package = receive("CHECKPERS", by_bdzid_xml(7001))
    assert package.mo is None
    assert enter(mo_admin_a).get(f"/journal/packages/{package.pk}/").status_code == 404
    assert enter(dc_admin).get(f"/journal/packages/{package.pk}/").status_code == 200


def test_search_by_person_finds_them_and_the_card_lists_them(enter, attached, mo_admin_a, mo_admin_b):
    receive("PERSCHANGE", by_bdzid_xml(7001))
    found = enter(mo_admin_a).get("/journal/search/", {"q": attached.last_name}).content.decode()
    assert "Изменение персональных данных в РС ЕРЗ" in found
    card = enter(mo_admin_a).get(f"/persons/{attached.pk}/").content.decode()
    assert 'data-testid="fund-packages"' in card and "Изменение персональных данных в РС ЕРЗ" in card
    assert 'data-testid="fund-changed"' in card  # "данные изменены в РС ЕРЗ" until identification answers
    assert enter(mo_admin_b).get(f"/persons/{attached.pk}/").status_code == 404


@pytest.mark.usefixtures("locmem")
def test_perschange_asks_online_and_the_answer_ends_the_mark(
    mo_a, locmem, django_capture_on_commit_callbacks
):
    """C7 with B8: the person is re-queried over PERS at once; the fund's answer identifies them and
    clears both the «changed» mark and the batch request (which stays only if no answer comes)."""
    import tfoms_emulator
    from servicelog.inbox import inbound_handle
    from servicelog.models import RpcCall, RpcState
    from tfoms_emulator import ident
    from tfoms_portal import messaging

    smo = SmoFactory(code="59021", ogrn="1025900000006")
    person = PersonFactory(fund_person_id=7001)
    AttachmentFactory(person=person, mo=mo_a)
    tfoms_emulator.default_emulator().persons = ident.Register(
        [fund_person(person, smo, bdzid=7001, enp="5956410834000014")]
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert_processed(receive("PERSCHANGE", by_bdzid_xml(7001)))
    call = RpcCall.objects.get(subject=str(person.pk))
    assert call.mo == mo_a and call.user is None
    locmem.drain([messaging.queue_name(messaging.RPC_REPLY)], inbound_handle)
    call.refresh_from_db()
    person.refresh_from_db()
    assert call.state == RpcState.ANSWERED
    assert person.identified_in_tfoms and person.fund_changed_at is None
    assert person.identification_requested_at is None
