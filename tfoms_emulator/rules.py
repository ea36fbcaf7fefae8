"""The fund's business rules per package type, applied after the XSD check (F012 codes, formats §8.6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from lxml import etree

from .checks import snils_digits, snils_valid
from .xmlio import text

# F012 codes (formats §8.6) and our own code for a simulated refusal.
FORMAT_ERROR = 901  # wrong structure: XSD, malformed XML, DOCTYPE, size
MISSING_VALUE = 902
WRONG_VALUE = 904
DUPLICATE_KEY = 905
SIMULATED_REJECT = 999


class Error(NamedTuple):
    """One ERROR_RESULT of an ANSWER."""

    code: int
    name: str


# What the fund knows: package type → (CODE_MO, object id) → the object's last BODY fields.
Known = dict[str, dict[tuple[str, int], dict[str, str]]]
# A rule checks a schema-valid package and, only when it returns no error, applies it to `Known`.
Rule = Callable[[etree._Element, Known], list[Error]]


def _body_fields(root: etree._Element) -> dict[str, str]:
    body = root.find("BODY")
    if body is None:
        return {}
    return {str(child.tag): (child.text or "").strip() for child in body if isinstance(child.tag, str)}


def _snils_errors(value: str | None, what: str) -> list[Error]:
    if not value:
        return []
    if snils_digits(value) is None:
        return [Error(WRONG_VALUE, f"{what}: неверный формат СНИЛС «{value}» (XXX-XXX-XXX XX или 11 цифр)")]
    if not snils_valid(value):
        return [Error(WRONG_VALUE, f"{what}: неверное контрольное число СНИЛС «{value}»")]
    return []


def district(root: etree._Element, known: Known) -> list[Error]:
    """DISTRICT (formats §4.3): the key is LPUREGION_ID within CODE_MO; BODY is omitted on Delete."""
    operation = text(root, "HEADER/OPERATIONTYPE") or ""
    code_mo = text(root, "HEADER/CODE_MO") or ""
    region_id = int(text(root, "HEADER/LPUREGION_ID") or "0")
    key = (code_mo, region_id)
    districts = known.setdefault("DISTRICT", {})
    where = f"LPUREGION_ID {region_id}, МО {code_mo}"

    errors: list[Error] = []
    if operation == "Insert" and key in districts:
        errors.append(Error(DUPLICATE_KEY, f"Участок уже известен ТФОМС ({where})"))
    if operation in ("Update", "Delete") and key not in districts:
        errors.append(Error(WRONG_VALUE, f"Участок не найден ({where})"))
    if operation in ("Insert", "Update"):
        if root.find("BODY") is None:
            errors.append(Error(FORMAT_ERROR, f"Для операции {operation} обязателен BODY"))
        errors += _snils_errors(text(root, "BODY/DOC_SNILS"), "DOC_SNILS")
    if errors:
        return errors

    if operation == "Delete":
        del districts[key]
    else:
        districts[key] = _body_fields(root)
    return []


# Package type → its business rule; a type with an XSD but no rule is accepted once it is schema-valid.
RULES: dict[str, Rule] = {
    "DISTRICT": district,
}
