"""The fund's own packages about persons (formats §6): POLIS, CHECKPERS, PERSCHANGE, DOUBLES,
IDLEPERSONS read from XSD-valid XML, and the PERSON of our ANSWER to CHECKPERS. Wire names live here."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from .models import IdentityDocument, Person, Policy, Sex

XSD_DIR = Path(__file__).resolve().parent / "xsd"
XSD = {
    code: XSD_DIR / f"{code.lower()}.xsd"
    for code in ("POLIS", "CHECKPERS", "PERSCHANGE", "DOUBLES", "IDLEPERSONS")
}


class FundDataRefused(ValueError):
    """A value of the fund's package that the XSD lets through but the data cannot be (a birth date in
    the future, a policy ending before it starts); the message is Russian, for the journal. `person`:
    whom it is about when known (the refused package then belongs to their МО)."""

    def __init__(self, message: str, person: Person | None = None) -> None:
        super().__init__(message)
        self.person = person


def _text(element: etree._Element | None, path: str) -> str:
    found = element.find(path) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _date(value: str) -> dt.date | None:
    """xs:date or xs:dateTime (the day is what a policy needs); "" → None. XSD-valid input only."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:  # the XSD allows years of five digits and more
        raise FundDataRefused(f"Дата «{value[:40]}» вне допустимого диапазона") from None


def _int(value: str) -> int | None:
    return int(value) if value else None


def compact(value: str) -> str:
    """СНИЛС and document series are compared without spaces and hyphens (formats §6)."""
    return re.sub(r"[\s\-]", "", value).upper()


def same_name(ours: str, theirs: str) -> bool:
    """ФИО compared trimmed and case-insensitively, ё as е."""
    return ours.strip().casefold().replace("ё", "е") == theirs.strip().casefold().replace("ё", "е")


@dataclass(frozen=True)
class FundPerson:
    last_name: str
    first_name: str
    middle_name: str
    birth_date: dt.date
    sex: int
    doc_type: int
    doc_series: str
    doc_number: str
    doc_issued_at: dt.date | None
    doc_issuer: str
    snils: str  # digits only
    soc_status: str


@dataclass(frozen=True)
class FundPolicyData:
    enp: str
    smo_code: str
    policy_type: int
    series: str
    number: str
    valid_from: dt.date
    valid_to: dt.date | None
    close_cause: int | None


@dataclass(frozen=True)
class Polis:
    operation: str
    bdzid: int
    person: FundPerson | None
    policy: FundPolicyData
    attach_mo: str
    attach_from: dt.date | None


def _leaves(element: etree._Element | None) -> dict[str, str]:
    """The texts of an element's children by tag, read once (a find per field costs more than the
    rest of the parse; the XSD has each tag at most once)."""
    if element is None:
        return {}
    return {str(child.tag): (child.text or "").strip() for child in element if isinstance(child.tag, str)}


def _person(element: etree._Element | None, today: dt.date) -> FundPerson | None:
    if element is None:
        return None
    leaf = _leaves(element).get
    birth_date = _date(leaf("DR", ""))
    assert birth_date is not None  # required by the XSD
    if birth_date > today:
        raise FundDataRefused(f"Дата рождения {birth_date:%d.%m.%Y} в будущем")
    snils = re.sub(r"\D", "", leaf("SNILS", ""))
    if snils and len(snils) != 11:
        raise FundDataRefused(f"СНИЛС «{leaf('SNILS', '')}» не из 11 цифр")
    return FundPerson(
        last_name=leaf("FAM", ""),
        first_name=leaf("IM", ""),
        middle_name=leaf("OT", ""),
        birth_date=birth_date,
        sex=int(leaf("W", "")),
        doc_type=int(leaf("DOCTYPE", "")),
        doc_series=leaf("DOCSER", ""),
        doc_number=leaf("DOCNUM", ""),
        doc_issued_at=_date(leaf("DOCDT", "")),
        doc_issuer=leaf("DOCORG", ""),
        snils=snils,
        soc_status=leaf("SOC_STATUS", ""),
    )


