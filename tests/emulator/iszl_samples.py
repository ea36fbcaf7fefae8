"""Order-263 packages for the ISZL tests, as hospitalisation/xsd/iszl.xsd wants them (formats §3.2-3.3)."""

from __future__ import annotations

import base64
import uuid

from lxml import etree

from .samples import REPO

ISZL_XSD = REPO / "hospitalisation" / "xsd" / "iszl.xsd"

LPU = "590001"
LPU_TO = "590002"
BRANCH_CODE = "590001001"  # MCOD + building
DIVISION_CODE = "590001001001"  # MCOD + building + section
OTHER_DIVISION_CODE = "590002001003"  # a division of LPU_TO
REFERRAL_NUMBER = "5900012025000001"  # MCOD + year + number


def guid() -> str:
    return str(uuid.uuid4()).upper()


def envelope(
    package_type: str,
    operation: str,
    object_id: str,
    body: str,
    *,
    lpu: str = LPU,
    lpu_to: str | None = None,
    with_body: bool | None = None,
) -> bytes:
    """`<TYPE><header>LPU, TYPE, [LPU_TO], ID</header><body>…</body></TYPE>`; no body on Delete by default."""
    with_body = operation != "Delete" if with_body is None else with_body
    to = f"<LPU_TO>{lpu_to}</LPU_TO>" if lpu_to else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<{package_type}><header><LPU>{lpu}</LPU><TYPE>{operation}</TYPE>{to}<ID>{object_id}</ID></header>"
        f"{f'<body>{body}</body>' if with_body else ''}</{package_type}>"
    ).encode()


def branch(operation: str, object_id: str, *, code: str = BRANCH_CODE, lpu: str = LPU) -> bytes:
    body = (
        f"<BR_CODE>{code}</BR_CODE><NAME>Корпус 1</NAME><DATE_ADD>2020-01-09</DATE_ADD>"
        "<ADDRESS>г. Пермь, ул. Ленина, 1</ADDRESS><LPU_TYPE>3</LPU_TYPE><CATEGORY>2</CATEGORY>"
        "<PHONE>+7 342 000-00-00</PHONE><ACTIVE>1</ACTIVE>"
    )
    return envelope("BRANCH", operation, object_id, body, lpu=lpu)


def division(
    operation: str,
    object_id: str,
    *,
    branch_id: str = "00000000-0000-0000-0000-000000000000",
    code: str = DIVISION_CODE,
    code_mz: str | None = None,
    lpu: str = LPU,
) -> bytes:
    body = (
        f"<DV_CODE>{code}</DV_CODE><NAME>Кардиология</NAME><FULLNAME>Кардиологическое отделение</FULLNAME>"
        f"<LEVEL>1</LEVEL><CODE_MZ>{code_mz or code}</CODE_MZ><BRANCH_ID>{branch_id}</BRANCH_ID>"
        "<DIVISION_TYPE>1</DIVISION_TYPE><REVENUE_TYPE>12901</REVENUE_TYPE><ACTIVE>2</ACTIVE>"
        "<ID_NUMBER_CARD>1234</ID_NUMBER_CARD>"
    )
    return envelope("DIVISION", operation, object_id, body, lpu=lpu)


def dlsb(
    operation: str,
    object_id: str,
    *,
    division_code: str = DIVISION_CODE,
    v020: str = "29",
    profile: str = "29",
    lpu: str = LPU,
) -> bytes:
    body = (
        f"<DIVISION_ID>{division_code}</DIVISION_ID><STRUCTURE_BED>{profile}</STRUCTURE_BED>"
        f"<V020_STRUCTURE_BED>{v020}</V020_STRUCTURE_BED>"
    )
    return envelope("DIVISION_LINK_STRUCTURE_BED", operation, object_id, body, lpu=lpu)


def amount_bed(
    operation: str, object_id: str, *, dlsb_id: str, planned: int = 30, date_begin: str = "2025-01-01"
) -> bytes:
    body = (
        f"<DATE_BEGIN>{date_begin}</DATE_BEGIN><FEMALE_BED>15</FEMALE_BED><MALE_BED>17</MALE_BED>"
        f"<BEDS_COUNT>32</BEDS_COUNT><REPAIR_BED>2</REPAIR_BED><PLANNED_BEDS_COUNT>{planned}</PLANNED_BEDS_COUNT>"
        f"<DLSB>{dlsb_id}</DLSB>"
    )
    return envelope("AMOUNT_BED", operation, object_id, body)


