"""Wire layouts of prophylaxis plans (formats §7): DISPPLAN over RabbitMQ (TAI envelope, §7.3), its
S_DPM archive, the PROF file of order 88 (§7.1) and the fund's OSHIB_PR error reply (§7.2).
External tag names live only here."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from registry.checkdigits import digits_only, snils_format
from registry.models import Attachment, IdentityDocument, Mo, Person, Policy
from servicelog.envelope import TAI, Envelope, envelope_build

from .models import PlanPerson

XSD_DIR = Path(__file__).resolve().parent / "xsd"
DISPPLAN_XSD = XSD_DIR / "dispplan.xsd"
OSHIB_PR_XSD = XSD_DIR / "oshib_pr.xsd"

DISPPLAN_ENVELOPE = Envelope(
    TAI,
    "PKG",
    header=("CODE_MO", "ID_MO", "YEAR", "QUART", "ZAP"),
    body=(
        "ID_PAC",
        "BDZ_ID",
        "FAM",
        "IM",
        "OT",
        "W",
        "DR",
        "MR",
        "DOCTYPE",
        "DOCSER",
        "DOCNUM",
        "DOCDATE",
        "SNILS",
        "ENP",
        "VPOLIS",
        "SPOLIS",
        "NPOLIS",
        "SMOCOD",
        "DOC_SNILS",
        "PERSONATTACHDATE",
        "PERSONATTACHMETHOD",
        "PERSONATTACHTYPE",
        "LPUREGION_NAME",
        "LPUREGIONTYPE",
        "LPUSECTION_CODETFOMS",
        "LPUBUILDING_CODETFOMS",
        "SV_PL_MER",
    ),
    date_tag="DATA",
    groups={"SV_PL_MER": ("PERIOD", "DISP")},
)

# OT is "НЕТ" in PROF when the person has none or it is not Cyrillic (formats §7.1).
CYRILLIC = re.compile(r"^[А-ЯЁа-яё][А-ЯЁа-яё \-]*$")


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def _series(document: IdentityDocument | None) -> str:
    series = document.series if document else ""
    if document is not None and document.doc_type == 14 and len(series) == 4 and series.isdigit():
        return f"{series[:2]} {series[2:]}"  # a Russian passport's series: NN NN
    return series


def _policy_fields(policy: Policy | None) -> dict[str, str]:
    """VPOLIS/SPOLIS/NPOLIS and ENP (only for a single-number policy, F008 = 3; NPOLIS then the ЕНП)."""
    if policy is None:
        return {}
    single = policy.policy_type == 3
    return {
        "ENP": policy.enp if single else "",
        "VPOLIS": str(policy.policy_type),
        "SPOLIS": "" if single else policy.series,
        "NPOLIS": (policy.enp or policy.number) if single else (policy.number or policy.enp),
    }


def plan_quarter(entry: PlanPerson) -> int:
    """The quarter of the planned event: the person's own, from their month, or the plan's last one."""
    if entry.quarter:
        return entry.quarter
    if entry.month:
        return (entry.month - 1) // 3 + 1
    return entry.plan.last_quarter


def _attachment_fields(attachment: Attachment | None) -> dict[str, str]:
    """The person's attachment to the plan's МО: its district, the district doctor, how attached."""
    if attachment is None:
        return {}
    site = attachment.site
    department = site.department if site else None
    doctor = site.doctor if site else None
    by_application = attachment.method == Attachment.Method.BY_APPLICATION
    return {
        "DOC_SNILS": snils_format(doctor.snils) if doctor and doctor.snils else "",
        "PERSONATTACHDATE": _date(attachment.date_from),
        "PERSONATTACHMETHOD": "2" if by_application else "1",  # 1 conditional/by address, 2 application
        "PERSONATTACHTYPE": "0",
        "LPUREGION_NAME": site.number if site else "",
        "LPUREGIONTYPE": str(site.site_type) if site else "",
        "LPUSECTION_CODETFOMS": department.code if department else "",
        "LPUBUILDING_CODETFOMS": department.subdivision.code if department else "",
    }


def dispplan_payload(
    entry: PlanPerson,
    *,
    policy: Policy | None,
    document: IdentityDocument | None,
    attachment: Attachment | None = None,
) -> dict[str, Any]:
    """DISPPLAN of one person in a plan (generic layout, formats §7.3): one message per person, with
    the person's attachment to the plan's МО when there is one."""
    person: Person = entry.person
    plan = entry.plan
    mo: Mo = plan.mo
    values: dict[str, Any] = {
        "CODE_MO": mo.code,
        "ID_MO": mo.oid,
        "YEAR": str(plan.year),
        "QUART": str(plan_quarter(entry)),
        "ZAP": str(entry.pk),
        "ID_PAC": str(person.pk),
        "BDZ_ID": str(person.fund_person_id or ""),
        "FAM": person.last_name.upper()[:40],
        "IM": person.first_name.upper()[:40],
        "OT": person.middle_name.upper()[:40],
        "W": str(person.sex),
        "DR": _date(person.birth_date),
        "MR": person.birth_place[:100],
        "DOCTYPE": str(document.doc_type) if document else "",
        "DOCSER": _series(document),
        "DOCNUM": document.number if document else "",
        "DOCDATE": _date(document.issued_at) if document else "",
        "SNILS": snils_format(person.snils) if person.snils else "",
        **_policy_fields(policy),
        "SMOCOD": entry.smo.code if entry.smo else (policy.smo.code if policy and policy.smo else ""),
        **_attachment_fields(attachment),
        "SV_PL_MER": {"PERIOD": str(plan_quarter(entry)), "DISP": plan.kind},
    }
    return {tag: value for tag, value in values.items() if value not in ("", None)}


def dispplan_check(payload: dict[str, Any]) -> list[str]:
    """What the fund cannot take, in words, before the XSD speaks."""
    errors = []
    if not payload.get("ID_MO"):
        errors.append(f"У МО {payload.get('CODE_MO')} не указан OID (ID_MO обязателен)")
    if not payload.get("NPOLIS"):
        errors.append("у пациента нет полиса ОМС (NPOLIS обязателен)")
    if not payload.get("SMOCOD"):
        errors.append("не указана СМО пациента")
    return errors


# --- file names --------------------------------------------------------------------------------


def dpm_file_name(mo_code: str, region: str, year: int, month: int, number: int) -> str:
    """S_DPM<MCOD>T<RR><YY><MM><N> (manual §4.4.5.2.2 with the region's fund code), no extension."""
    return f"S_DPM{mo_code}T{region}{year % 100:02d}{month:02d}{number}"


def prof_file_name(mo_code: str, region: str, smo_code: str, year: int, month: int, number: int) -> str:
    """PROF_M<MCOD>T<RR>[S<SMO>]_<YY><MM><N> (manual §4.5.2.1.4; no space before S), no extension."""
    smo = f"S{smo_code}" if smo_code else ""
    return f"PROF_M{mo_code}T{region}{smo}_{year % 100:02d}{month:02d}{number}"


# --- the S_DPM archive of a DISPPLAN send --------------------------------------------------------


def dpm_document(name: str, messages: list[etree._Element], today: dt.date) -> etree._Element:
    """The records of one send as a file (formats §7.3: the same records go to an archive):
    a header and every message as it was sent."""
    root = etree.Element("DISPPLAN_LIST")
    header = etree.SubElement(root, "ZGLV")
    etree.SubElement(header, "VERSION").text = "1.0"
    etree.SubElement(header, "DATA").text = today.isoformat()
    etree.SubElement(header, "FILENAME").text = name
    etree.SubElement(header, "ZAP").text = str(len(messages))
    root.extend(messages)
    return root


def dispplan_tree(payload: dict[str, Any], today: dt.date) -> etree._Element:
    return envelope_build(DISPPLAN_ENVELOPE, payload, "Insert", today=today)


# --- PROF of order 88 --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfHeader:
    file_name: str
    mo_code: str
    year: int
    quarter: int | None
    today: dt.date


def _tel(value: str) -> str:
    """The last 10 digits, only when there are at least 10 (formats §7.1)."""
    digits = digits_only(value)
    return digits[-10:] if len(digits) >= 10 else ""


def prof_record(
    entry: PlanPerson, *, policy: Policy | None, document: IdentityDocument | None, phone: str = ""
) -> etree._Element:
    """SV_PR_MER of one person (formats §7.1, Perm template order)."""
    person = entry.person
    record = etree.Element("SV_PR_MER")
    middle = person.middle_name.strip()
    single = policy is not None and policy.policy_type == 3
    fields = (
        ("NOMER_Z", str(entry.pk)),
        ("PERSON_ID", ""),
        ("SMOCOD", entry.smo.code if entry.smo else ""),
        ("ENP", policy.enp if policy else ""),
        ("FAM", person.last_name.upper()),
        ("IM", person.first_name.upper()),
        ("OT", middle.upper() if middle and CYRILLIC.match(middle) else "НЕТ"),
        ("DR", _date(person.birth_date)),
        ("W", str(person.sex)),
        ("DOCTYPE", str(document.doc_type) if document else ""),
        ("DOCSER", _series(document)),
        ("DOCNUM", document.number if document else ""),
        ("SNILS", snils_format(person.snils) if person.snils else ""),
        ("VPOLIS", str(policy.policy_type) if policy else ""),
        ("SPOLIS", "" if single or policy is None else policy.series),
        ("NPOLIS", "" if policy is None else (policy.enp or policy.number) if single else policy.number),
        ("TEL", _tel(phone)),
        ("KAT_LG", ""),
        ("COMMENT", ""),
    )
    for tag, text in fields:
        etree.SubElement(record, tag).text = text
    measure = etree.SubElement(record, "SV_PL_MER")
    etree.SubElement(measure, "QUART").text = str(plan_quarter(entry))
    etree.SubElement(measure, "DISP").text = entry.plan.kind
    return record


PROF_DECLARATION = b'<?xml version="1.0" encoding="windows-1251" standalone="yes"?>\n'


def prof_zglv(header: ProfHeader) -> etree._Element:
    """ZGLV of a PROF file; the records follow it inside ZL_LIST."""
    zglv = etree.Element("ZGLV")
    for tag, text in (
        ("VERSION", "1.0"),
        ("DATA", header.today.isoformat()),
        ("FILENAME", header.file_name),
        ("FILENAME1", ""),
        ("CODMOF", header.mo_code),
        ("YEAR", str(header.year)),
        ("QUART", str(header.quarter or "")),
    ):
        etree.SubElement(zglv, tag).text = text
    return zglv


def not_cp1251(record: etree._Element) -> list[str]:
    """The fields of a record that windows-1251 cannot hold (they would go as &#N; references)."""
    bad = []
    for element in record.iter():
        text = element.text or ""
        try:
            text.encode("cp1251")
        except UnicodeEncodeError:
            bad.append(str(element.tag))
    return bad


# --- OSHIB_PR --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorReply:
    file_name: str
    answered: str  # FNAME_I: the PROF file answered
    errors: list[tuple[str, int, str]]  # (OSHIB code, NOMER_Z, COMMENT)


def oshib_parse(root: etree._Element) -> ErrorReply:
    """An XSD-valid OSHIB_PR."""
    errors = [
        (
            (z.findtext("OSHIB") or "").strip(),
            int((z.findtext("NOMER_Z") or "0").strip()),
            (z.findtext("COMMENT") or "").strip(),
        )
        for z in root.iterfind("ZAP_OSHIB")
    ]
    return ErrorReply(
        (root.findtext("FNAME") or "").strip(), (root.findtext("FNAME_I") or "").strip(), errors
    )
