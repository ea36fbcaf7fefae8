"""PERSONATTACHDISTRICT ("единый пакет с участками") and PERSONATTACH (formats §4.3), TAI envelope.

The payload is built from an attachment and what belongs to it; the journal shows it as `<Тег>: <Данные>`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from registry.checkdigits import digits_only, snils_format
from registry.models import Attachment, IdentityDocument, Policy, Site
from servicelog.envelope import TAI, Envelope

XSD_DIR = Path(__file__).resolve().parent.parent / "xsd"
PERSONATTACHDISTRICT_XSD = XSD_DIR / "personattachdistrict.xsd"
PERSONATTACH_XSD = XSD_DIR / "personattach.xsd"

PAD_HEADER = ("CODE_MO", "ID_MO", "PERSONATTACHID")
PAD_BODY = (
    "BDZID",
    "ID_PAC",
    "FAM",
    "IM",
    "OT",
    "W",
    "DR",
    "SMO",
    "VPOLIS",
    "SPOLIS",
    "NPOLIS",
    "DOCTYPE",
    "DOCSER",
    "DOCNUM",
    "SNILS",
    "INFO_TYPE",
    "DATE",
    "ATTACH_TYPE",
    "T_PRIK",
    "ATTACH_DT_MO",
    "ATTACH_CODE_MO",
    "DETACH_DT_MO",
    "DETACH_CAUSE_MO",
    "PODR",
    "OTD",
    "UCH",
    "UCH_TYPE",
    "SNILS_VR",
    "ATTACH_DT",
    "PODR_F",
    "OTD_F",
    "UCH_F",
    "SNILS_VR_F",
    "ATTACH_DT_F",
    "DETACH_DT_F",
    "DETACH_F_CAUSE",
)
PA_HEADER = ("CODE_MO", "PERSONATTACHID")
PA_BODY = (
    "BDZID",
    "LPUREGION_ID",
    "LPUREGIONFAP_ID",
    "PERSONATTACHDATE",
    "PERSONATTACHENDT",
    "PERSONATTACHUSL",
    "CARDCLSECAUSE",
)

# When the МО gave no close cause: re-attached to another МО, another district of the same МО, other
# (formats §4.3, DETACH_CAUSE_MO).
CAUSE_OTHER_MO, CAUSE_OTHER_SITE, CAUSE_OTHER = 1, 4, 9


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def _site_codes(site: Site | None) -> tuple[str, str, str]:
    """PODR (building), OTD (department), UCH (district number) as integers, when the district has them."""
    if site is None:
        return "", "", ""
    department = site.department
    number = digits_only(site.number)
    return (
        str(int(department.subdivision.code)) if department else "",
        str(int(department.code)) if department else "",
        str(int(number)) if number else "",
    )


def detach_cause(attachment: Attachment, later_mo_id: int | None) -> str:
    """The МО's close cause, else what the next attachment (the МО it is in) says about it."""
    if attachment.date_to is None:
        return ""
    if attachment.close_cause:
        return str(attachment.close_cause)
    if later_mo_id is None:
        return str(CAUSE_OTHER)
    return str(CAUSE_OTHER_MO if later_mo_id != attachment.mo_id else CAUSE_OTHER_SITE)