def free_beds(
    operation: str, object_id: str, *, dlsb_id: str, amount: int = 7, actual_date: str = "2025-03-14"
) -> bytes:
    body = f"<ACTUAL_DATE>{actual_date}</ACTUAL_DATE><AMOUNT>{amount}</AMOUNT><DLSB>{dlsb_id}</DLSB>"
    return envelope("FREE_BEDS_INFORMATION", operation, object_id, body)


PATIENT = (
    "<POLICY_TYPE>3</POLICY_TYPE><POLIS_NUMBER>5958599730000018</POLIS_NUMBER><SMO>59007</SMO>"
    "<FIRST_NAME>ИВАН</FIRST_NAME><LAST_NAME>ПЕТРОВ</LAST_NAME><FATHER_NAME>СЕРГЕЕВИЧ</FATHER_NAME>"
    "<SEX>10301</SEX><BIRTHDAY>1960-05-17</BIRTHDAY>"
)


def referral(
    operation: str,
    object_id: str,
    *,
    number: str = REFERRAL_NUMBER,
    division_to: str = OTHER_DIVISION_CODE,
    sex: str = "10301",
    patient: str | None = None,
) -> bytes:
    body = (
        f"<REFERRAL_NUMBER>{number}</REFERRAL_NUMBER><REFERRAL_DATE>2025-03-14</REFERRAL_DATE>"
        "<HOSPITALISATION_DATE>2025-03-28</HOSPITALISATION_DATE><HOSPITALISATION_TYPE>0</HOSPITALISATION_TYPE>"
        f"<BRANCH_TO>{division_to[:9]}</BRANCH_TO><DIVISION_TO>{division_to}</DIVISION_TO>"
        "<V020_STRUCTURE_BED>29</V020_STRUCTURE_BED><STRUCTURE_BED>29</STRUCTURE_BED>"
        f"<BRANCH_FROM>{BRANCH_CODE}</BRANCH_FROM><MKB>I20.8</MKB><DIAGNOSIS>Стенокардия</DIAGNOSIS>"
        "<PLANNED_DATE>2025-03-28</PLANNED_DATE><USL_OK>1</USL_OK><DOC_CODE>11223344595</DOC_CODE>"
        f"{PATIENT.replace('<SEX>10301</SEX>', f'<SEX>{sex}</SEX>')}"
        f"<PHONE>не указан</PHONE><PATIENT>{patient or guid()}</PATIENT><ANOTHER_REGION>0</ANOTHER_REGION>"
    )
    return envelope("HOSPITALISATION_REFERRAL", operation, object_id, body, lpu_to=LPU_TO)


def cancel_referral(operation: str, object_id: str, *, number: str = REFERRAL_NUMBER) -> bytes:
    body = (
        f"<REFERRAL_NUMBER>{number}</REFERRAL_NUMBER><DATE>2025-03-14</DATE><REFERRAL_LPU>{LPU}</REFERRAL_LPU>"
        f"<BRANCH>{BRANCH_CODE}</BRANCH><REASON>1</REASON><CANCEL_SOURSE>2</CANCEL_SOURSE>"
        "<DATE_CANCEL>2025-03-15</DATE_CANCEL><CANCEL_TYPE>0</CANCEL_TYPE>"
        f"<CANCEL_DESCRIPTION>Отказ пациента</CANCEL_DESCRIPTION><PATIENT>{guid()}</PATIENT>"
    )
    return envelope("CANCEL_HOSPITALISATION_REFERRAL", operation, object_id, body, lpu_to=LPU_TO)


