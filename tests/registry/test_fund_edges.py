"""The fund's packages at their edges (C6, C7; the review of issue 14): refusals that roll a known
person back whole, re-queries and the warnings that say so, what an МО user may read, CHECKPERS
answers the XSD accepts, and two consumers on one new person."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from registry import checkdigits
from registry.fund_changes import soc_status_by_age
from registry.models import Attachment, FundMerge, IdentityDocument, Person, Policy
from servicelog.models import LogEntry, PackageStatus
from tests.factories import AttachmentFactory, DocumentFactory, PersonFactory, PolicyFactory, SmoFactory

from .fund_samples import by_bdzid_xml, doubles_xml, idlepersons_xml, person_xml, polis_xml, receive
from .test_fund_polis import answer_root, assert_processed, assert_rejected

S = PackageStatus
pytestmark = pytest.mark.django_db
ENP = "5956410834000014"


@pytest.fixture(autouse=True)
def smos():
    return SmoFactory(code="59050"), SmoFactory(code="59051")


def ivanov(**fields) -> Person:
    return PersonFactory(
        **{
            "last_name": "Иванов",
            "first_name": "Иван",
            "middle_name": "Иванович",
            "birth_date": dt.date(1985, 3, 15),
            **fields,
        }
    )


def warnings_of(package) -> list[str]:
    return list(
        LogEntry.objects.filter(package=package, level=LogEntry.Level.WARNING).values_list(
            "message", flat=True
        )
    )


@pytest.mark.parametrize(
    ("born", "sex", "status"),
    [
        (dt.date(2021, 1, 1), 1, "1"),  # under 7
        (dt.date(2012, 1, 1), 2, "3"),  # under 18
        (dt.date(1967, 6, 1), 2, "5"),  # a woman of 59
        (dt.date(1966, 6, 1), 2, "6"),  # … of 60
        (dt.date(1962, 6, 1), 1, "5"),  # a man of 64
        (dt.date(1961, 6, 1), 1, "6"),  # … of 65
    ],
)
def test_the_age_rule_of_soc_status(born, sex, status):
    assert soc_status_by_age(born, sex, dt.date(2026, 12, 1)) == status


def test_a_refusal_leaves_a_known_person_as_they_were(mo_a, smos):
    person = ivanov(fund_person_id=7001, middle_name="", snils="", soc_status="")
    AttachmentFactory(person=person, mo=mo_a)
    DocumentFactory(person=person, series="5704", number="123456", issuer="")
    PolicyFactory(
        person=person, smo=smos[0], enp=ENP, valid_from=dt.date(2026, 8, 1)
    )  # starts after the new one
    snils = checkdigits.make_snils(123_456_789)
    package = receive(
        "POLIS",
        polis_xml(
            person=person_xml(snils=snils, docorg="ГУ МВД"), enp=ENP, smo="59051", begin=dt.date(2026, 6, 1)
        ),
    )
    assert_rejected(package, "пересечение")
    person.refresh_from_db()
    assert (person.middle_name, person.snils, person.soc_status) == ("", "", "")  # nothing filled
    assert person.documents.get().issuer == ""
    assert person.policies.count() == 1
    assert package.mo == mo_a  # a refusal about a known patient is their МО's to see


def test_a_snils_with_a_wrong_check_digit_is_refused():
    ivanov(fund_person_id=7001)
    assert_rejected(receive("POLIS", polis_xml(person=person_xml(snils="11223344500"), enp=ENP)), "СНИЛС")


def test_a_differing_document_clears_the_id_and_warns(mo_a):
    person = ivanov(fund_person_id=7001)
    AttachmentFactory(person=person, mo=mo_a)
    DocumentFactory(person=person, doc_type=14, series="1111", number="222222")
    package = receive("POLIS", polis_xml(person=person_xml(), enp=ENP))
    assert_processed(package)
    person.refresh_from_db()
    assert person.fund_person_id is None and not person.policies.exists()
    assert any("документ" in line and "не сохранён" in line for line in warnings_of(package))


def test_several_found_by_snils_are_requeried():
    snils = checkdigits.make_snils(123_456_789)
    twins = [ivanov(snils=snils) for _ in range(2)]
    assert_processed(receive("POLIS", polis_xml(person=person_xml(snils=snils), enp=ENP)))
    for twin in twins:
        twin.refresh_from_db()
        assert twin.identification_requested_at is not None
    assert not Policy.objects.exists()


def test_found_by_name_with_another_fund_id_is_requeried_not_overwritten():
    person = ivanov(fund_person_id=5555)
    DocumentFactory(person=person, series="5704", number="123456")
    assert_processed(receive("POLIS", polis_xml(person=person_xml(), enp=ENP)))
    person.refresh_from_db()
    assert person.fund_person_id is None and person.identification_requested_at is not None


def test_names_are_looked_up_with_yo_as_ye():
    person = ivanov(last_name="Семёнов")
    DocumentFactory(person=person, series="5704", number="123456")
    assert_processed(receive("POLIS", polis_xml(person=person_xml(fam="СЕМЕНОВ "), enp=ENP)))
    assert Person.objects.count() == 1
    person.refresh_from_db()
    assert person.fund_person_id == 7001


def test_a_new_person_gets_the_conditional_attachment(mo_a):
    assert_processed(
        receive("POLIS", polis_xml(bdzid=8001, person=person_xml(), enp=ENP, attach_mo=mo_a.code))
    )
    attachment = Attachment.objects.get()
    assert attachment.is_conditional and attachment.mo == mo_a


def test_an_updated_policy_creates_no_attachment(mo_a, smos):
    person = ivanov(fund_person_id=7001)
    PolicyFactory(person=person, smo=smos[0], enp=ENP, valid_from=dt.date(2026, 1, 1))
    xml = polis_xml(operation="Update", enp=ENP, end=dt.date(2026, 12, 31), attach_mo=mo_a.code)
    assert_processed(receive("POLIS", xml))
    assert not Attachment.objects.exists()


def test_a_delete_without_its_end_before_the_start_is_refused(smos):
    person = ivanov(fund_person_id=7001)
    begin = timezone.localdate() + dt.timedelta(days=30)
    PolicyFactory(person=person, smo=smos[0], enp=ENP, valid_from=begin)
    assert_rejected(
        receive("POLIS", polis_xml(operation="Delete", enp=ENP, begin=begin)), "раньше его начала"
    )
    assert Policy.objects.get().valid_to is None


def test_doubles_naming_one_id_twice_is_refused():
    ivanov(fund_person_id=7001)
    assert_rejected(receive("DOUBLES", doubles_xml(kept=7001, merged=7001)), "совпадают")
    assert not FundMerge.objects.exists()


def test_idlepersons_about_another_person_is_refused_and_a_minor_keeps_the_age_rule():
    ivanov(fund_person_id=7001, birth_date=dt.date(1950, 1, 1))
    assert_rejected(receive("IDLEPERSONS", idlepersons_xml(7001, dr=dt.date(2010, 1, 1))), "не совпадают")
    child = ivanov(fund_person_id=7002, birth_date=dt.date(2012, 5, 5), soc_status="")
    assert_processed(receive("IDLEPERSONS", idlepersons_xml(7002, pr_fni=0, dr=dt.date(2012, 5, 5))))
    child.refresh_from_db()
    assert child.soc_status == "3"


def test_checkpers_leaves_out_what_the_answer_cannot_carry():
    person = ivanov(fund_person_id=7001)
    DocumentFactory(person=person, series="5704", number="12345678901234")
    Policy.objects.create(person=person, policy_type=1, form="С", valid_from=dt.date(2010, 1, 1))  # no number
    PolicyFactory(person=person, enp=ENP, valid_from=dt.date(2020, 1, 1))
    package = receive("CHECKPERS", by_bdzid_xml(7001))
    assert_processed(package)  # answer_root checks our ANSWER against answer.xsd
    root = answer_root(package)
    assert root.findtext("BODY/PERSON/DOCNUM") is None and root.findtext("BODY/PERSON/ENP") == ENP
    assert len(root.findall("BODY/PERSON/POLIS_DATA")) == 1
    assert len(warnings_of(package)) == 2


def test_a_requery_of_a_person_of_no_mo_is_said_as_a_warning():
    ivanov(fund_person_id=7001, last_name="Петров")
    package = receive("POLIS", polis_xml(person=person_xml(), enp=ENP))
    assert any("ни в одной МО" in line for line in warnings_of(package))


def test_lines_naming_persons_of_two_mo_are_the_dc_admins_only(
    enter, mo_a, mo_b, mo_admin_a, mo_admin_b, dc_admin
):
    kept, merged = ivanov(fund_person_id=7001), ivanov(fund_person_id=7002, last_name="Чужаков")
    AttachmentFactory(person=kept, mo=mo_b)
    AttachmentFactory(person=merged, mo=mo_a)
    package = receive("DOUBLES", doubles_xml(kept=7001, merged=7002))
    assert package.mo is None
    for workplace in (mo_admin_a, mo_admin_b):
        client = enter(workplace)
        assert client.get(f"/journal/packages/{package.pk}/").status_code == 404
        log = client.get("/journal/", {"service": "tfoms_auto", "run": package.run_id}).content.decode()
        assert "Чужаков" not in log
    assert enter(dc_admin).get(f"/journal/packages/{package.pk}/").status_code == 200


def test_an_mo_user_reads_the_lines_about_their_patient(enter, mo_a, mo_admin_a, mo_admin_b):
    person = ivanov(fund_person_id=7001)
    AttachmentFactory(person=person, mo=mo_a)
    receive("PERSCHANGE", by_bdzid_xml(7001))
    page = enter(mo_admin_a).get("/journal/", {"service": "tfoms_auto"}).content.decode()
    run_log = LogEntry.objects.filter(package__package_type="PERSCHANGE").first()
    log = (
        enter(mo_admin_a)
        .get("/journal/", {"service": "tfoms_auto", "run": run_log.run_id, "tab": "log"})
        .content.decode()
    )
    assert "Пакет получен от ТФОМС" in log and "Данные изменены в РС ЕРЗ" in log
    other = (
        enter(mo_admin_b)
        .get("/journal/", {"service": "tfoms_auto", "run": run_log.run_id, "tab": "log"})
        .content.decode()
    )
    assert "Данные изменены в РС ЕРЗ" not in other and "Иванов" not in other
    assert page


def test_an_internal_error_is_not_quoted_to_the_fund(monkeypatch):
    ivanov(fund_person_id=7001)

    def broken(**kwargs):
        raise RuntimeError("SELECT secret FROM patients WHERE name='Иванов'")

    monkeypatch.setattr("registry.fund_changes.perschange_apply", broken)
    package = receive("PERSCHANGE", by_bdzid_xml(7001))
    package.refresh_from_db()
    assert package.status == S.REJECTED and "RuntimeError" in package.result
    assert "secret" not in package.result and "Иванов" not in str(package.reply)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_consumers_on_one_new_person_create_them_once():
    from servicelog.inbox import inbound_handle, receiving_run

    from .fund_samples import fund_message

    receiving_run("tfoms_auto")  # opened already: its creation would serialise the two by itself
    xml = polis_xml(bdzid=8500, person=person_xml(fam="Новиков"), enp=ENP)
    messages = [fund_message("POLIS", xml) for _ in range(2)]  # the same news twice, two message ids
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def consume(message) -> None:
        try:
            barrier.wait()
            inbound_handle(message)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=consume, args=(m,)) for m in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert Person.objects.filter(fund_person_id=8500).count() == 1
    assert IdentityDocument.objects.count() == 1 and Policy.objects.count() == 1
