"""Wire layouts of dispensary observation (formats §5): DISP, DISPOUT, PERSCANCER in the TAI envelope.
External tag names live only here; the journal shows each payload as `<Тег>: <Данные>`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from registry.checkdigits import snils_format
from registry.models import Person
from servicelog.envelope import TAI, Envelope

from .models import DispensaryCard

XSD_DIR = Path(__file__).resolve().parent / "xsd"
DISP_XSD = XSD_DIR / "disp.xsd"
DISPOUT_XSD = XSD_DIR / "dispout.xsd"
PERSCANCER_XSD = XSD_DIR / "perscancer.xsd"

_PERSON = ("FAM", "IM", "OT", "W", "DR", "VPOLIS", "SPOLIS", "NPOLIS")
DISP_ENVELOPE = Envelope(
    TAI,
    "PKG",
    header=("CODE_MO", "DISP_ID"),
    body=(
        "BDZ_ID",
        "ID_PAC",
        *_PERSON,
        "DOCTYPE",
        "DOCSER",
        "DOCNUM",
        "SNILS",
        "ATTACH_DISP_TYPE",
        "DATE_IN",
        "DS",
        "DS_DETECT",
        "DS_DETECTTYPE",
        "SNILS_VR",
        "DATE_OUT",
        "RESULT_OUT",
        "DATES",
    ),
    date_tag="DATA",
    lists={"DATES": "PLAN_DATE"},
)
DISPOUT_ENVELOPE = Envelope(
    TAI,
    "PKG",
    header=("CODE_MO", "DISP_ID"),
    body=("ID_PAC", *_PERSON, "DS", "SNILS_VR", "DATE_OUT", "RESULT_OUT"),
    date_tag="DATA",
)
PERSCANCER_ENVELOPE = Envelope(
    TAI,
    "PKG",
    header=("REG_ID",),
    body=("BDZ_ID", "DS", "DATE_IN", "DATE_OUT", "CAUSEOUT", "CANCERCOMMENT"),
    date_tag="DATA",
)


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {tag: value for tag, value in values.items() if value not in ("", None, [])}


def _person(person: Person, today: dt.date) -> dict[str, str]:
    policy = person.policy_on(today)
    return {
        "ID_PAC": str(person.pk),
        "FAM": person.last_name.upper()[:30],
        "IM": person.first_name.upper()[:30],
        "OT": person.middle_name.upper()[:30],
        "W": str(person.sex),
        "DR": _date(person.birth_date),
        "VPOLIS": str(policy.policy_type) if policy else "",
        "SPOLIS": policy.series if policy else "",
        "NPOLIS": (policy.enp or policy.number) if policy else "",
    }


def _doctor_snils(card: DispensaryCard) -> str:
    return snils_format(card.doctor.snils) if card.doctor and card.doctor.snils else ""


def disp_payload(card: DispensaryCard, today: dt.date) -> dict[str, Any]:
    """DISP: the person taken under observation. It always describes the taking (ATTACH_DISP_TYPE 1);
    the removal is DISPOUT's, so ending a card changes no DISP."""
    person = card.person
    document = person.latest_document()
    return _clean(
        {
            "CODE_MO": card.mo.code,
            "DISP_ID": str(card.pk),
            "BDZ_ID": str(person.fund_person_id or ""),
            **_person(person, today),
            "DOCTYPE": str(document.doc_type) if document else "",
            "DOCSER": document.series if document else "",
            "DOCNUM": document.number if document else "",
            "SNILS": snils_format(person.snils) if person.snils else "",
            "ATTACH_DISP_TYPE": "1",
            "DATE_IN": _date(card.date_in),
            "DS": card.diagnosis,
            "DS_DETECT": str(card.ds_detect or ""),
            "DS_DETECTTYPE": str(card.ds_detect_type or ""),
            "SNILS_VR": _doctor_snils(card),
            "DATES": [_date(v.planned_date) for v in card.visits.all()],
        }
    )


def dispout_payload(card: DispensaryCard, today: dt.date) -> dict[str, Any]:
    return _clean(
        {
            "CODE_MO": card.mo.code,
            "DISP_ID": str(card.pk),
            **_person(card.person, today),
            "DS": card.diagnosis,
            "SNILS_VR": _doctor_snils(card),
            "DATE_OUT": _date(card.date_out),
            "RESULT_OUT": str(card.result_out or ""),
        }
    )


def perscancer_payload(card: DispensaryCard) -> dict[str, Any]:
    return _clean(
        {
            "REG_ID": str(card.pk),
            "BDZ_ID": str(card.person.fund_person_id or ""),
            "DS": card.diagnosis,
            "DATE_IN": _date(card.date_in),
            "DATE_OUT": _date(card.date_out),
            "CAUSEOUT": str(card.result_out or ""),
        }
    )


def disp_delete_payload(mo_code: str, card_id: str) -> dict[str, str]:
    return {"CODE_MO": mo_code, "DISP_ID": card_id}


def perscancer_delete_payload(card_id: str) -> dict[str, str]:
    return {"REG_ID": card_id}


def _is_delete(payload: dict[str, Any]) -> bool:
    return "DS" not in payload and "DATE_IN" not in payload and "FAM" not in payload


def disp_check(payload: dict[str, Any]) -> list[str]:
    """The card's own gaps in plain words, before the XSD speaks (issue 10, "Bad input")."""
    if _is_delete(payload):
        return []
    errors = []
    if "SNILS_VR" not in payload:
        errors.append("не указан СНИЛС врача")
    if "DS" not in payload:
        errors.append("не указан диагноз")
    if "DATE_IN" not in payload:
        errors.append("не указана дата взятия под наблюдение")
    return errors


def dispout_check(payload: dict[str, Any]) -> list[str]:
    if _is_delete(payload):
        return []
    errors = disp_check({**payload, "DATE_IN": "-"})
    if "RESULT_OUT" not in payload:
        errors.append("не указана причина снятия с наблюдения")
    return errors


def perscancer_check(payload: dict[str, Any]) -> list[str]:
    if "REG_ID" in payload and len(payload) == 1:
        return []
    return [] if "DATE_IN" in payload else ["не указана дата взятия под наблюдение"]
