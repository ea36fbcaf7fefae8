"""The fund's synchronous answers (RPC, formats §3.7 and §6): free beds on `iszl.rpc`, PERS on
`tfoms.from_mis`. Each answer goes to the request's `reply_to` with its `correlation_id`.

Free beds come from the state the МО's stage-1 packages built (IszlState.free_beds); with none yet,
a demo default per requested profile. PERS is answered from the register of insured persons (the one
batch identification uses): ANSWER with PERSON and POLIS_DATA, or ANSWER ERROR. Fault switches
(RpcFaults): no answer, a late answer, an error answer, a malformed answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lxml import etree

from . import clock
from .answer import DECLARATION, build_answer
from .ident import NO_POLICY, NOT_FOUND, Register
from .rules import Error
from .xmlio import XmlRefused, parse, text, xml_safe

PERS = "PERS"
FREE_BEDS_REQUEST = "FREE_BEDS_REQUEST"
FREE_BEDS_RESPONSE = "FREE_BEDS_RESPONSE"
RPC_TYPES = frozenset({PERS, FREE_BEDS_REQUEST})
MODES = ("", "silent", "late", "error", "malformed")
# RESULT_CODE of our PERS refusals (ANSWER's RESULT_CODE is an int; the register's codes are Р01, Р02)
RESULT_CODES = {NOT_FOUND[0]: 1, NO_POLICY[0]: 2}
DEMO_FREE = (7, 5, 2)  # the default figure when the ISZL knows no bed yet: free, adult, child


@dataclass(frozen=True)
class RpcFaults:
    """How the fund answers RPC requests: "" normally, "silent" never, "late" after `late_seconds`,
    "error" with ANSWER ERROR, "malformed" with a body that is not XML."""

    mode: str = ""
    late_seconds: float = 15.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"rpc fault must be one of {', '.join(m or '(none)' for m in MODES)}")
        if self.late_seconds < 0:
            raise ValueError("late_seconds must not be negative")


def _sub(parent: etree._Element, tag: str, value: object = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if value is not None and value != "":
        element.text = xml_safe(str(value))
    return element


def _body(root: etree._Element) -> bytes:
    return DECLARATION + etree.tostring(root, encoding="utf-8")


# --- free beds ---------------------------------------------------------------------------------


def _split(free: int, age_group: str) -> tuple[int, int]:
    """(adult, child) of a department's free beds by its building's LPU_TYPE: 1 children's, 3
    adults', otherwise each free bed can take either."""
    if age_group == "1":
        return 0, free
    if age_group == "3":
        return free, 0
    return free, free


def free_beds_answer(
    request: etree._Element, rows: list[dict[str, Any]], age_groups: dict[str, str], today: dt.date
) -> bytes:
    """FREE_BEDS_RESPONSE for a request: the rows of the requested profile (and hospital)."""
    profile = text(request, "BODY/BEDPROFIL") or ""
    hospital = text(request, "HEADER/CODE_MO_TO") or ""
    chosen = [
        row
        for row in rows
        if (not profile or row["v020"] == profile) and (not hospital or row["lpu"] == hospital)
    ]
    root = etree.Element(FREE_BEDS_RESPONSE)
    header = _sub(root, "HEADER")
    _sub(header, "OPERATIONTYPE", "Answer")
    _sub(header, "DATA", today.isoformat())
    body = _sub(root, "BODY")
    if not rows and profile:  # the ISZL knows nothing yet: a demo figure, so the form shows something
        free, adult, child = DEMO_FREE
        item = _sub(body, "FREE_BEDS_INFORMATION")
        for tag, value in (
            ("LPU", hospital or "000000"),
            ("BEDPROFIL", profile),
            ("ACTUAL_DATE", today.isoformat()),
            ("BEDFREE", free),
            ("BEDFREEADULT", adult),
            ("BEDFREECHILD", child),
        ):
            _sub(item, tag, value)
    for row in chosen:
        free = max(row["free"] if row["free"] is not None else (row["planned"] or 0), 0)
        adult, child = _split(free, age_groups.get(row["branch"], ""))
        item = _sub(body, "FREE_BEDS_INFORMATION")
        for tag, value in (
            ("LPU", row["lpu"]),
            ("BRANCH", row["branch"]),
            ("DIVISION", row["division"]),
            ("DIVISIONPROFIL", row["profile"]),
            ("BEDPROFIL", row["v020"]),
            ("ACTUAL_DATE", row["actual_date"] or today.isoformat()),
            ("BEDPLANNED", row["planned"]),
            ("BEDFREE", free),
            ("BEDFREEADULT", adult),
            ("BEDFREECHILD", child),
        ):
            _sub(item, tag, value)
    return _body(root)


# --- PERS ------------------------------------------------------------------------------------


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def _request_row(request: etree._Element) -> dict[str, Any]:
    """The PERS body as a request row of the register's look-up (the DBF field names)."""
    doc_type = text(request, "BODY/DOCTYPE") or ""
    return {
        "FAM": text(request, "BODY/FAM") or "",
        "IM": text(request, "BODY/IM") or "",
        "OT": text(request, "BODY/OT") or "",
        "DR": _date(text(request, "BODY/DR")),
        "SS": text(request, "BODY/SNILS") or "",
        "C_DOC": int(doc_type) if doc_type.isascii() and doc_type.isdigit() else None,
        "S_DOC": text(request, "BODY/DOCSER") or "",
        "N_DOC": text(request, "BODY/DOCNUM") or "",
        "ENP": text(request, "BODY/ENP") or "",
    }


