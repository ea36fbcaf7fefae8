"""The ISZL side of order 263 (reference/formats.md §3): hospitalisation packages and their replies.

A package arrives on `iszl.request` as `<TYPE><header>LPU, TYPE (Insert|Update|Delete), [LPU_TO], ID
</header><body>…</body></TYPE>`; the reply goes to `iszl.reply`: the same root tag with `header/TYPE`,
`header/ID` and `body/RESULT` 1 when accepted, or an ERROR package (§3.6) carrying a Russian description
and the base64 of the original request. Objects are kept by (package type, GUID): the bed-profile packages
DIVISION_LINK_STRUCTURE_BED, AMOUNT_BED and FREE_BEDS_INFORMATION share one GUID.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .rules import DUPLICATE_KEY, FORMAT_ERROR, MISSING_VALUE, WRONG_VALUE, Error
from .xmlio import XmlRefused, parse, text, validate, xml_safe

# The one XSD of all ten packages, relative to the repository root (read as data).
ISZL_SCHEMA = "hospitalisation/xsd/iszl.xsd"

BRANCH = "BRANCH"
DIVISION = "DIVISION"
DLSB = "DIVISION_LINK_STRUCTURE_BED"
AMOUNT_BED = "AMOUNT_BED"
FREE_BEDS = "FREE_BEDS_INFORMATION"
REFERRAL = "HOSPITALISATION_REFERRAL"
CANCEL_REFERRAL = "CANCEL_HOSPITALISATION_REFERRAL"
HOSPITALISATION = "HOSPITALISATION"
MOTION = "MOTION_IN_HOSPITAL"
CANCEL_HOSPITALISATION = "CANCEL_HOSPITALISATION"
PACKAGE_TYPES = (
    BRANCH,
    DIVISION,
    DLSB,
    AMOUNT_BED,
    FREE_BEDS,
    REFERRAL,
    CANCEL_REFERRAL,
    HOSPITALISATION,
    MOTION,
    CANCEL_HOSPITALISATION,
)

ERROR_TYPE = "ERROR"  # the AMQP type and root tag of a refusal
RESULT_ACCEPTED = "1"
ACCEPTED = "Принято"
RESERVE = "reserve"  # header/TYPE of the reply to a referral's Insert (formats §3.6)
DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'

# What a body field must name: a known object of a package type, a division code or a referral number.
DIVISION_CODE = "division code"
REFERRAL_NUMBER = "referral number"
REFERENCES: dict[str, tuple[str, str]] = {
    DIVISION: ("BRANCH_ID", BRANCH),
    DLSB: ("DIVISION_ID", DIVISION_CODE),
    AMOUNT_BED: ("DLSB", DLSB),
    FREE_BEDS: ("DLSB", DLSB),
    REFERRAL: ("DIVISION_TO", DIVISION_CODE),
    CANCEL_REFERRAL: ("REFERRAL_NUMBER", REFERRAL_NUMBER),
    MOTION: ("HOSPITALISATION_ID", HOSPITALISATION),
    CANCEL_HOSPITALISATION: ("HOSPITALISATION_ID", HOSPITALISATION),
}
UNKNOWN_REFERENCE = {
    BRANCH: "подразделение (BRANCH) с таким ID не передано в ИСЗЛ",
    DIVISION_CODE: "отделение (DIVISION) с таким кодом не передано в ИСЗЛ",
    DLSB: "профиль коек (DIVISION_LINK_STRUCTURE_BED) с таким ID не передан в ИСЗЛ",
    REFERRAL_NUMBER: "направление (HOSPITALISATION_REFERRAL) с таким номером не поступало в ИСЗЛ",
    HOSPITALISATION: "госпитализация (HOSPITALISATION) с таким ID не передана в ИСЗЛ",
}


def _sub(parent: etree._Element, tag: str, value: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if value is not None:
        element.text = xml_safe(value)
    return element


def accepted_body(package_type: str, operation: str, object_id: str) -> bytes:
    """`<TYPE><header><TYPE>op</TYPE><ID>…</ID></header><body><RESULT>1</RESULT><DESCRIPTION>Принято…`"""
    root = etree.Element(package_type)
    header = _sub(root, "header")
    _sub(header, "TYPE", operation)
    _sub(header, "ID", object_id)
    body = _sub(root, "body")
    _sub(body, "RESULT", RESULT_ACCEPTED)
    _sub(body, "DESCRIPTION", ACCEPTED)
    return DECLARATION + etree.tostring(root, encoding="utf-8")


def error_body(description: str, original: bytes) -> bytes:
    """`<ERROR><header><DESCRIPTION>…</DESCRIPTION></header><body>base64 of the request</body></ERROR>`"""
    root = etree.Element(ERROR_TYPE)
    _sub(_sub(root, "header"), "DESCRIPTION", description)
    _sub(root, "body", base64.b64encode(original).decode("ascii"))
    return DECLARATION + etree.tostring(root, encoding="utf-8")


@dataclass(frozen=True)
class Reply:
    """What the ISZL answers to one package: `reply_type` (AMQP type) is the package type or ERROR."""

    package_type: str  # of the request (its root tag when it has a known one)
    operation: str | None
    errors: list[Error]
    reply_type: str
    body: bytes


def refusal(package_type: str, operation: str | None, errors: list[Error], original: bytes) -> Reply:
    """The ERROR reply: every error's text in one DESCRIPTION, the request itself in base64."""
    description = "; ".join(error.name for error in errors)
    return Reply(package_type, operation, errors, ERROR_TYPE, error_body(description, original))


