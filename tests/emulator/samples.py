"""Sample packages for the emulator tests: DISTRICT exactly as attachment/xsd/district.xsd wants it."""

from __future__ import annotations

import uuid
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[2]
ANSWER_XSD = REPO / "servicelog" / "xsd" / "answer.xsd"

CODE_MO = "590001"
ID_MO = "1.2.643.5.1.13.13.12.2.59.5901"
VALID_SNILS = "112-233-445 95"


def district(
    operation: str = "Insert",
    region_id: int = 101,
    *,
    code_mo: str = CODE_MO,
    snils: str | None = VALID_SNILS,
    name: str = "12",
    body: bool | None = None,
) -> bytes:
    """A DISTRICT package; BODY is omitted on Delete unless `body` says otherwise."""
    with_body = operation != "Delete" if body is None else body
    doc_snils = f"<DOC_SNILS>{snils}</DOC_SNILS>" if snils is not None else ""
    body_xml = (
        "<BODY>"
        f"<LPUREGION_NAME>{name}</LPUREGION_NAME>"
        "<LPUREGIONTYPE>1</LPUREGIONTYPE>"
        "<LPUSECTION_CODETFOMS>3</LPUSECTION_CODETFOMS>"
        "<LPUBUILDING_CODETFOMS>7</LPUBUILDING_CODETFOMS>"
        f"{doc_snils}"
        "<DOC_TYPE>1</DOC_TYPE>"
        "<DOC_DATE>2024-01-10</DOC_DATE>"
        "<LPUREGION_BEGDATE>2024-01-10</LPUREGION_BEGDATE>"
        "</BODY>"
        if with_body
        else ""
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        "<PKG><HEADER>"
        f"<OPERATIONTYPE>{operation}</OPERATIONTYPE>"
        "<DATE>2025-03-14</DATE>"
        f"<CODE_MO>{code_mo}</CODE_MO>"
        f"<ID_MO>{ID_MO}</ID_MO>"
        f"<LPUREGION_ID>{region_id}</LPUREGION_ID>"
        f"</HEADER>{body_xml}</PKG>"
    ).encode()


def message_id() -> str:
    return str(uuid.uuid4()).upper()


def props(mid: str | None = None, package_type: str = "DISTRICT") -> dict[str, object]:
    """AMQP properties as the portal sends them (formats §2.2)."""
    return {
        "type": package_type,
        "message_id": mid or message_id(),
        "content_type": "Xml",
        "content_encoding": "utf-8",
        "app_id": "Promed",
        "delivery_mode": 2,
    }


_answer_schema: etree.XMLSchema | None = None


def answer_problems(body: bytes) -> list[str]:
    """The answer.xsd messages for an ANSWER body (empty when valid)."""
    global _answer_schema
    if _answer_schema is None:
        _answer_schema = etree.XMLSchema(etree.parse(str(ANSWER_XSD)))
    root = etree.fromstring(body)
    return [] if _answer_schema.validate(root) else [str(e) for e in _answer_schema.error_log]


def answer_of(body: bytes) -> dict[str, object]:
    """The fields of an ANSWER body, after checking it against answer.xsd."""
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert answer_problems(body) == []
    root = etree.fromstring(body)
    return {
        "queue_name": root.findtext("HEADER/QUEUE_NAME"),
        "type": root.findtext("HEADER/TYPE"),
        "message_id": root.findtext("HEADER/MESSAGE_ID"),
        "result": root.findtext("BODY/RESULTS/RESULT"),
        "errors": [
            (int(e.findtext("RESULT_CODE") or "0"), e.findtext("RESULT_NAME") or "")
            for e in root.findall("BODY/RESULTS/ERROR_RESULT")
        ],
    }
