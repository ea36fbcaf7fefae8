"""The ANSWER package (formats §2.4): ours to the fund's packages, and the fund's to ours (both variants);
the ISZL side's replies (§3.6)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

ANSWER_XSD = Path(__file__).resolve().parent / "xsd" / "answer.xsd"


def _elements(parent: etree._Element, values: dict[str, Any]) -> None:
    """Leaf elements in the dict's order; a list repeats its tag, a dict nests; empty values are left out."""
    for tag, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                _elements(etree.SubElement(parent, tag), item)
            elif item not in (None, ""):
                etree.SubElement(parent, tag).text = str(item)


def answer_build(payload: dict[str, Any], operation: str, message_id: str) -> etree._Element:
    """payload: QUEUE_NAME, TYPE, MESSAGE_ID (of the answered message), RESULT, ERRORS [[code, text]],
    and PERSON (the answer to CHECKPERS: its fields in the XSD's order, POLIS_DATA a list)."""
    root = etree.Element("ANSWER")
    header = etree.SubElement(root, "HEADER")
    for tag in ("QUEUE_NAME", "TYPE", "MESSAGE_ID"):
        etree.SubElement(header, tag).text = str(payload[tag])
    body = etree.SubElement(root, "BODY")
    if payload.get("PERSON"):
        _elements(body, {"PERSON": payload["PERSON"]})
    results = etree.SubElement(body, "RESULTS")
    etree.SubElement(results, "RESULT").text = payload["RESULT"]
    for code, text in payload.get("ERRORS", []):
        error = etree.SubElement(results, "ERROR_RESULT")
        etree.SubElement(error, "RESULT_CODE").text = str(code)
        etree.SubElement(error, "RESULT_NAME").text = str(text)
    return root


@dataclass(frozen=True)
class Answer:
    queue_name: str
    type: str
    message_id: str  # the message this answers
    ok: bool
    errors: list[tuple[str, str]] = field(default_factory=list)
    person: dict[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "RESULT": "OK" if self.ok else "ERROR",
            "ERRORS": [{"RESULT_CODE": code, "RESULT_NAME": text} for code, text in self.errors],
            **({"PERSON": self.person} if self.person else {}),
        }


def _text(element: etree._Element | None, path: str) -> str:
    found = element.find(path) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def answer_parse(root: etree._Element) -> Answer:
    """Read an XSD-valid ANSWER; RESULT inside RESULTS or directly in BODY (the DISPPLAN variant)."""
    body = root.find("BODY")
    results = body.find("RESULTS") if body is not None else None
    holder = results if results is not None else body
    result = _text(holder, "RESULT").upper()
    errors = [
        (_text(error, "RESULT_CODE"), _text(error, "RESULT_NAME"))
        for error in (holder.findall("ERROR_RESULT") if holder is not None else [])
    ]
    person_element = body.find("PERSON") if body is not None else None
    person = (
        {child.tag: (child.text or "").strip() for child in person_element if len(child) == 0}
        if person_element is not None
        else None
    )
    return Answer(
        queue_name=_text(root, "HEADER/QUEUE_NAME"),
        type=_text(root, "HEADER/TYPE"),
        message_id=_text(root, "HEADER/MESSAGE_ID").upper(),
        ok=result == "OK" and not errors,
        errors=errors,
        person=person,
    )


# --- the ISZL side's replies (order 263, formats §3.6) ---------------------------------------


class IszlReplyUnreadable(ValueError):
    """An ISZL reply that names no package of ours in a way we can read."""


@dataclass(frozen=True)
class IszlReply:
    """A reply of the ISZL side: which object (package type + header/ID), accepted or not, its text,
    and for an ERROR the original request it carried (base64 in `body`)."""

    package_type: str
    external_id: str
    ok: bool
    description: str
    request: bytes | None = None
    operation: str = ""  # Insert / Update / Delete of the answered package ("" when not said)

    def as_json(self) -> dict[str, Any]:
        return {"RESULT": "OK" if self.ok else "ERROR", "DESCRIPTION": self.description}


def iszl_reply_parse(
    root: etree._Element, message_type: str, parse: Callable[[bytes], etree._Element]
) -> IszlReply:
    """An ERROR message (AMQP type or root ERROR) carries header/DESCRIPTION and the base64 of our
    request, whose root and header/ID name the package; any other reply is `<TYPE><header>TYPE, ID
    </header><body>RESULT, DESCRIPTION</body>`, RESULT 2 a refusal (PM-ISZL). `parse` is the
    hardened parser the decoded request goes through."""
    if root.tag == "ERROR" or "ERROR" in message_type.upper():
        description = _text(root, "header/DESCRIPTION") or "ИСЗЛ не указала причину ошибки"
        encoded = _text(root, "body")
        try:
            request = base64.b64decode(encoded, validate=True) if encoded else b""
        except (binascii.Error, ValueError) as exc:
            raise IszlReplyUnreadable(f"тело сообщения об ошибке не в base64: {exc}") from exc
        if not request:
            raise IszlReplyUnreadable(f"в сообщении об ошибке нет исходного пакета: {description}")
        original = parse(request)
        operation = _text(original, "header/TYPE")
        return IszlReply(
            str(original.tag), _text(original, "header/ID"), False, description, request, operation
        )
    external_id = _text(root, "header/ID")
    if not external_id:
        raise IszlReplyUnreadable("в ответе ИСЗЛ не указан header/ID")
    result = _text(root, "body/RESULT")
    operation = _text(root, "header/TYPE")
    operation = "Insert" if operation == "reserve" else operation  # a referral's Insert is "reserved"
    return IszlReply(
        str(root.tag), external_id, result != "2", _text(root, "body/DESCRIPTION"), None, operation
    )
