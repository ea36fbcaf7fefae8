"""The consumer's batch (servicelog/inbox_batch.py) applies the fund's packages exactly as one by one
would — same statuses, persons, policies, attachments, log lines and answers, in the same order —
in a number of statements that does not grow with the batch (issue 14 benchmark, C8)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction

from registry import checkdigits
from registry.models import Attachment, IdentityDocument, Person, Policy
from servicelog.inbox import inbound_handle
from servicelog.inbox_batch import inbound_batch
from servicelog.models import LogEntry, Package, PackageStatus
from tests.factories import AttachmentFactory, PersonFactory, PolicyFactory, SmoFactory

from .fund_samples import by_bdzid_xml, fund_message, person_xml, polis_xml

S = PackageStatus
pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def enp(birth: dt.date, serial: int) -> str:
    return checkdigits.make_enp("59", birth, 1, serial)


@pytest.fixture
def region(mo_a):
    smo = SmoFactory(code="59050")
    SmoFactory(code="59051")
    people = []
    for i in range(6):
        person = PersonFactory(
            fund_person_id=7000 + i,
            last_name="Иванов",
            first_name="Иван",
            birth_date=dt.date(1985, 3, 15 + i),
        )
        PolicyFactory(
            person=person, smo=smo, enp=enp(person.birth_date, i + 1), valid_from=dt.date(2015, 1, 1)
        )
        people.append(person)
    AttachmentFactory(person=people[0], mo=mo_a)
    return people


def scenario(people) -> list:
    """Every path of POLIS mixed with other types: the batch must keep their order."""

    def change(i: int, **extra) -> str:
        person = people[i]
        return polis_xml(
            bdzid=7000 + i,
            person=person_xml(fam="Иванов", im="Иван", dr=person.birth_date),
            enp=enp(person.birth_date, i + 1),
            **{"smo": "59051", "begin": dt.date(2026, 6, 1), **extra},
        )

    same_id = str(uuid.uuid4()).upper()
    return [
        fund_message("POLIS", change(0)),  # СМО change of an attached person
        fund_message("POLIS", change(0, end=dt.date(2026, 12, 31), close_cause=2, operation="Update")),
        fund_message("POLIS", change(1, attach_mo="590001"), message_id=same_id),  # conditional attachment
        fund_message("POLIS", change(1, attach_mo="590001"), message_id=same_id),  # the same message again
        fund_message("PERSCHANGE", by_bdzid_xml(7002)),  # another type in between
        fund_message("POLIS", change(2)),  # … and after it, the same person
        fund_message("POLIS", polis_xml(bdzid=7003, person=person_xml(fam="Петров"), enp="")),  # differs
        fund_message("POLIS", change(4, smo="99999")),  # refused: unknown СМО
        fund_message("POLIS", b"<PKG><HEADER>"),  # refused: not XML
        fund_message(
            "POLIS", polis_xml(bdzid=9100, person=person_xml(fam="Новиков", docnum="777777"))
        ),  # new
        fund_message(
            "POLIS",
            change(5, operation="Delete", smo="59050", begin=dt.date(2015, 1, 1), end=dt.date(2026, 11, 30)),
        ),
        fund_message(
            "POLIS", change(5, operation="Delete", smo="59050", begin=dt.date(2016, 1, 1))
        ),  # no such
    ]


def signature() -> dict:
    packages = list(Package.objects.filter(direction="in").order_by("id"))
    # who a package is about, by the person's data: ids drawn by an undone batch are not reused
    who = {
        str(pk): (name, born)
        for pk, name, born in Person.objects.values_list("pk", "last_name", "birth_date")
    }
    return {
        "packages": [
            (p.package_type, p.status, p.result, p.mo_id, who.get(p.object_id), p.enp, p.fio)
            for p in packages
        ],
        "log": [
            [e.message for e in LogEntry.objects.filter(package=p).order_by("at", "id")] for p in packages
        ],
        "answers": sorted(
            (
                (a.payload["TYPE"], a.payload["RESULT"], str(a.payload["ERRORS"]), a.mo_id)
                for a in Package.objects.filter(package_type="ANSWER")
            ),
            key=str,
        ),
        "persons": sorted(
            Person.objects.values_list(
                "last_name", "birth_date", "fund_person_id", "soc_status", "identification_request_reason"
            ),
            key=str,
        ),
        "policies": sorted(
            Policy.objects.values_list(
                "person__fund_person_id", "smo__code", "valid_from", "valid_to", "close_cause"
            ),
            key=str,
        ),
        "attachments": sorted(
            Attachment.objects.values_list("person_id", "mo__code", "is_conditional", "date_from"), key=str
        ),
        "documents": sorted(
            IdentityDocument.objects.values_list("person__last_name", "number", "issuer"), key=str
        ),
    }


def test_a_batch_does_exactly_what_one_by_one_does(region):
    messages = scenario(region)
    with pytest.raises(Rollback), transaction.atomic():
        inbound_batch(messages)
        batched = signature()
        raise Rollback
    for message in messages:
        inbound_handle(message)
    alone = signature()
    assert batched == alone
    statuses = [status for _, status, *_ in alone["packages"]]
    assert statuses.count(S.REJECTED) == 3 and len(statuses) == 11  # the repeat made no package


def test_a_batch_of_polis_costs_a_fixed_number_of_statements(region, django_assert_max_num_queries):
    def batch(serial: int) -> list:
        return [
            fund_message(
                "POLIS",
                polis_xml(
                    bdzid=7000 + i,
                    person=person_xml(fam="Иванов", im="Иван", dr=person.birth_date),
                    enp=enp(person.birth_date, i + 1),
                    smo="59051",
                    begin=dt.date(2026, 6, serial),
                ),
            )
            for i, person in enumerate(region)
        ]

    with django_assert_max_num_queries(40):  # 6 persons: not 6 × the ~30 statements of one message
        inbound_batch(batch(1))
    assert Package.objects.filter(direction="in", status=S.PROCESSED).count() == 6
    assert Policy.objects.filter(smo__code="59051").count() == 6
