"""The pharmacy organisations' systems (ИС Фармация) as the emulator plays them: a directory package
is taken when its organisation is one of theirs and its item count is right; applied, it replaces
(full) or changes (changes) what that organisation holds of the directory."""

from __future__ import annotations

import os

from lxml import etree

from .rules import FORMAT_ERROR, WRONG_VALUE, Error, Known
from .xmlio import text

XSD = "pharmacy/xsd/pharmacy.xsd"
DIRECTORIES = ("mo", "subdivisions", "staff", "sites", "F002", "F008", "F011", "V005")
TYPES = tuple(f"PHARM_{directory.upper()}" for directory in DIRECTORIES)
# The organisations whose systems answer (the demo's by default); TFOMS_EMULATOR_PHARMACIES overrides.
DEFAULT_CODES = "FARM59,APT0002,APT0003"
HELD = "PHARMACY"


def organisation_codes() -> set[str]:
    return {
        c.strip() for c in os.environ.get("TFOMS_EMULATOR_PHARMACIES", DEFAULT_CODES).split(",") if c.strip()
    }


def queues() -> tuple[str, ...]:
    """The queue of each organisation's system: pharmacy.<code in lower case>."""
    return tuple(f"pharmacy.{code.lower()}" for code in sorted(organisation_codes()))


def misrouted(root: etree._Element, queue: str | None) -> str:
    """Why a package came to the wrong organisation's system ('' when it did not): each listens on
    pharmacy.<its code>."""
    org = text(root, "HEADER/ORG_CODE") or ""
    if queue is None or not queue.startswith("pharmacy.") or queue == f"pharmacy.{org.lower()}":
        return ""
    return f"Пакет организации {org} пришёл в очередь {queue}, а не в pharmacy.{org.lower()}"


def directory(root: etree._Element, known: Known) -> list[Error]:
    org = text(root, "HEADER/ORG_CODE")
    if org not in organisation_codes():
        return [Error(WRONG_VALUE, f"Неизвестный код аптечной организации: {org}")]
    items = root.findall("BODY/ITEM")
    if int(text(root, "HEADER/COUNT") or -1) != len(items):
        return [Error(FORMAT_ERROR, f"COUNT = {text(root, 'HEADER/COUNT')}, а элементов ITEM {len(items)}")]
    held = known.setdefault(HELD, {})
    key = (f"{org}:{text(root, 'HEADER/DIRECTORY')}", 0)
    codes = set() if text(root, "HEADER/MODE") == "full" else set(held.get(key, {}))
    for item in items:
        code = text(item, "CODE") or ""
        if text(item, "OP") == "Delete":
            codes.discard(code)
        else:
            codes.add(code)
    held[key] = dict.fromkeys(sorted(codes), "")
    return []