def _stamp(day: dt.date | None) -> str:
    return f"{day.isoformat()}T00:00:00" if day else ""


def pers_answer(
    request: etree._Element, register: Register | None, queue: str, message_id: str, today: dt.date
) -> bytes:
    """ANSWER to PERS: the person found with their policy in force, or ERROR Р01 / Р02."""
    person = register.find(_request_row(request)) if register is not None else None
    if person is None or person.errors:
        errors = list(person.errors) if person is not None else [NOT_FOUND]
        return build_answer(
            queue, PERS, message_id, [Error(RESULT_CODES.get(c, 3), f"{c} {n}") for c, n in errors]
        )
    valid = [policy for policy in person.policies if policy.valid_on(today, today)]
    if not valid:
        return build_answer(queue, PERS, message_id, [Error(2, f"{NO_POLICY[0]} {NO_POLICY[1]}")])
    policy = max(valid, key=lambda p: p.dbeg or dt.date.min)
    root = etree.Element("ANSWER")
    header = _sub(root, "HEADER")
    _sub(header, "QUEUE_NAME", queue)
    _sub(header, "TYPE", PERS)
    _sub(header, "MESSAGE_ID", message_id)
    body = _sub(root, "BODY")
    item = _sub(body, "PERSON")
    _sub(item, "PERSON_ID", text(request, "HEADER/PERSONID") or "0")
    _sub(item, "BDZ_ID", person.bdzid or 0)
    for tag, value in (
        ("FAM", person.fam[:40]),
        ("IM", person.im[:40]),
        ("OT", person.ot[:40]),
        ("DR", person.dr.isoformat() if person.dr else ""),
        ("W", person.w),
        ("DOCTYPE", person.doc_type),
        ("DOCSER", person.doc_ser[:10]),
        ("DOCNUM", person.doc_num[:10]),
        ("SNILS", person.snils),
        ("ENP", policy.enp),
    ):
        if value not in (None, ""):
            _sub(item, tag, value)
    data = _sub(item, "POLIS_DATA")
    for tag, value in (
        ("POLISTYPE", policy.type),
        ("POLISSER", policy.ser),
        ("POLISNUM", policy.num or policy.enp),
        ("POLISBEGDT", _stamp(policy.dbeg or today)),
        ("POLISENDDT", _stamp(policy.dend)),
        ("SMOCODE", policy.smo),
        ("SMOOGRN", policy.smo_ogrn),
    ):
        if value not in (None, ""):
            _sub(data, tag, value)
    _sub(_sub(body, "RESULTS"), "RESULT", "OK")
    return _body(root)


# --- one request -----------------------------------------------------------------------------


@dataclass
class RpcAnswer:
    """The reply to publish (None: none, by fault or because the request names no reply_to), its
    delay, and a word on what happened for the emulator's stdout."""

    reply: dict[str, Any] | None
    note: str
    errors: list[Error]


def answer(
    package_type: str,
    properties: dict[str, Any],
    body: bytes,
    *,
    faults: RpcFaults,
    rows: list[dict[str, Any]],
    age_groups: dict[str, str],
    register: Register | None,
    queue: str,
    new_id: str,
) -> RpcAnswer:
    reply_to = str(properties.get("reply_to") or "")
    message_id = str(properties.get("message_id") or "")
    if not reply_to:
        return RpcAnswer(
            None, "нет reply_to: ответить некуда", [Error(1, "Не указана очередь ответа (reply_to)")]
        )
    if faults.mode == "silent":
        return RpcAnswer(None, "без ответа (имитация)", [])
    today = clock.today()
    errors: list[Error] = []
    if faults.mode == "error":
        content = build_answer(
            queue, package_type, message_id, [Error(999, "Сервис ТФОМС недоступен (имитация)")]
        )
        errors = [Error(999, "имитация ошибки")]
    elif faults.mode == "malformed":
        content = b"<FREE_BEDS_RESPONSE><unclosed>"
    else:
        try:
            request = parse(body)
        except XmlRefused as exc:
            errors = [Error(0, str(exc))]
            content = build_answer(queue, package_type, message_id, errors)
        else:
            if package_type == PERS:
                content = pers_answer(request, register, queue, message_id, today)
            else:
                content = free_beds_answer(request, rows, age_groups, today)
    reply: dict[str, Any] = {
        "queue": reply_to,
        "properties": {
            "type": FREE_BEDS_RESPONSE if package_type == FREE_BEDS_REQUEST else "ANSWER",
            "message_id": new_id,
            "correlation_id": properties.get("correlation_id"),
            "content_type": "Xml",
            "content_encoding": "utf-8",
            "app_id": "TFOMS",
        },
        "body": content,
    }
    note = ""
    if faults.mode == "late":
        reply["delay"] = faults.late_seconds
        note = f"ответ с опозданием {faults.late_seconds:g} с (имитация)"
    elif faults.mode in ("error", "malformed"):
        note = f"ответ «{faults.mode}» (имитация)"
    return RpcAnswer(reply, note, errors)
