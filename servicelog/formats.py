"""The ANSWER package (formats §2.4): ours to the fund's packages, and the fund's to ours (both variants)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

ANSWER_XSD = Path(__file__).resolve().parent / "xsd" / "answer.xsd"


def answer_build(payload: dict[str, Any], operation: str, message_id: str) -> etree._Element:
    """payload: QUEUE_NAME, TYPE, MESSAGE_ID (of the answered message), RESULT, ERRORS [[code, text]]."""
    root = etree.Element("ANSWER")
    header = etree.SubElement(root, "HEADER")
    for tag in ("QUEUE_NAME", "TYPE", "MESSAGE_ID"):
        etree.SubElement(header, tag).text = str(payload[tag])
    results = etree.SubElement(etree.SubElement(root, "BODY"), "RESULTS")
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
