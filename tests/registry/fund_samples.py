"""The fund's packages about persons (formats §6) as tests write them, and how they arrive."""

from __future__ import annotations

import datetime as dt
import uuid

from registry import checkdigits
from registry.models import Person, Policy
from servicelog.inbox import inbound_handle
from servicelog.models import Package
from tests.factories import SmoFactory
from tfoms_portal import messaging


def _leaf(tag: str, value: object) -> str:
    return "" if value in (None, "") else f"<{tag}>{value}</{tag}>"


def person_xml(
    *,
    fam: str = "Иванов",
    im: str = "Иван",
    ot: str = "Иванович",
    dr: dt.date = dt.date(1985, 3, 15),
    w: int = 1,
    doctype: int = 14,
    docser: str = "5704",
    docnum: str = "123456",
    docdt: dt.date | None = None,
    docorg: str = "",
    snils: str = "",
    soc_status: str = "",
) -> str:
    return (
        "<PERSON>"
        + _leaf("FAM", fam)
        + _leaf("IM", im)
        + _leaf("OT", ot)
        + _leaf("DR", dr.isoformat())
        + _leaf("W", w)
        + _leaf("DOCTYPE", doctype)
        + _leaf("DOCSER", docser)
        + _leaf("DOCNUM", docnum)
        + _leaf("DOCDT", docdt.isoformat() if docdt else "")
        + _leaf("DOCORG", docorg)
        + _leaf("SNILS", snils)
        + _leaf("SOC_STATUS", soc_status)
        + "</PERSON>"
    )


def polis_xml(
    *,
    bdzid: int | None = 7001,
    operation: str = "Insert",
    person: str | None = None,
    enp: str = "",
    smo: str = "59050",
    policy_type: int = 3,
    series: str = "",
    number: str = "",
    begin: dt.date = dt.date(2026, 1, 1),
    end: dt.date | None = None,
    close_cause: int | None = None,
    attach_mo: str = "",
    attach_from: dt.date | None = None,
) -> str:
    attach = (
        f"<ATTACH><ATTACHMO>{attach_mo}</ATTACHMO>"
        f"<ATTACHDT>{(attach_from or begin).isoformat()}</ATTACHDT></ATTACH>"
        if attach_mo
        else ""
    )
    return (
        f"<PKG><HEADER><OPERATIONTYPE>{operation}</OPERATIONTYPE>{_leaf('BDZID', bdzid)}</HEADER><BODY>"
        + (person or "")
        + "<POLIS_DATA>"
        + f"<ENP>{enp}</ENP><NEWPERSDATA>0</NEWPERSDATA><PERSONPOLISID>1</PERSONPOLISID>"
        + f"<SMOCODE>{smo}</SMOCODE><POLISTYPE>{policy_type}</POLISTYPE>"
        + _leaf("POLISSER", series)
        + f"<POLISNUM>{number or enp}</POLISNUM><POLISBEGDT>{begin.isoformat()}T00:00:00</POLISBEGDT>"
        + (f"<POLISENDDT>{end.isoformat()}T00:00:00</POLISENDDT>" if end else "")
        + f"<POLISEDITDT>{begin.isoformat()}T00:00:00</POLISEDITDT>"
        + _leaf("POLISCLOSECAUSE", close_cause)
        + "</POLIS_DATA>"
        + attach
        + "</BODY></PKG>"
    )


def by_bdzid_xml(bdzid: int) -> str:
    """CHECKPERS and PERSCHANGE."""
    return (
        "<PKG><HEADER><OPERATIONTYPE>Insert</OPERATIONTYPE></HEADER>"
        f"<BODY><BDZID>{bdzid}</BDZID></BODY></PKG>"
    )


def doubles_xml(kept: int, merged: int) -> str:
    return (
        f"<PKG><HEADER><OPERATIONTYPE>Insert</OPERATIONTYPE><BDZID>{kept}</BDZID></HEADER>"
        f"<BODY><BDZDID>{merged}</BDZDID></BODY></PKG>"
    )


def idlepersons_xml(bdzid: int, *, pr_fni: int = 1, dr: dt.date = dt.date(1985, 3, 15)) -> str:
    return (
        "<PKG><HEADER><OPERATIONTYPE>Insert</OPERATIONTYPE><VERSION>1.0</VERSION><DATA>2026-11-30</DATA>"
        "<DN>2026-10-01</DN><DK>2026-10-31</DK><DT_REPORT>2026-11-30</DT_REPORT></HEADER><BODY><PERSON>"
        f"<FAM>Иванов</FAM><IM>Иван</IM><DR>{dr.isoformat()}</DR><W>1</W><DOCTYPE>14</DOCTYPE>"
        "<DOCNUM>123456</DOCNUM><B_ADDRSES_NAME>г. Пермь</B_ADDRSES_NAME><OKSM_ALFA3>RUS</OKSM_ALFA3>"
        f"<R_ADDRESS_BEGDT>2000-01-01</R_ADDRESS_BEGDT><PR_FNI>{pr_fni}</PR_FNI></PERSON>"
        f"<BDZ_ID>{bdzid}</BDZ_ID></BODY></PKG>"
    )


def fund_message(package_type: str, xml: str | bytes, message_id: str | None = None) -> messaging.InMessage:
    body = xml if isinstance(xml, bytes) else ('<?xml version="1.0" encoding="utf-8"?>' + xml).encode()
    return messaging.InMessage(
        queue=messaging.queue_name(messaging.TO_MIS),
        body=body,
        message_id=message_id or str(uuid.uuid4()).upper(),
        type=package_type,
    )


def receive(package_type: str, xml: str | bytes, message_id: str | None = None) -> Package:
    """Hand one of the fund's packages to the consumer; the inbound package it became."""
    inbound_handle(fund_message(package_type, xml, message_id))
    package = Package.objects.filter(direction="in").order_by("-id").first()
    assert package is not None
    return package


def our_answer(package: Package) -> Package:
    """Our ANSWER to the fund's package, waiting in the outbox."""
    return Package.objects.get(package_type="ANSWER", object_id=str(package.uuid))


def polis_messages(n: int) -> list[tuple[str, bytes]]:
    """An СМО change for each of n persons known by BDZID (see persons_with_policies)."""
    messages = []
    for i in range(n):
        birth = dt.date(1980, 1, 1) + dt.timedelta(days=i)
        xml = polis_xml(
            bdzid=60_000_000 + i,
            person=person_xml(fam="Кроликов", im="Иван", ot="Петрович", dr=birth),
            enp=checkdigits.make_enp("59", birth, 1, i + 1),
            smo="59051",
            begin=dt.date(2026, 6, 1),
        )
        body = ('<?xml version="1.0" encoding="utf-8"?>' + xml).encode()
        messages.append((str(uuid.uuid4()).upper(), body))
    return messages


def persons_with_policies(n: int) -> None:
    """n persons known to the fund by BDZID, each with a paper policy of СМО 59050."""
    smo = SmoFactory(code="59050")
    SmoFactory(code="59051")
    for i in range(n):
        birth = dt.date(1980, 1, 1) + dt.timedelta(days=i)
        person = Person.objects.create(
            last_name="Кроликов",
            first_name="Иван",
            middle_name="Петрович",
            birth_date=birth,
            sex=1,
            fund_person_id=60_000_000 + i,
        )
        Policy.objects.create(
            person=person,
            policy_type=3,
            form=Policy.Form.PAPER,
            enp=checkdigits.make_enp("59", birth, 1, i + 1),
            smo=smo,
            valid_from=dt.date(2015, 1, 1),
        )