@dataclass
class Record:
    """One object the ISZL knows: the МО that sent it, its body fields, when it was last written."""

    lpu: str
    fields: dict[str, str]
    seq: int


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@dataclass
class IszlState:
    """The objects received, the division codes of the live divisions, every referral number received."""

    objects: dict[tuple[str, str], Record] = field(default_factory=dict)
    division_codes: dict[str, set[str]] = field(default_factory=dict)  # code → GUIDs of divisions
    referral_numbers: set[str] = field(default_factory=set)
    _seq: int = 0

    def get(self, package_type: str, object_id: str) -> dict[str, str] | None:
        """The body fields of a live object, None when unknown or deleted."""
        record = self.objects.get((package_type, object_id))
        return record.fields if record else None

    def answer(
        self,
        amqp_type: str,
        body: bytes,
        schema: Callable[[], etree.XMLSchema],
        max_bytes: int,
    ) -> Reply:
        """Check one package (XML, root, XSD, the rules) and apply it when accepted."""
        try:
            root = parse(body, max_bytes)
        except XmlRefused as exc:
            return refusal(amqp_type, None, [Error(FORMAT_ERROR, str(exc))], body)
        tag = root.tag if isinstance(root.tag, str) else ""
        if tag not in PACKAGE_TYPES:
            shown = tag or "(нет)"
            return refusal(
                amqp_type, None, [Error(WRONG_VALUE, f"Неизвестный тип пакета ИСЗЛ: {shown}")], body
            )
        operation = text(root, "header/TYPE")
        if amqp_type and amqp_type != tag:
            message = f"Тип сообщения (AMQP type) {amqp_type} не совпадает с корневым элементом {tag}"
            return refusal(tag, operation, [Error(WRONG_VALUE, message)], body)
        problems = validate(schema(), root)
        if problems:
            errors = [Error(FORMAT_ERROR, f"{tag}: не соответствует XSD: {problem}") for problem in problems]
            return refusal(tag, operation, errors, body)
        errors = self.check(root)
        if errors:
            return refusal(tag, operation, errors, body)
        reply_operation = RESERVE if (tag, operation) == (REFERRAL, "Insert") else operation or ""
        object_id = text(root, "header/ID") or ""
        return Reply(tag, operation, [], tag, accepted_body(tag, reply_operation, object_id))

    def check(self, root: etree._Element) -> list[Error]:
        """The rules of a schema-valid package; when there is no error it has been applied."""
        package_type = str(root.tag)
        operation = text(root, "header/TYPE") or ""
        object_id = text(root, "header/ID") or ""
        key = (package_type, object_id)
        where = f"{package_type} ID {object_id}"
        errors: list[Error] = []
        if operation == "Insert" and key in self.objects:
            errors.append(Error(DUPLICATE_KEY, f"{where}: дубликат, объект с таким ID уже передан в ИСЗЛ"))
        # Free beds are an Update of the bed-state record the DIVISION_LINK_STRUCTURE_BED of the same
        # GUID created (formats §3.3: "same object, same GUID", sent as Update once a day).
        shared = package_type == FREE_BEDS and (DLSB, object_id) in self.objects
        if operation in ("Update", "Delete") and key not in self.objects and not shared:
            errors.append(Error(WRONG_VALUE, f"{where}: объект не найден в ИСЗЛ ({operation} без Insert)"))
        fields: dict[str, str] = {}
        if operation != "Delete":
            body = root.find("body")
            if body is None:
                errors.append(Error(MISSING_VALUE, f"{where}: для операции {operation} обязателен body"))
            else:
                fields = {
                    str(child.tag): (child.text or "").strip() for child in body if isinstance(child.tag, str)
                }
                errors += self._reference_errors(package_type, fields, where)
        if operation == "Delete" and key in self.objects:
            errors += self._children_errors(package_type, object_id, where)
        if errors:
            return errors
        if operation == "Delete":
            del self.objects[key]
            if package_type == DLSB:
                self.objects.pop((FREE_BEDS, object_id), None)
            if package_type == DIVISION:
                self._unindex_division(object_id)
        else:
            self._apply(package_type, object_id, text(root, "header/LPU") or "", fields)
        return []

    def _children_errors(self, package_type: str, object_id: str, where: str) -> list[Error]:
        """A parent goes only after its children (manual §4.4.5.1.3: deletes in reverse order)."""
        if package_type == DLSB:  # its free beds are the same record (formats §3.3), its bed count not
            live = [AMOUNT_BED] if (AMOUNT_BED, object_id) in self.objects else []
        else:
            codes = {
                self.objects[(package_type, object_id)].fields.get(n, "") for n in ("DV_CODE", "CODE_MZ")
            }
            live = [
                child
                for (child, _), record in self.objects.items()
                if (
                    child == DIVISION
                    and package_type == BRANCH
                    and record.fields.get("BRANCH_ID") == object_id
                )
                or (
                    child == DLSB
                    and package_type == DIVISION
                    and record.fields.get("DIVISION_ID") in codes - {""}
                )
                or (
                    child in (MOTION, CANCEL_HOSPITALISATION)
                    and package_type == HOSPITALISATION
                    and record.fields.get("HOSPITALISATION_ID") == object_id
                )
            ]
        if not live:
            return []
        named = ", ".join(sorted(set(live)))
        return [
            Error(WRONG_VALUE, f"{where}: удаление невозможно, в ИСЗЛ есть подчинённые объекты ({named})")
        ]

    def _reference_errors(self, package_type: str, fields: dict[str, str], where: str) -> list[Error]:
        if package_type not in REFERENCES:
            return []
        name, target = REFERENCES[package_type]
        value = fields.get(name, "")
        if target == DIVISION_CODE:
            known = value in self.division_codes
        elif target == REFERRAL_NUMBER:
            known = value in self.referral_numbers
        else:
            known = (target, value) in self.objects
        return [] if known else [Error(WRONG_VALUE, f"{where}: {name} {value} — {UNKNOWN_REFERENCE[target]}")]

    def _apply(self, package_type: str, object_id: str, lpu: str, fields: dict[str, str]) -> None:
        self._seq += 1
        self.objects[(package_type, object_id)] = Record(lpu, fields, self._seq)
        if package_type == DIVISION:
            self._unindex_division(object_id)
            for code in {fields.get("DV_CODE"), fields.get("CODE_MZ")}:
                if code:
                    self.division_codes.setdefault(code, set()).add(object_id)
        elif package_type == REFERRAL:
            self.referral_numbers.add(fields.get("REFERRAL_NUMBER", ""))

    def _unindex_division(self, object_id: str) -> None:
        for code in [code for code, ids in self.division_codes.items() if object_id in ids]:
            self.division_codes[code].discard(object_id)
            if not self.division_codes[code]:
                del self.division_codes[code]

    # --- free beds (for the stage 3 RPC) ---------------------------------------------------------

    def _latest(self, package_type: str, date_field: str) -> dict[str, dict[str, str]]:
        """DLSB GUID → the fields of its latest package of `package_type` (by date, then arrival)."""
        latest: dict[str, tuple[tuple[str, int], dict[str, str]]] = {}
        for (kind, _), record in self.objects.items():
            if kind != package_type:
                continue
            dlsb = record.fields.get("DLSB", "")
            order = (record.fields.get(date_field, ""), record.seq)
            if dlsb not in latest or order > latest[dlsb][0]:
                latest[dlsb] = (order, record.fields)
        return {dlsb: fields for dlsb, (_, fields) in latest.items()}

    def _branch_code(self, division_code: str) -> str:
        """BR_CODE of the division's BRANCH, else the code's first 9 digits (MCOD + building)."""
        for division_id in sorted(self.division_codes.get(division_code, ())):
            division = self.get(DIVISION, division_id) or {}
            branch = self.get(BRANCH, division.get("BRANCH_ID", "")) or {}
            if branch.get("BR_CODE"):
                return branch["BR_CODE"]
        return division_code[:9]

    def branch_age_groups(self) -> dict[str, str]:
        """BR_CODE → LPU_TYPE (1 children's, 3 adults', 4 mixed) of the buildings received."""
        return {
            record.fields.get("BR_CODE", ""): record.fields.get("LPU_TYPE", "")
            for (kind, _), record in self.objects.items()
            if kind == BRANCH
        }

    def free_beds(self, lpu: str | None = None) -> list[dict[str, Any]]:
        """One row per live bed-profile record (of one МО when `lpu` is given): planned beds from its
        latest AMOUNT_BED, free beds and their date from its latest FREE_BEDS_INFORMATION (None: not sent)."""
        amounts = self._latest(AMOUNT_BED, "DATE_BEGIN")
        frees = self._latest(FREE_BEDS, "ACTUAL_DATE")
        rows = []
        for (kind, object_id), record in self.objects.items():
            if kind != DLSB or (lpu is not None and record.lpu != lpu):
                continue
            division = record.fields.get("DIVISION_ID", "")
            amount = amounts.get(object_id, {})
            free = frees.get(object_id, {})
            rows.append(
                {
                    "lpu": record.lpu,
                    "branch": self._branch_code(division),
                    "division": division,
                    "v020": record.fields.get("V020_STRUCTURE_BED", ""),
                    "profile": record.fields.get("STRUCTURE_BED", ""),
                    "planned": _int(amount.get("PLANNED_BEDS_COUNT")),
                    "free": _int(free.get("AMOUNT")),
                    "actual_date": free.get("ACTUAL_DATE") or None,
                }
            )
        rows.sort(key=lambda row: (row["lpu"], row["division"], row["v020"], row["profile"]))
        return rows
