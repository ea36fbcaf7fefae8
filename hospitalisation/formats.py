"""Wire layouts of order 263 (formats §3.2–§3.3): the ten ISZL packages, their bodies field by field.

External tag names live only here. Codes: a building is MCOD + its 3-digit code (BRANCH), a
department MCOD + building + its 3-digit code (DIVISION); a referral number MCOD + year + 6 digits.
Objects refer to each other by GUIDs the engine keeps (`BRANCH_ID`, `DLSB`, `HOSPITALISATION_ID`);
the patient's GUID is derived from the person's id, so it is the same in every package about them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from django.utils import timezone

from registry.models import BedProfile, Department, Person, Sex, Subdivision
from servicelog.envelope import ISZL, Envelope

from .models import Referral, Stay

XSD = Path(__file__).resolve().parent / "xsd" / "iszl.xsd"

BRANCH = "BRANCH"
DIVISION = "DIVISION"
DLSB = "DIVISION_LINK_STRUCTURE_BED"
AMOUNT_BED = "AMOUNT_BED"
FREE_BEDS = "FREE_BEDS_INFORMATION"
REFERRAL = "HOSPITALISATION_REFERRAL"
CANCEL_REFERRAL = "CANCEL_HOSPITALISATION_REFERRAL"
HOSPITALISATION = "HOSPITALISATION"
MOTION = "MOTION_IN_HOSPITAL"
CANCEL_HOSPITALISATION = "CANCEL_HOSPITALISATION"

G = Department.GroupType
K = Subdivision.Kind
# The subdivision types and department groups the fund is told about (manual §4.4.5.1.2).
BRANCH_KINDS = (K.HOSPITAL, K.POLYCLINIC, K.EMS)
DIVISION_GROUPS = (G.ROUND_THE_CLOCK, G.DAY_HOSPITAL, G.DAY_HOME, G.DAY_POLYCLINIC, G.ADMISSION)
CATEGORY = {K.POLYCLINIC: "1", K.HOSPITAL: "2", K.EMS: "5"}
# DIVISION_TYPE (formats §3.3); "Стационар на дому" has no public code: 8 is our choice (README).
DIVISION_TYPE = {
    G.ROUND_THE_CLOCK: "1",
    G.DAY_HOSPITAL: "9",
    G.DAY_POLYCLINIC: "7",
    G.ADMISSION: "6",
    G.DAY_HOME: "8",
}
# USL_OK (V006): 1 round-the-clock stationary, 2 day stationary of any kind.
USL_OK = {
    G.ROUND_THE_CLOCK: "1",
    G.ADMISSION: "1",
    G.DAY_HOSPITAL: "2",
    G.DAY_HOME: "2",
    G.DAY_POLYCLINIC: "2",
}
SEX = {Sex.MALE: "10301", Sex.FEMALE: "10302"}
PATIENT_NAMESPACE = uuid.UUID("6f1c0e52-3b7a-4d0e-9a43-2630c0d54d2b")  # ours: patient GUIDs


def _iszl(root: str, body: str, to: bool = False) -> Envelope:
    """An ISZL envelope; `body` names the body's tags in the order they are sent."""
    return Envelope(ISZL, root, header=("LPU", "LPU_TO") if to else ("LPU",), body=tuple(body.split()))


