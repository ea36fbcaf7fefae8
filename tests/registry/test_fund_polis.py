"""POLIS from the fund (C6; manual §4.4.5.5; formats §6): each rule on its own, through the consumer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from lxml import etree

from registry import checkdigits
from registry.models import Attachment, IdentityDocument, Person, Policy
from servicelog.formats import ANSWER_XSD
from servicelog.models import Package, PackageStatus
from tests.factories import AttachmentFactory, DocumentFactory, PersonFactory, PolicyFactory, SmoFactory

from .fund_samples import our_answer, person_xml, polis_xml, receive

S = PackageStatus
pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def smo():
    return SmoFactory(code="59050")


@pytest.fixture
def other_smo():
    return SmoFactory(code="59051")


def enp_of(person: Person, serial: int = 1) -> str:
    return checkdigits.make_enp("59", person.birth_date, person.sex, serial)


def answer_root(package: Package) -> etree._Element:
    answer = our_answer(package)
    assert answer.status == S.FORMED, answer.result  # waits in the outbox, valid against answer.xsd
    root = etree.fromstring(answer.body.encode())
    assert etree.XMLSchema(etree.parse(str(ANSWER_XSD))).validate(root)
    return root


def assert_processed(package: Package) -> None:
    assert package.status == S.PROCESSED, package.result
    assert package.result == "Пакет обработан"
    root = answer_root(package)
    assert root.findtext("BODY/RESULTS/RESULT") == "OK"
    assert root.findtext("HEADER/MESSAGE_ID") == package.message_id
    assert package.reply["RESULT"] == "OK" and package.reply["sent"] is True


def assert_rejected(package: Package, *words: str) -> None:
    package.refresh_from_db()
    assert package.status == S.REJECTED
    root = answer_root(package)
    assert root.findtext("BODY/RESULTS/RESULT") == "ERROR"
    text = " ".join(root.xpath("//RESULT_NAME/text()"))
    for word in words:
        assert word in package.result and word in text, (package.result, text)


# --- the person ----------------------------------------------------------------------------------


def test_found_by_bdzid_fills_empty_fields_and_saves_the_policy(smo):
    person = PersonFactory(fund_person_id=7001, middle_name="", snils="")
    DocumentFactory(person=person, series="5704", number="123456", issuer="")
    snils = checkdigits.make_snils(123_456_789)
    package = receive(
        "POLIS",
        polis_xml(
            person=person_xml(fam=person.last_name, im=person.first_name, snils=snils, docorg="ГУ МВД"),
            enp=enp_of(person),
        ),
    )
    assert_processed(package)
    person.refresh_from_db()
    assert (person.middle_name, person.snils) == ("Иванович", snils)
    assert person.documents.get().issuer == "ГУ МВД"  # the same document lacked its authority
    policy = person.policies.get()
    assert (policy.enp, policy.smo, policy.source, policy.valid_from) == (
        enp_of(person),
        smo,
        Policy.Source.FUND,
        dt.date(2026, 1, 1),
    )


def test_a_differing_field_clears_the_id_and_requeries(smo, mo_a):
    person = PersonFactory(fund_person_id=7001, last_name="Петров")
    AttachmentFactory(person=person, mo=mo_a)
    package = receive("POLIS", polis_xml(person=person_xml(fam="  Сидоров "), enp=enp_of(person)))
    assert_processed(package)
    person.refresh_from_db()
    assert person.fund_person_id is None
    assert person.identification_request_reason == Person.IdentificationReason.FUND
    assert person.identification_request_mo == mo_a  # the batch identification of their МО sends it
    assert not person.policies.exists()
    assert "фамилия" in " ".join(e.message for e in package_log(package))


def test_names_are_compared_trimmed_and_snils_without_separators(smo):
    snils = checkdigits.make_snils(123_456_789)
    person = PersonFactory(fund_person_id=7001, last_name="Иванов", first_name="Иван", snils=snils)
    shown = f"{snils[:3]}-{snils[3:6]}-{snils[6:9]} {snils[9:]}"
    package = receive("POLIS", polis_xml(person=person_xml(fam=" ИВАНОВ ", snils=shown), enp=enp_of(person)))
    assert_processed(package)
    person.refresh_from_db()
    assert person.fund_person_id == 7001 and person.policies.count() == 1


def test_several_persons_with_the_id_are_all_cleared_and_requeried(smo):
    first, second = PersonFactory(fund_person_id=7001), PersonFactory(fund_person_id=7001)
    assert_processed(receive("POLIS", polis_xml(person=person_xml(), enp=enp_of(first))))
    for person in (first, second):
        person.refresh_from_db()
        assert person.fund_person_id is None and person.identification_requested_at is not None
    assert not Policy.objects.exists()


def test_not_found_by_id_found_by_name_birth_date_and_document(smo):
    person = PersonFactory(last_name="Иванов", first_name="Иван", middle_name="Иванович")
    DocumentFactory(person=person, doc_type=14, series="57 04", number="123456")
    assert_processed(receive("POLIS", polis_xml(person=person_xml(), enp=enp_of(person))))
    person.refresh_from_db()
    assert person.fund_person_id == 7001 and person.policies.count() == 1


def test_then_by_name_birth_date_and_snils(smo):
    snils = checkdigits.make_snils(123_456_789)
    person = PersonFactory(last_name="Иванов", first_name="Иван", middle_name="Иванович", snils=snils)
    DocumentFactory(person=person, doc_type=14, series="1111", number="999999")  # another passport
    package = receive("POLIS", polis_xml(person=person_xml(snils=snils), enp=enp_of(person)))
    assert_processed(package)
    person.refresh_from_db()
    assert person.fund_person_id == 7001


def test_several_found_by_name_are_all_requeried(smo):
    twins = [PersonFactory(last_name="Иванов", first_name="Иван", middle_name="Иванович") for _ in range(2)]
    for twin in twins:
        DocumentFactory(person=twin, doc_type=14, series="5704", number="123456")
    assert_processed(receive("POLIS", polis_xml(person=person_xml(), enp=enp_of(twins[0]))))
    for twin in twins:
        twin.refresh_from_db()
        assert twin.fund_person_id is None and twin.identification_requested_at is not None
    assert Person.objects.count() == 2 and not Policy.objects.exists()


def test_nobody_found_creates_the_person_with_the_document(smo):
    package = receive(
        "POLIS",
        polis_xml(
            bdzid=8123,
            person=person_xml(
                fam="Новикова",
                im="Анна",
                ot="",
                dr=dt.date(2026, 10, 1),
                w=2,
                doctype=3,
                docser="I-ВГ",
                docnum="654321",
                docdt=dt.date(2026, 10, 5),
                docorg="ЗАГС",
            ),
            enp=checkdigits.make_enp("59", dt.date(2026, 10, 1), 2, 9),
            begin=dt.date(2026, 10, 1),
        ),
    )
    assert_processed(package)
    person = Person.objects.get(fund_person_id=8123)
    assert (person.full_name, person.soc_status) == ("Новикова Анна", "1")  # under 7: computed
    document = person.documents.get()
    assert (document.doc_type, document.series, document.number, document.issued_at, document.issuer) == (
        3,
        "I-ВГ",
        "654321",
        dt.date(2026, 10, 5),
        "ЗАГС",
    )
    assert package.mo is None  # a person of no МО: the ЦОД admin's only


def test_a_person_with_another_document_keeps_theirs(smo):
    person = PersonFactory(fund_person_id=7001)
    DocumentFactory(person=person, doc_type=3, series="II-ВГ", number="111111", issuer="")
    xml = polis_xml(
        person=person_xml(fam=person.last_name, im=person.first_name, docorg="ГУ МВД"), enp=enp_of(person)
    )
    assert_processed(receive("POLIS", xml))
    assert list(person.documents.values_list("doc_type", "issuer")) == [(3, "")]


def test_soc_status_set_only_when_empty(smo):
    empty, filled = PersonFactory(fund_person_id=7001), PersonFactory(fund_person_id=7002, soc_status="2")
    xml = polis_xml(
        person=person_xml(fam=empty.last_name, im=empty.first_name, soc_status="6"), enp=enp_of(empty)
    )
    assert_processed(receive("POLIS", xml))
    assert_processed(
        receive(
            "POLIS",
            polis_xml(
                bdzid=7002,
                person=person_xml(fam=filled.last_name, im=filled.first_name, soc_status="6"),
                enp=enp_of(filled, 2),
            ),
        )
    )
    empty.refresh_from_db(), filled.refresh_from_db()
    assert (empty.soc_status, filled.soc_status) == ("6", "2")


def test_soc_status_by_age_when_the_fund_sends_none(smo):
    person = PersonFactory(fund_person_id=7001, birth_date=dt.date(1950, 1, 1), sex=2)
    xml = polis_xml(
        person=person_xml(fam=person.last_name, im=person.first_name, dr=dt.date(1950, 1, 1), w=2)
    )
    assert_processed(receive("POLIS", xml.replace("<ENP></ENP>", f"<ENP>{enp_of(person)}</ENP>")))
    person.refresh_from_db()
    assert person.soc_status == "6"  # a woman over 60


# --- the policy ----------------------------------------------------------------------------------


def test_the_same_policy_gets_its_end_date_and_close_cause(smo):
    person = PersonFactory(fund_person_id=7001)
    policy = PolicyFactory(person=person, smo=smo, valid_from=dt.date(2026, 1, 1))
    package = receive(
        "POLIS",
        polis_xml(operation="Update", enp=policy.enp, end=dt.date(2026, 12, 31), close_cause=2),
    )
    assert_processed(package)
    policy.refresh_from_db()
    assert (policy.valid_to, policy.close_cause) == (dt.date(2026, 12, 31), 2)
    assert Policy.objects.count() == 1


def test_a_new_policy_closes_the_overlapping_one(smo, other_smo):
    person = PersonFactory(fund_person_id=7001)
    old = PolicyFactory(person=person, smo=smo, valid_from=dt.date(2015, 1, 1))
    assert_processed(receive("POLIS", polis_xml(enp=old.enp, smo="59051", begin=dt.date(2026, 6, 1))))
    old.refresh_from_db()
    assert old.valid_to == dt.date(2026, 5, 31)
    new = person.policies.get(smo=other_smo)
    assert (new.valid_from, new.valid_to) == (dt.date(2026, 6, 1), None)


def test_delete_closes_the_matching_policy(smo):
    person = PersonFactory(fund_person_id=7001)
    policy = PolicyFactory(person=person, smo=smo, valid_from=dt.date(2026, 1, 1))
    xml = polis_xml(operation="Delete", enp=policy.enp, end=dt.date(2026, 11, 30), close_cause=1)
    assert_processed(receive("POLIS", xml))
    policy.refresh_from_db()
    assert (policy.valid_to, policy.close_cause) == (dt.date(2026, 11, 30), 1)


def test_delete_of_a_policy_we_do_not_have_is_refused(smo):
    person = PersonFactory(fund_person_id=7001)
    PolicyFactory(person=person, smo=smo, valid_from=dt.date(2026, 1, 1))
    package = receive("POLIS", polis_xml(operation="Delete", enp=enp_of(person, 77), end=TODAY))
    assert_rejected(package, "не найден")
    assert person.policies.get().valid_to is None


def test_a_new_policy_of_an_unattached_person_creates_the_conditional_attachment(smo, mo_a):
    person = PersonFactory(fund_person_id=7001)
    package = receive(
        "POLIS", polis_xml(enp=enp_of(person), attach_mo=mo_a.code, attach_from=dt.date(2026, 2, 1))
    )
    assert_processed(package)
    attachment = person.attachments.get()
    assert (attachment.mo, attachment.is_conditional, attachment.method, attachment.date_from) == (
        mo_a,
        True,
        Attachment.Method.BY_ADDRESS,
        dt.date(2026, 2, 1),
    )
    package.refresh_from_db()
    assert package.mo == mo_a  # the package now belongs to the person's МО


def test_an_attached_person_gets_no_conditional_attachment(smo, mo_a, mo_b):
    person = PersonFactory(fund_person_id=7001)
    AttachmentFactory(person=person, mo=mo_b)
    assert_processed(receive("POLIS", polis_xml(enp=enp_of(person), attach_mo=mo_a.code)))
    assert list(person.attachments.values_list("mo__code", flat=True)) == [mo_b.code]


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        (b"<PKG><HEADER>", ("XML",)),
        (polis_xml(bdzid=None, enp=""), ("BDZID",)),
        (polis_xml(smo="99999"), ("Неизвестный код СМО", "99999")),
        (polis_xml(begin=dt.date(2026, 6, 1), end=dt.date(2026, 1, 1)), ("раньше даты начала",)),
        (polis_xml(bdzid=9999, person=person_xml(dr=TODAY + dt.timedelta(days=3))), ("в будущем",)),
        (polis_xml(bdzid=9999), ("не найден", "PERSON")),
        (polis_xml(bdzid=9999, person=person_xml(), attach_mo="599999"), ("ATTACHMO=599999",)),
    ],
    ids=[
        "malformed",
        "no-bdzid",
        "unknown-smo",
        "reversed-dates",
        "future-birth",
        "unknown-no-person",
        "unknown-attach-mo",
    ],
)
def test_bad_input_is_rejected_whole_and_answered_error(smo, xml, words):
    package = receive("POLIS", xml)
    assert_rejected(package, *words)
    assert not Person.objects.exists() and not Policy.objects.exists() and not Attachment.objects.exists()
    assert not IdentityDocument.objects.exists()


def test_a_duplicate_message_has_no_second_effect(smo):
    person = PersonFactory(fund_person_id=7001)
    xml = polis_xml(enp=enp_of(person))
    first = receive("POLIS", xml, message_id="B1C2D3E4-0000-0000-0000-000000000001")
    receive("POLIS", xml, message_id="B1C2D3E4-0000-0000-0000-000000000001")
    assert Package.objects.filter(direction="in").count() == 1
    assert Package.objects.filter(package_type="ANSWER").count() == 1
    assert person.policies.count() == 1 and first.status == S.PROCESSED


def package_log(package: Package):
    from servicelog.models import LogEntry

    return list(LogEntry.objects.filter(package=package).order_by("id"))
