"""The wire layout of a directory for ИС Фармация (ours: `xsd/pharmacy.xsd`, README «Обмен с
аптечными организациями»). Items are (code, name, fields); a package holds one directory of one
organisation, whole or by changes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lxml import etree

XSD = Path(__file__).resolve().parent / "xsd" / "pharmacy.xsd"
ROOT = "PHARMACY_DIRECTORY"
PREFIX = "PHARM_"

Item = dict[str, Any]  # {"code": str, "name": str, "fields": {name: text}}


def package_type(directory: str) -> str:
    return f"{PREFIX}{directory.upper()}"


def item_digest(item: Item) -> str:
    """What the organisation has of an item, in short: changes mode compares these."""
    text = json.dumps([item["name"], sorted(item["fields"].items())], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def changes(items: list[Item], accepted: dict[str, str]) -> list[Item]:
    """The items that differ from what the organisation accepted (code → digest): new ones Insert,
    changed ones Update, those it has and we no longer do Delete."""
    out: list[Item] = []
    current = {item["code"] for item in items}
    for item in items:
        had = accepted.get(item["code"])
        if had is None:
            out.append({**item, "op": "Insert"})
        elif had != item_digest(item):
            out.append({**item, "op": "Update"})
    out += [
        {"code": code, "name": "", "fields": {}, "op": "Delete"} for code in sorted(set(accepted) - current)
    ]
    return out


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def build(payload: dict[str, Any], operation: str, message_id: str) -> etree._Element:
    root = etree.Element(ROOT)
    header = _sub(root, "HEADER")
    _sub(header, "MESSAGE_ID", message_id)
    _sub(header, "OPERATIONTYPE", operation)
    _sub(header, "ORG_CODE", payload["org"])
    _sub(header, "DIRECTORY", payload["directory"])
    _sub(header, "MODE", payload["mode"])
    _sub(header, "COUNT", str(len(payload["items"])))
    body = _sub(root, "BODY")
    for item in payload["items"]:
        element = _sub(body, "ITEM")
        if item.get("op"):
            _sub(element, "OP", item["op"])
        _sub(element, "CODE", item["code"])
        if item.get("op") == "Delete":
            continue
        if item["name"]:
            _sub(element, "NAME", item["name"])
        for name, value in item["fields"].items():
            if value not in ("", None):
                field = _sub(element, "FIELD")
                _sub(field, "N", name)
                _sub(field, "V", str(value))
    return root