_PATIENT = "POLICY_TYPE POLIS_SERIAL POLIS_NUMBER SMO FIRST_NAME LAST_NAME FATHER_NAME SEX BIRTHDAY"
# The bodies of formats §3.3, field by field.
ENVELOPES: dict[str, Envelope] = {
    BRANCH: _iszl(BRANCH, "BR_CODE NAME DATE_ADD ADDRESS LPU_TYPE CATEGORY PHONE ACTIVE DATE_REMOVE"),
    DIVISION: _iszl(
        DIVISION,
        "DV_CODE NAME FULLNAME LEVEL CODE_MZ PHONE ADDRESS BRANCH_ID DIVISION_TYPE REVENUE_TYPE ACTIVE "
        "ID_NUMBER_CARD",
    ),
    DLSB: _iszl(DLSB, "DIVISION_ID STRUCTURE_BED V020_STRUCTURE_BED"),
    AMOUNT_BED: _iszl(
        AMOUNT_BED,
        "DATE_BEGIN DATE_END FEMALE_BED MALE_BED BEDS_COUNT REPAIR_BED PLANNED_BEDS_COUNT PLANNED_MALE_BED "
        "PLANNED_FEMALE_BED DLSB",
    ),
    FREE_BEDS: _iszl(FREE_BEDS, "ACTUAL_DATE AMOUNT DLSB"),
    REFERRAL: _iszl(
        REFERRAL,
        "REFERRAL_NUMBER REFERRAL_DATE HOSPITALISATION_DATE HOSPITALISATION_TYPE BRANCH_TO DIVISION_TO "
        "V020_STRUCTURE_BED STRUCTURE_BED BRANCH_FROM MKB DIAGNOSIS PLANNED_DATE USL_OK DOC_CODE "
        f"{_PATIENT} PHONE PATIENT ANOTHER_REGION",
        to=True,
    ),
    CANCEL_REFERRAL: _iszl(
        CANCEL_REFERRAL,
        "REFERRAL_NUMBER DATE REFERRAL_LPU BRANCH REASON CANCEL_SOURSE DATE_CANCEL CANCEL_TYPE "
        "CANCEL_DESCRIPTION PATIENT",
        to=True,
    ),
    HOSPITALISATION: _iszl(
        HOSPITALISATION,
        "REFERRAL_NUMBER REFERRAL_DATE REFERRAL_MO MO BRANCH DIVISION FORM_MEDICAL_CARE HOSPITALISATION_DATE "
        f"HOSPITALISATION_TIME {_PATIENT} USL_OK V020_STRUCTURE_BED STRUCTURE_BED MED_CARD_NUMBER MKB "
        "DIAGNOSIS PATIENT",
    ),
    MOTION: _iszl(
        MOTION,
        "HOSPITALISATION_ID BRANCH DIVISION V020_STRUCTURE_BED STRUCTURE_BED DATE_IN DATE_OUT "
        "MED_CARD_NUMBER "
        "HOSPITALISATION_DATE USL_OK OUTCOME",
    ),
    CANCEL_HOSPITALISATION: _iszl(
        CANCEL_HOSPITALISATION,
        "DATE HOSPITALISATION_ID BRANCH REASON CANCEL_SOURSE DATE_CANCEL CANCEL_TYPE "
        "HOSPITALISATION_DIVISION "
        "MED_CARD_NUMBER PATIENT",
    ),
}


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {tag: value for tag, value in values.items() if value not in ("", None)}


def branch_code(subdivision: Subdivision) -> str:
    return f"{subdivision.mo.code}{subdivision.code}"


def division_code(department: Department) -> str:
    return f"{branch_code(department.subdivision)}{department.code}"


def patient_guid(person_id: int) -> str:
    """The patient's GUID (PATIENT): stable for a person, the same in every package about them."""
    return str(uuid.uuid5(PATIENT_NAMESPACE, f"person:{person_id}")).upper()


def delete_payload(mo_code: str) -> dict[str, Any]:
    return {"LPU": mo_code}


# --- stage 1: structure ---------------------------------------------------------------------


def branch_payload(subdivision: Subdivision) -> dict[str, Any]:
    return _clean(
        {
            "LPU": subdivision.mo.code,
            "BR_CODE": branch_code(subdivision),
            "NAME": subdivision.name,
            "DATE_ADD": _date(subdivision.date_open or subdivision.created_at.date()),
            "ADDRESS": subdivision.address,
            "LPU_TYPE": str(subdivision.age_group),
            "CATEGORY": CATEGORY[Subdivision.Kind(subdivision.kind)],
            "PHONE": subdivision.phone,
            "ACTIVE": "0" if subdivision.date_close else "1",
            "DATE_REMOVE": _date(subdivision.date_close),
        }
    )


def division_payload(department: Department, branch_guid: str) -> dict[str, Any]:
    subdivision = department.subdivision
    code = division_code(department)
    return _clean(
        {
            "LPU": subdivision.mo.code,
            "DV_CODE": code,
            "NAME": department.name[:500],
            "FULLNAME": f"{subdivision.name}. {department.name}"[:500],
            "LEVEL": "1",
            "CODE_MZ": code,
            "PHONE": department.phone or subdivision.phone,
            "ADDRESS": subdivision.address,
            "BRANCH_ID": branch_guid,
            "DIVISION_TYPE": DIVISION_TYPE[Department.GroupType(department.group_type)],
            "REVENUE_TYPE": "12901" if department.is_oms else "12902",
            "ACTIVE": "0" if department.date_close or subdivision.date_close else "2",
            "ID_NUMBER_CARD": str(department.pk),
        }
    )


