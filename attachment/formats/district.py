"""DISTRICT (formats §4.3, TAI envelope): a district of an МО, sent before attachments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registry.checkdigits import snils_format
from registry.models import Site
from servicelog.envelope import TAI, Envelope

XSD_DIR = Path(__file__).resolve().parent.parent / "xsd"
DISTRICT_XSD = XSD_DIR / "district.xsd"
DISTRICT_HEADER = ("CODE_MO", "ID_MO", "LPUREGION_ID")
DISTRICT_BODY = (
    "LPUREGION_NAME",
    "LPUREGIONTYPE",
    "LPUSECTION_CODETFOMS",
    "LPUBUILDING_CODETFOMS",
    "DOC_SNILS",
    "DOC_TYPE",
    "DOC_DATE",
    "LPUREGION_BEGDATE",
    "LPUREGION_ENDDATE",
)


def district_payload(site: Site) -> dict[str, str]:
    """What a DISTRICT package says about a site; the journal shows it as `<Тег>: <Данные>`.
    Absent optional values are left out; the package date is not part of it (it changes daily)."""
    department = site.department
    doctor = site.doctor
    values = {
        "CODE_MO": site.mo.code,
        "ID_MO": site.mo.oid,
        "LPUREGION_ID": str(site.pk),
        "LPUREGION_NAME": site.number,
        "LPUREGIONTYPE": str(site.site_type),
        "LPUSECTION_CODETFOMS": str(int(department.code)) if department else "",
        "LPUBUILDING_CODETFOMS": str(int(department.subdivision.code)) if department else "",
        "DOC_SNILS": snils_format(doctor.snils) if doctor and doctor.snils else "",
        "DOC_TYPE": str(doctor.post_type) if doctor else "",
        "DOC_DATE": site.date_begin.isoformat() if doctor else "",
        "LPUREGION_BEGDATE": site.date_begin.isoformat(),
        "LPUREGION_ENDDATE": site.date_end.isoformat() if site.date_end else "",
    }
    return {tag: value for tag, value in values.items() if value}


def district_delete_payload(mo_code: str, mo_oid: str, site_id: str) -> dict[str, str]:
    return {"CODE_MO": mo_code, "ID_MO": mo_oid, "LPUREGION_ID": site_id}


def district_check(payload: dict[str, Any]) -> list[str]:
    """Readable reasons before the XSD speaks."""
    errors = []
    if not payload.get("ID_MO"):
        errors.append(f"У МО {payload.get('CODE_MO')} не указан OID (ID_MO обязателен)")
    if "LPUREGION_NAME" in payload and "DOC_TYPE" not in payload:
        errors.append(f"У участка № {payload['LPUREGION_NAME']} не указан врач (DOC_TYPE обязателен)")
    return errors


DISTRICT_ENVELOPE = Envelope(TAI, "PKG", header=DISTRICT_HEADER, body=DISTRICT_BODY, date_tag="DATE")