def polis_parse(root: etree._Element, today: dt.date) -> Polis:
    """An XSD-valid POLIS; FundDataRefused for data no person or policy can have."""
    header = _leaves(root.find("HEADER")).get
    data = _leaves(root.find("BODY/POLIS_DATA")).get
    attach = _leaves(root.find("BODY/ATTACH")).get
    valid_from = _date(data("POLISBEGDT", ""))
    valid_to = _date(data("POLISENDDT", ""))
    assert valid_from is not None  # required by the XSD
    if valid_to is not None and valid_to < valid_from:
        raise FundDataRefused(
            f"Дата окончания полиса {valid_to:%d.%m.%Y} раньше даты начала {valid_from:%d.%m.%Y}"
        )
    return Polis(
        operation=header("OPERATIONTYPE", ""),
        bdzid=int(header("BDZID", "")),
        person=_person(root.find("BODY/PERSON"), today),
        policy=FundPolicyData(
            enp=data("ENP", ""),
            smo_code=data("SMOCODE", ""),
            policy_type=int(data("POLISTYPE", "")),
            series=data("POLISSER", ""),
            number=data("POLISNUM", ""),
            valid_from=valid_from,
            valid_to=valid_to,
            close_cause=_int(data("POLISCLOSECAUSE", "")),
        ),
        attach_mo=attach("ATTACHMO", ""),
        attach_from=_date(attach("ATTACHDT", "")),
    )


def body_bdzid(root: etree._Element) -> int:
    """BODY/BDZID of an XSD-valid CHECKPERS or PERSCHANGE."""
    return int(_text(root, "BODY/BDZID"))


def doubles_parse(root: etree._Element) -> tuple[int, int]:
    """(kept BDZID, merged BDZDID) of an XSD-valid DOUBLES."""
    return int(_text(root, "HEADER/BDZID")), int(_text(root, "BODY/BDZDID"))


@dataclass(frozen=True)
class IdlePerson:
    bdzid: int
    not_working: bool  # PR_FNI = 1: the tax service knows of no work (our reading, README "Decisions")
    last_name: str
    birth_date: dt.date


def idlepersons_parse(root: etree._Element) -> IdlePerson:
    birth_date = _date(_text(root, "BODY/PERSON/DR"))
    assert birth_date is not None
    return IdlePerson(
        bdzid=int(_text(root, "BODY/BDZ_ID")),
        not_working=_text(root, "BODY/PERSON/PR_FNI") == "1",
        last_name=_text(root, "BODY/PERSON/FAM"),
        birth_date=birth_date,
    )


def checkpers_person(
    person: Person, document: IdentityDocument | None, policies: list[Policy]
) -> tuple[dict[str, Any], list[str]]:
    """ANSWER/BODY/PERSON for CHECKPERS: the person and policies as we hold them, in the XSD's order
    (servicelog/xsd/answer.xsd), and what it cannot carry: a document whose series or number is over
    10 characters, a policy with neither number nor ЕНП. Nothing is cut short."""
    left_out = []
    if document is not None and (len(document.series) > 10 or len(document.number) > 10):
        left_out.append(f"документ {document.series} № {document.number} (серия и номер — до 10 знаков)")
        document = None
    sendable = []
    for policy in policies:
        if policy.number or policy.enp:
            sendable.append(policy)
        else:
            left_out.append(f"полис с {policy.valid_from:%d.%m.%Y} без номера и ЕНП")
    latest = max((p for p in sendable if p.enp), key=lambda p: p.valid_from, default=None)
    answer = {
        "PERSON_ID": person.pk,
        "BDZ_ID": person.fund_person_id,
        "FAM": person.last_name[:40],
        "IM": person.first_name[:40],
        "OT": person.middle_name[:40],
        "DR": person.birth_date.isoformat(),
        "W": person.sex if person.sex in Sex.values else "",
        "DOCTYPE": document.doc_type if document else "",
        "DOCSER": document.series if document else "",
        "DOCNUM": document.number if document else "",
        "SNILS": person.snils,
        "ENP": latest.enp if latest is not None else "",
        "POLIS_DATA": [
            {
                "POLISTYPE": policy.policy_type,
                "POLISSER": policy.series,
                "POLISNUM": policy.number or policy.enp,
                "POLISBEGDT": f"{policy.valid_from.isoformat()}T00:00:00",
                "POLISENDDT": f"{policy.valid_to.isoformat()}T00:00:00" if policy.valid_to else "",
            }
            for policy in sendable
        ],
    }
    return answer, left_out