def hospitalisation(operation: str, object_id: str) -> bytes:
    body = (
        f"<REFERRAL_NUMBER>{REFERRAL_NUMBER}</REFERRAL_NUMBER><REFERRAL_DATE>2025-03-14</REFERRAL_DATE>"
        f"<REFERRAL_MO>{LPU}</REFERRAL_MO><MO>{LPU}</MO><BRANCH>{BRANCH_CODE}</BRANCH>"
        f"<DIVISION>{DIVISION_CODE}</DIVISION><FORM_MEDICAL_CARE>0</FORM_MEDICAL_CARE>"
        "<HOSPITALISATION_DATE>2025-03-28</HOSPITALISATION_DATE>"
        f"<HOSPITALISATION_TIME>2025-03-28 09:30:00</HOSPITALISATION_TIME>{PATIENT}<USL_OK>1</USL_OK>"
        "<V020_STRUCTURE_BED>29</V020_STRUCTURE_BED><STRUCTURE_BED>29</STRUCTURE_BED>"
        f"<MED_CARD_NUMBER>2025/123</MED_CARD_NUMBER><MKB>I20.8</MKB><PATIENT>{guid()}</PATIENT>"
    )
    return envelope("HOSPITALISATION", operation, object_id, body)


def motion(operation: str, object_id: str, *, hospitalisation_id: str) -> bytes:
    body = (
        f"<HOSPITALISATION_ID>{hospitalisation_id}</HOSPITALISATION_ID><BRANCH>{BRANCH_CODE}</BRANCH>"
        f"<DIVISION>{DIVISION_CODE}</DIVISION><V020_STRUCTURE_BED>29</V020_STRUCTURE_BED>"
        "<STRUCTURE_BED>29</STRUCTURE_BED><DATE_IN>2025-03-28</DATE_IN><DATE_OUT>2025-04-04</DATE_OUT>"
        "<MED_CARD_NUMBER>2025/123</MED_CARD_NUMBER><HOSPITALISATION_DATE>2025-03-28</HOSPITALISATION_DATE>"
        "<USL_OK>1</USL_OK><OUTCOME>1</OUTCOME>"
    )
    return envelope("MOTION_IN_HOSPITAL", operation, object_id, body)


def cancel_hospitalisation(operation: str, object_id: str, *, hospitalisation_id: str) -> bytes:
    body = (
        f"<DATE>2025-03-28</DATE><HOSPITALISATION_ID>{hospitalisation_id}</HOSPITALISATION_ID>"
        f"<BRANCH>{BRANCH_CODE}</BRANCH><REASON>2</REASON><CANCEL_SOURSE>1</CANCEL_SOURSE>"
        "<DATE_CANCEL>2025-03-28</DATE_CANCEL><CANCEL_TYPE>1</CANCEL_TYPE>"
        f"<HOSPITALISATION_DIVISION>{DIVISION_CODE}</HOSPITALISATION_DIVISION>"
        f"<MED_CARD_NUMBER>2025/123</MED_CARD_NUMBER><PATIENT>{guid()}</PATIENT>"
    )
    return envelope("CANCEL_HOSPITALISATION", operation, object_id, body)


def iszl_props(package_type: str, mid: str | None = None) -> dict[str, object]:
    """AMQP properties as the portal publishes to iszl.request: type = root tag, message_id a GUID."""
    return {
        "type": package_type,
        "message_id": mid or guid(),
        "content_type": "Xml",
        "content_encoding": "utf-8",
        "app_id": "Promed",
        "delivery_mode": 2,
    }


def root_tag(body: bytes) -> str:
    return str(etree.fromstring(body).tag)


def accepted(body: bytes) -> tuple[str, str | None, str | None, str | None, str | None]:
    """(root, header/TYPE, header/ID, body/RESULT, body/DESCRIPTION) of an accepted reply."""
    root = etree.fromstring(body)
    return (
        str(root.tag),
        root.findtext("header/TYPE"),
        root.findtext("header/ID"),
        root.findtext("body/RESULT"),
        root.findtext("body/DESCRIPTION"),
    )


def refused(body: bytes) -> tuple[str, bytes]:
    """(header/DESCRIPTION, the decoded original request) of an ERROR reply."""
    root = etree.fromstring(body)
    assert root.tag == "ERROR"
    assert [child.tag for child in root] == ["header", "body"]
    return root.findtext("header/DESCRIPTION") or "", base64.b64decode(root.findtext("body") or "")