def dlsb_payload(profile: BedProfile) -> dict[str, Any]:
    department = profile.department
    return _clean(
        {
            "LPU": department.subdivision.mo.code,
            "DIVISION_ID": division_code(department),
            "STRUCTURE_BED": department.profile_code,
            "V020_STRUCTURE_BED": profile.profile_code,
        }
    )


def planned_beds(profile: BedProfile, beds: int) -> int:
    """Beds that can take a patient: those in service less those under repair."""
    return max(beds - profile.repair_beds, 0)


def amount_bed_payload(profile: BedProfile, beds: int, dlsb_guid: str) -> dict[str, Any]:
    """Beds now in service on the profile; repairs are beds in service but not usable."""
    planned = planned_beds(profile, beds)
    return _clean(
        {
            "LPU": profile.department.subdivision.mo.code,
            "DATE_BEGIN": _date(profile.date_begin),
            "DATE_END": _date(profile.date_end),
            "BEDS_COUNT": str(beds),
            "REPAIR_BED": str(profile.repair_beds),
            "PLANNED_BEDS_COUNT": str(planned),
            "DLSB": dlsb_guid,
        }
    )


def free_beds_payload(
    mo_code: str, planned: int, occupied: int, dlsb_guid: str, today: dt.date
) -> dict[str, Any]:
    """AMOUNT = planned beds − patients now on the profile (formats §3.3); negative when overfull."""
    return {
        "LPU": mo_code,
        "ACTUAL_DATE": today.isoformat(),
        "AMOUNT": str(planned - occupied),
        "DLSB": dlsb_guid,
    }


# --- stage 2: referrals, stays, movements ---------------------------------------------------


def _patient(person: Person, on: dt.date) -> dict[str, str]:
    policy = person.policy_on(on)
    number = ""
    if policy is not None:
        number = policy.enp if policy.policy_type == 3 else policy.number
    return {
        "POLICY_TYPE": str(policy.policy_type) if policy else "",
        "POLIS_SERIAL": policy.series if policy and policy.policy_type != 3 else "",
        "POLIS_NUMBER": number,
        "SMO": policy.smo.code if policy and policy.smo else "",
        "FIRST_NAME": person.first_name.upper()[:60],
        "LAST_NAME": person.last_name.upper()[:60],
        "FATHER_NAME": person.middle_name.upper()[:60],
        "SEX": SEX.get(Sex(person.sex), ""),
        "BIRTHDAY": _date(person.birth_date),
        "PATIENT": patient_guid(person.pk),
    }


def _bed(department: Department | None, profile: BedProfile | None) -> dict[str, str]:
    if department is None:
        return {}
    return {
        "BRANCH": branch_code(department.subdivision),
        "DIVISION": division_code(department),
        "STRUCTURE_BED": department.profile_code,
        "V020_STRUCTURE_BED": profile.profile_code if profile else "",
        "USL_OK": USL_OK.get(Department.GroupType(department.group_type), ""),
    }


def referral_payload(referral: Referral) -> dict[str, Any]:
    """HOSPITALISATION_DATE and PLANNED_DATE by formats §3.3: the planned date, else the referral date
    + 30 days; the desired date, else the referral date + 14 days."""
    bed = _bed(referral.to_department, referral.to_bed_profile)
    doctor = referral.doctor.snils if referral.doctor else ""
    return _clean(
        {
            "LPU": referral.mo.code,
            "LPU_TO": referral.to_mo.code,
            "REFERRAL_NUMBER": referral.full_number,
            "REFERRAL_DATE": _date(referral.referral_date),
            "HOSPITALISATION_DATE": _date(
                referral.planned_date or referral.referral_date + dt.timedelta(days=30)
            ),
            "HOSPITALISATION_TYPE": "1" if referral.kind == Referral.Kind.EMERGENCY else "0",
            "BRANCH_TO": bed.get("BRANCH", ""),
            "DIVISION_TO": bed.get("DIVISION", ""),
            "V020_STRUCTURE_BED": bed.get("V020_STRUCTURE_BED", ""),
            "STRUCTURE_BED": bed.get("STRUCTURE_BED", ""),
            "BRANCH_FROM": branch_code(referral.from_subdivision),
            "MKB": referral.diagnosis.upper(),
            "DIAGNOSIS": referral.diagnosis_text,
            "PLANNED_DATE": _date(referral.desired_date or referral.referral_date + dt.timedelta(days=14)),
            "USL_OK": bed.get("USL_OK", ""),
            "DOC_CODE": "" if doctor.strip("0") == "" else doctor,
            **_patient(referral.person, referral.referral_date),
            "PHONE": referral.phone or "не указан",
            "ANOTHER_REGION": "0",
        }
    )


