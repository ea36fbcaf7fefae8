"""The ANSWER package (reference/formats.md §2.4): building the fund's answers, reading the МО's ones."""

from __future__ import annotations

from lxml import etree

from .rules import Error
from .xmlio import text, xml_safe

DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'


def _sub(parent: etree._Element, tag: str, value: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if value is not None:
        element.text = xml_safe(value)
    return element


def build_answer(queue_name: str, package_type: str, message_id: str, errors: list[Error]) -> bytes:
    """ANSWER with RESULT OK when `errors` is empty, else ERROR and one ERROR_RESULT per error."""
    root = etree.Element("ANSWER")
    header = _sub(root, "HEADER")
    _sub(header, "QUEUE_NAME", queue_name)
    _sub(header, "TYPE", package_type)
    _sub(header, "MESSAGE_ID", message_id)
    results = _sub(_sub(root, "BODY"), "RESULTS")
    _sub(results, "RESULT", "ERROR" if errors else "OK")
    for error in errors:
        item = _sub(results, "ERROR_RESULT")
        _sub(item, "RESULT_CODE", str(error.code))
        _sub(item, "RESULT_NAME", error.name)
    return DECLARATION + etree.tostring(root, encoding="utf-8")


def read_answer(root: etree._Element) -> tuple[str | None, str | None, list[Error]]:
    """(answered MESSAGE_ID, RESULT, errors) of an ANSWER, with or without the RESULTS wrapper."""
    holder = root.find("BODY/RESULTS")
    if holder is None:
        holder = root.find("BODY")
    errors: list[Error] = []
    if holder is not None:
        for item in holder.findall("ERROR_RESULT"):
            code = text(item, "RESULT_CODE") or ""
            errors.append(
                Error(int(code) if code.lstrip("-").isdigit() else 0, text(item, "RESULT_NAME") or "")
            )
    result = text(holder, "RESULT") if holder is not None else None
    return text(root, "HEADER/MESSAGE_ID"), result, errors
