"""The two envelope styles of formats.md, built from a package type's declaration (no hand-built XML).

TAI (§2, §4.3, §5, §6): `<ROOT><HEADER>OPERATIONTYPE, [date], header fields</HEADER><BODY>…</BODY></ROOT>`.
ISZL (§3.2): `<ROOT><header>LPU, TYPE, [LPU_TO], ID (the object's GUID)</header><body>…</body></ROOT>`.
The body is omitted on Delete in both (formats §2.3) unless the type says otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils import timezone
from lxml import etree

TAI: Literal["tai"] = "tai"
ISZL: Literal["iszl"] = "iszl"


@dataclass(frozen=True)
class Envelope:
    """How a package type's payload becomes XML.

    `header` and `body` name the payload keys in their order; an absent or empty key is left out
    (the XSD says whether it may be). `date_tag` is the header's date of the package (`DATE` or
    `DATA` in TAI), today's local date. `lists` maps a body key whose value is a list to the tag of
    each item (`DATES` → `PLAN_DATE`); `groups` maps a body key whose value is a mapping to its
    leaves in their order (`SV_PL_MER` → `PERIOD`, `DISP`: stored JSON keeps no key order). ISZL
    headers take LPU / LPU_TO from the payload and ID from the object's GUID."""

    style: Literal["tai", "iszl"]
    root: str
    header: tuple[str, ...]
    body: tuple[str, ...]
    date_tag: str | None = None
    lists: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    body_on_delete: bool = False


def _add(parent: etree._Element, tag: str, value: Any, item_tag: str | None) -> None:
    if value is None or value == "" or value == []:
        return
    if isinstance(value, list | tuple):
        wrapper = etree.SubElement(parent, tag)
        for item in value:
            etree.SubElement(wrapper, item_tag or "ITEM").text = str(item)
        return
    etree.SubElement(parent, tag).text = str(value)


def _fields(
    parent: etree._Element, tags: Sequence[str], payload: Mapping[str, Any], envelope: Envelope
) -> None:
    sub = etree.SubElement
    for tag in tags:
        value = payload.get(tag)
        if type(value) is str:  # the common case, without _add's checks (forming runs this 10⁶ times)
            if value:
                sub(parent, tag).text = value
        elif isinstance(value, Mapping):
            group = sub(parent, tag)
            _fields(group, envelope.groups[tag], value, envelope)
        elif value is not None:
            _add(parent, tag, value, envelope.lists.get(tag))


def envelope_build(
    envelope: Envelope,
    payload: Mapping[str, Any],
    operation: str,
    *,
    external_id: str = "",
    today: dt.date | None = None,
) -> etree._Element:
    """The package's root element for this operation; `today` (the header date) defaults to the
    local date."""
    root = etree.Element(envelope.root)
    with_body = operation != "Delete" or envelope.body_on_delete
    if envelope.style == TAI:
        header = etree.SubElement(root, "HEADER")
        etree.SubElement(header, "OPERATIONTYPE").text = operation
        if envelope.date_tag:
            etree.SubElement(header, envelope.date_tag).text = (today or timezone.localdate()).isoformat()
        _fields(header, envelope.header, payload, envelope)
        body_tag = "BODY"
    else:
        header = etree.SubElement(root, "header")
        _add(header, "LPU", payload.get("LPU"), None)
        etree.SubElement(header, "TYPE").text = operation
        _add(header, "LPU_TO", payload.get("LPU_TO"), None)
        etree.SubElement(header, "ID").text = external_id
        body_tag = "body"
    if with_body:
        body = etree.SubElement(root, body_tag)
        _fields(body, envelope.body, payload, envelope)
    return root