def cancel_referral_payload(referral: Referral) -> dict[str, Any]:
    return _clean(
        {
            "LPU": referral.mo.code,
            "LPU_TO": referral.to_mo.code,
            "REFERRAL_NUMBER": referral.full_number,
            "DATE": _date(referral.referral_date),
            "REFERRAL_LPU": referral.mo.code,
            "BRANCH": branch_code(referral.from_subdivision),
            "REASON": str(referral.cancel_reason if referral.cancel_reason is not None else 0),
            "CANCEL_SOURSE": str(referral.cancel_source or Referral.CancelSource.REFERRING_MO),
            "DATE_CANCEL": _date(referral.cancelled_at),
            "CANCEL_TYPE": "0",
            "CANCEL_DESCRIPTION": referral.cancel_description,
            "PATIENT": patient_guid(referral.person_id),
        }
    )


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def hospitalisation_payload(stay: Stay) -> dict[str, Any]:
    admitted = _local(stay.admitted_at)
    referral = stay.referral
    bed = _bed(stay.department, stay.bed_profile)
    return _clean(
        {
            "LPU": stay.mo.code,
            "REFERRAL_NUMBER": referral.full_number if referral else "",
            "REFERRAL_DATE": _date(referral.referral_date) if referral else "",
            "REFERRAL_MO": referral.mo.code if referral else "",
            "MO": stay.mo.code,
            "BRANCH": bed.get("BRANCH", ""),
            "DIVISION": bed.get("DIVISION", ""),
            "FORM_MEDICAL_CARE": str(stay.form_of_care),
            "HOSPITALISATION_DATE": admitted.date().isoformat(),
            "HOSPITALISATION_TIME": admitted.strftime("%Y-%m-%d %H:%M:%S"),
            **_patient(stay.person, admitted.date()),
            "USL_OK": bed.get("USL_OK", ""),
            "V020_STRUCTURE_BED": bed.get("V020_STRUCTURE_BED", ""),
            "STRUCTURE_BED": bed.get("STRUCTURE_BED", ""),
            "MED_CARD_NUMBER": stay.card_number,
            "MKB": stay.diagnosis.upper(),
            "DIAGNOSIS": stay.diagnosis_text,
        }
    )


def motion_payload(
    *,
    stay: Stay,
    department: Department,
    profile: BedProfile | None,
    date_in: dt.date,
    date_out: dt.date | None,
    outcome: int | None,
    hospitalisation_guid: str,
) -> dict[str, Any]:
    """One movement of a stay (its fields passed one by one: a run reads 10⁵ of them as plain rows)."""
    bed = _bed(department, profile)
    return _clean(
        {
            "LPU": stay.mo.code,
            "HOSPITALISATION_ID": hospitalisation_guid,
            **{
                tag: bed.get(tag, "") for tag in ("BRANCH", "DIVISION", "V020_STRUCTURE_BED", "STRUCTURE_BED")
            },
            "DATE_IN": _date(date_in),
            "DATE_OUT": _date(date_out),
            "MED_CARD_NUMBER": stay.card_number,
            "HOSPITALISATION_DATE": _local(stay.admitted_at).date().isoformat(),
            "USL_OK": bed.get("USL_OK", ""),
            "OUTCOME": str(outcome) if outcome else "",
        }
    )


def cancel_hospitalisation_payload(stay: Stay, hospitalisation_guid: str) -> dict[str, Any]:
    admitted = _local(stay.admitted_at).date()
    return _clean(
        {
            "LPU": stay.mo.code,
            "DATE": admitted.isoformat(),
            "HOSPITALISATION_ID": hospitalisation_guid,
            "BRANCH": branch_code(stay.subdivision),
            "REASON": str(stay.refusal_reason if stay.refusal_reason is not None else 0),
            "CANCEL_SOURSE": "1",
            "DATE_CANCEL": _date(stay.refused_at or admitted),
            "CANCEL_TYPE": "1",
            "HOSPITALISATION_DIVISION": division_code(stay.department) if stay.department else "",
            "MED_CARD_NUMBER": stay.card_number,
            "PATIENT": patient_guid(stay.person_id),
        }
    )