def person_attach_district_payload(
    attachment: Attachment,
    *,
    policy: Policy | None,
    document: IdentityDocument | None,
    later_mo_id: int | None,
    today: dt.date,
) -> dict[str, str]:
    """PERSONATTACHDISTRICT of one attachment: the person, the policy, the main and ФАП districts."""
    person = attachment.person
    mo = attachment.mo
    site, fap = attachment.site, attachment.fap_site
    detached = attachment.date_to is not None and attachment.date_to <= today
    podr, otd, uch = _site_codes(site)
    podr_f, otd_f, uch_f = _site_codes(fap)
    doctor = site.doctor if site else None
    fap_doctor = fap.doctor if fap else None
    series = document.series if document else ""
    if document is not None and document.doc_type == 14 and len(series) == 4 and series.isdigit():
        series = f"{series[:2]} {series[2:]}"  # a Russian passport's series is sent as NN NN (formats §4.3)
    if attachment.method == Attachment.Method.BY_APPLICATION:
        attach_type = "2"
    elif attachment.method == Attachment.Method.BY_ADDRESS or attachment.is_conditional:
        attach_type = "1"
    else:
        attach_type = ""  # no data about the way of attachment
    values = {
        "CODE_MO": mo.code,
        "ID_MO": mo.oid,
        "PERSONATTACHID": str(attachment.pk),
        "BDZID": str(person.fund_person_id) if person.fund_person_id else "",
        "ID_PAC": str(person.pk),
        "FAM": person.last_name.upper()[:30],
        "IM": person.first_name.upper()[:30],
        "OT": person.middle_name.upper()[:30],
        "W": str(person.sex),
        "DR": _date(person.birth_date),
        "SMO": policy.smo.code if policy and policy.smo else "",
        "VPOLIS": str(policy.policy_type) if policy else "",
        "SPOLIS": policy.series if policy else "",
        "NPOLIS": (policy.enp or policy.number) if policy else "",
        "DOCTYPE": str(document.doc_type) if document else "",
        "DOCSER": series,
        "DOCNUM": document.number if document else "",
        "SNILS": snils_format(person.snils) if person.snils else "",
        "INFO_TYPE": "0" if detached else "1",
        "DATE": _date(attachment.date_to if detached else attachment.date_from),
        "ATTACH_TYPE": attach_type,
        "T_PRIK": "0",
        "ATTACH_DT_MO": _date(attachment.date_from),
        "ATTACH_CODE_MO": mo.code,
        "DETACH_DT_MO": _date(attachment.date_to),
        "DETACH_CAUSE_MO": detach_cause(attachment, later_mo_id),
        "PODR": podr,
        "OTD": otd,
        "UCH": uch,
        "UCH_TYPE": str(site.site_type) if site else "",
        "SNILS_VR": doctor.snils if doctor and doctor.snils else "",
        "ATTACH_DT": _date(attachment.date_from) if site else "",
        "PODR_F": podr_f,
        "OTD_F": otd_f,
        "UCH_F": uch_f,
        "SNILS_VR_F": fap_doctor.snils if fap_doctor and fap_doctor.snils else "",
        "ATTACH_DT_F": _date(attachment.date_from) if fap else "",
        "DETACH_DT_F": _date(attachment.date_to) if fap else "",
        "DETACH_F_CAUSE": detach_cause(attachment, later_mo_id) if fap else "",
    }
    return {tag: value for tag, value in values.items() if value != ""}


def person_attach_payload(attachment: Attachment) -> dict[str, str]:
    """PERSONATTACH of one attachment: no person data, the fund's person id (BDZID) instead."""
    person = attachment.person
    values = {
        "CODE_MO": attachment.mo.code,
        "PERSONATTACHID": str(attachment.pk),
        "BDZID": str(person.fund_person_id) if person.fund_person_id else "",
        "LPUREGION_ID": str(attachment.site_id) if attachment.site_id else "",
        "LPUREGIONFAP_ID": str(attachment.fap_site_id) if attachment.fap_site_id else "",
        "PERSONATTACHDATE": _date(attachment.date_from),
        "PERSONATTACHENDT": _date(attachment.date_to),
        "PERSONATTACHUSL": "1" if attachment.is_conditional else "",
        "CARDCLSECAUSE": str(attachment.close_cause) if attachment.close_cause else "",
    }
    return {tag: value for tag, value in values.items() if value != ""}


def delete_payload(package_type: str, mo_code: str, mo_oid: str, attachment_id: str) -> dict[str, str]:
    if package_type == "PERSONATTACH":
        return {"CODE_MO": mo_code, "PERSONATTACHID": attachment_id}
    return {"CODE_MO": mo_code, "ID_MO": mo_oid, "PERSONATTACHID": attachment_id}


def person_attach_district_check(payload: dict[str, Any]) -> list[str]:
    errors = []
    if not payload.get("ID_MO"):
        errors.append(f"У МО {payload.get('CODE_MO')} не указан OID (ID_MO обязателен)")
    return errors


def person_attach_check(payload: dict[str, Any]) -> list[str]:
    errors = []
    if "LPUREGION_ID" in payload or "PERSONATTACHDATE" in payload:  # not a Delete
        if "BDZID" not in payload:
            errors.append(
                "У человека нет идентификатора в РС ЕРЗ (BDZID): PERSONATTACH без него не передаётся"
            )
        if "LPUREGION_ID" not in payload:
            errors.append("У прикрепления не указан участок (LPUREGION_ID обязателен)")
    return errors


PERSONATTACHDISTRICT_ENVELOPE = Envelope(TAI, "PKG", header=PAD_HEADER, body=PAD_BODY, date_tag="DATA")
PERSONATTACH_ENVELOPE = Envelope(TAI, "PKG", header=PA_HEADER, body=PA_BODY)