# --- readable checks before the XSD (issue 12, "Bad input") --------------------------------


def _is_delete(payload: dict[str, Any]) -> bool:
    return set(payload) <= {"LPU", "LPU_TO"}


def _missing(payload: dict[str, Any], named: dict[str, str]) -> list[str]:
    return [text for tag, text in named.items() if tag not in payload]


_PATIENT_NAMED = {
    "POLICY_TYPE": "у пациента нет действующего полиса ОМС",
    "SMO": "в полисе пациента не указана СМО",
}


def _owned(payload: dict[str, Any], codes: dict[str, str]) -> list[str]:
    """A building or department code (tag → the header field of the МО it must belong to) of
    another МО is named, never sent under ours (issue 12, "Bad input")."""
    errors = []
    for tag, owner in codes.items():
        code, mo = payload.get(tag, ""), payload.get(owner, "")
        if code and mo and not code.startswith(mo):
            whose = "МО отправителя" if owner == "LPU" else "МО госпитализации (LPU_TO)"
            errors.append(f"{tag} {code} — подразделение не {whose} {mo}")
    return errors


_STAY_CODES = {"BRANCH": "LPU", "DIVISION": "LPU"}


def referral_check(payload: dict[str, Any]) -> list[str]:
    if _is_delete(payload):
        return []
    named = {"DIVISION_TO": "не указано отделение госпитализации (DIVISION_TO)"}
    if "DIVISION_TO" in payload:
        named["STRUCTURE_BED"] = "у отделения госпитализации не указан профиль (V002, STRUCTURE_BED)"
    return (
        _missing(
            payload,
            {**named, "V020_STRUCTURE_BED": "не указан профиль койки (V020_STRUCTURE_BED)", **_PATIENT_NAMED},
        )
        + _owned(payload, {"BRANCH_FROM": "LPU", "BRANCH_TO": "LPU_TO", "DIVISION_TO": "LPU_TO"})
        + _number_check(payload)
    )


def _number_check(payload: dict[str, Any]) -> list[str]:
    number = payload.get("REFERRAL_NUMBER", "")
    return [] if len(number) == 16 else [f"номер направления {number} длиннее 6 цифр номера в году"]


def cancel_referral_check(payload: dict[str, Any]) -> list[str]:
    return [] if _is_delete(payload) else _owned(payload, {"BRANCH": "LPU"})


def hospitalisation_check(payload: dict[str, Any]) -> list[str]:
    if _is_delete(payload):
        return []
    named = {"DIVISION": "не указано отделение госпитализации (DIVISION)"}
    if "DIVISION" in payload:
        named["STRUCTURE_BED"] = "у отделения не указан профиль (V002, STRUCTURE_BED)"
    return _missing(payload, {**named, **_PATIENT_NAMED}) + _owned(payload, _STAY_CODES)


def motion_check(payload: dict[str, Any]) -> list[str]:
    if _is_delete(payload):
        return []
    errors = _missing(payload, {"STRUCTURE_BED": "у отделения не указан профиль (V002, STRUCTURE_BED)"})
    if payload.get("DATE_OUT") and payload["DATE_OUT"] < payload.get("DATE_IN", ""):
        errors.append(
            f"дата выбытия из отделения (DATE_OUT {payload['DATE_OUT']}) раньше даты поступления "
            f"(DATE_IN {payload.get('DATE_IN')})"
        )
    return errors + _owned(payload, _STAY_CODES)


def cancel_hospitalisation_check(payload: dict[str, Any]) -> list[str]:
    if _is_delete(payload):
        return []
    return _missing(
        payload, {"HOSPITALISATION_DIVISION": "не указано отделение отказа (HOSPITALISATION_DIVISION)"}
    ) + _owned(payload, {"BRANCH": "LPU", "HOSPITALISATION_DIVISION": "LPU"})


def dlsb_check(payload: dict[str, Any]) -> list[str]:
    if _is_delete(payload):
        return []
    return _missing(payload, {"STRUCTURE_BED": "у отделения не указан профиль (V002, STRUCTURE_BED)"})


CHECKS = {
    DLSB: dlsb_check,
    REFERRAL: referral_check,
    CANCEL_REFERRAL: cancel_referral_check,
    HOSPITALISATION: hospitalisation_check,
    MOTION: motion_check,
    CANCEL_HOSPITALISATION: cancel_hospitalisation_check,
}
