"""The fund's behaviour, transport-free: validate and apply the МО's packages, answer, inject faults."""

from __future__ import annotations

import random
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from lxml import etree

from . import pharmacy, rpc
from .answer import build_answer, read_answer
from .ident import Register, RegisterFile
from .iszl import ISZL_SCHEMA, IszlState, Reply, refusal
from .rules import (
    FORMAT_ERROR,
    MISSING_VALUE,
    PERSONS,
    RULES,
    SIMULATED_REJECT,
    WRONG_VALUE,
    Error,
    Known,
    Rule,
)
from .xmlio import DEFAULT_MAX_BYTES, XmlRefused, load_schema, parse, text, validate

# The repository root: our XSD files are read from it as data, never imported.
REPO_ROOT = Path(__file__).resolve().parent.parent

# Package type → its XSD, relative to the root. A new package type is one line here (+ a rule if any).
SCHEMAS: dict[str, str] = {
    "ANSWER": "servicelog/xsd/answer.xsd",
    "DISTRICT": "attachment/xsd/district.xsd",
    "PERSONATTACHDISTRICT": "attachment/xsd/personattachdistrict.xsd",
    "PERSONATTACH": "attachment/xsd/personattach.xsd",
    "DISP": "prophylaxis/xsd/disp.xsd",
    "DISPOUT": "prophylaxis/xsd/dispout.xsd",
    "PERSCANCER": "prophylaxis/xsd/perscancer.xsd",
    "DISPPLAN": "prophylaxis/xsd/dispplan.xsd",
    **dict.fromkeys(pharmacy.TYPES, pharmacy.XSD),  # the pharmacy systems the emulator plays too
}

ANSWER_TYPE = "ANSWER"
APP_ID = "TFOMS"
DEFAULT_PREFIX = "tfoms."
# The ISZL queues (order 263) keep their own names: the tfoms. prefix does not apply to them.
DEFAULT_ISZL_REQUEST = "iszl.request"
DEFAULT_ISZL_REPLY = "iszl.reply"
DEFAULT_ISZL_RPC = "iszl.rpc"  # the free-beds RPC requests (we consume; the answer goes to reply_to)
_ISZL_SCHEMA_KEY = "(ISZL)"

_T = TypeVar("_T")

Message = dict[str, Any]  # {"queue": str, "properties": dict, "body": bytes}


def new_message_id() -> str:
    """An upper-case GUID, as the AMQP message_id of formats §2.2."""
    return str(uuid.uuid4()).upper()


def _properties(package_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": package_type,
        "message_id": new_message_id(),
        "content_type": "Xml",
        "content_encoding": "utf-8",
        "app_id": APP_ID,
        "delivery_mode": 2,
        **extra,
    }


@dataclass(frozen=True)
class Queues:
    """The four queues of DESIGN §3, every name `prefix` + a fixed suffix (prefix `tfoms.` by default),
    and the two ISZL queues of order 263, named as given (`iszl.request`, `iszl.reply` by default)."""

    from_mis: str = "tfoms.from_mis"  # the МО's packages (we consume)
    from_mis_answer: str = "tfoms.from_mis.answer"  # the МО's answers to our packages (we consume)
    to_mis: str = "tfoms.to_mis"  # our packages to the МО (we publish)
    to_mis_answer: str = "tfoms.to_mis.answer"  # our answers to the МО's packages (we publish)
    iszl_request: str = DEFAULT_ISZL_REQUEST  # the МО's hospitalisation packages (we consume)
    iszl_reply: str = DEFAULT_ISZL_REPLY  # the ISZL's replies to them (we publish)
    iszl_rpc: str = DEFAULT_ISZL_RPC  # the free-beds requests (we consume)
    # the pharmacy organisations' systems (we consume): pharmacy.<code> for each code played
    pharmacies: tuple[str, ...] = field(default_factory=pharmacy.queues)

    @classmethod
    def with_prefix(
        cls,
        prefix: str = DEFAULT_PREFIX,
        *,
        iszl_request: str = DEFAULT_ISZL_REQUEST,
        iszl_reply: str = DEFAULT_ISZL_REPLY,
        iszl_rpc: str = DEFAULT_ISZL_RPC,
    ) -> Queues:
        return cls(
            from_mis=f"{prefix}from_mis",
            from_mis_answer=f"{prefix}from_mis.answer",
            to_mis=f"{prefix}to_mis",
            to_mis_answer=f"{prefix}to_mis.answer",
            iszl_request=iszl_request,
            iszl_reply=iszl_reply,
            iszl_rpc=iszl_rpc,
        )

    def all(self) -> tuple[str, str, str, str]:
        """The four tfoms queues."""
        return (self.from_mis, self.from_mis_answer, self.to_mis, self.to_mis_answer)

    def declared(self) -> tuple[str, ...]:
        """Every queue the AMQP server declares: the four tfoms queues, the two ISZL ones, the pharmacies'."""
        return (*self.all(), self.iszl_request, self.iszl_reply, self.iszl_rpc, *self.pharmacies)


_CODE_MO = re.compile(rb"<CODE_MO>\s*(\d{6})\s*</CODE_MO>")


@dataclass(frozen=True)
class Faults:
    """Faults injected into answers; the same seed and the same messages give the same faults."""

    reject_ratio: float = 0.0  # answer ERROR 999 without applying the package
    drop_ratio: float = 0.0  # apply the package but publish no answer (a lost reply)
    duplicate_ratio: float = 0.0  # publish the answer twice, each copy with its own AMQP message_id
    delay_seconds: float = 0.0  # applied by the AMQP server loop before publishing, not by handle()
    seed: int = 0
    # Only the packages of these МО (their CODE_MO) get the faults; empty: every package (the demo
    # shows failures for its second МО only, so the others read cleanly).
    mo_codes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in ("reject_ratio", "drop_ratio", "duplicate_ratio"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.delay_seconds < 0:
            raise ValueError("delay_seconds must not be negative")


@dataclass
class Outcome:
    """What one handled message did; `replies` is what handle() returns."""

    package_type: str
    message_id: str
    operation: str | None = None
    result: str | None = None  # OK / ERROR; None for a recorded answer of the МО
    errors: list[Error] = field(default_factory=list)
    replies: list[Message] = field(default_factory=list)
    replayed: bool = False  # a message_id seen before: its first answer again, nothing applied
    rejected: bool = False
    dropped: bool = False
    duplicated: bool = False
    recorded: bool = False
    note: str = ""  # a word for the stdout line (an RPC fault)


@dataclass
class ReceivedAnswer:
    """An ANSWER of the МО to one of our packages, kept for inspection."""

    properties: dict[str, Any]
    body: bytes
    answered_message_id: str | None = None
    result: str | None = None
    errors: list[Error] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why it is not a valid ANSWER (empty if valid)


class Emulator:
    """The fund: in-memory state, thread-safe, deterministic for a given Faults.seed."""

    def __init__(
        self,
        *,
        root: Path | str | None = None,
        schemas: Mapping[str, str] | None = None,
        rules: Mapping[str, Rule] | None = None,
        queues: Queues | None = None,
        faults: Faults | None = None,
        max_body_bytes: int = DEFAULT_MAX_BYTES,
        dedup_limit: int = 1_000_000,
        iszl_schema: str = ISZL_SCHEMA,
    ) -> None:
        self.root = Path(root) if root is not None else REPO_ROOT
        self.schemas = dict(SCHEMAS if schemas is None else schemas)
        self.iszl_schema = iszl_schema
        self.rules = dict(
            RULES | dict.fromkeys(pharmacy.TYPES, pharmacy.directory) if rules is None else rules
        )
        self.queues = queues or Queues()
        self.max_body_bytes = max_body_bytes
        self.dedup_limit = dedup_limit
        self._lock = threading.RLock()
        self._schema_cache: dict[str, etree.XMLSchema] = {}
        self.faults = faults or Faults()
        self.rpc_faults = rpc.RpcFaults()
        # The register of insured persons PERS is answered from: a Register, or a RegisterFile
        # reloaded when it changes (the demo's, the one batch identification answers from too).
        self.persons: Register | RegisterFile | None = None
        self.reset(keep_faults=True)

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        """Setting faults restarts the random sequence from their seed."""
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)

    def reset(self, *, keep_faults: bool = False) -> None:
        """Forget everything the fund knows, saw, received and pushed; faults off unless kept."""
        with self._lock:
            self.known: Known = {}
            self._seen: OrderedDict[str, tuple[str, str | None, list[Error], bytes]] = OrderedDict()
            self.iszl = IszlState()
            self._iszl_seen: OrderedDict[str, Reply] = OrderedDict()
            self.received_answers: list[ReceivedAnswer] = []
            self._answer_ids: set[str] = set()
            self.pushed: list[Message] = []
            self.faults = self.faults if keep_faults else Faults()
            if not keep_faults:
                self.rpc_faults = rpc.RpcFaults()
                self.persons = None

    def register_persons(self, bdz_ids: set[int] | None) -> None:
        """The fund's register of insured persons by BDZ_ID: with one, a package about an id outside
        it is refused ("не найден в РС ЕРЗ"); None (the default) checks no id."""
        with self._lock:
            if bdz_ids is None:
                self.known.pop(PERSONS, None)
            else:
                self.known[PERSONS] = {("", bdz_id): {} for bdz_id in bdz_ids}

    def schema(self, package_type: str) -> etree.XMLSchema:
        """The XSD of a mapped package type, loaded once."""
        if package_type not in self._schema_cache:
            self._schema_cache[package_type] = load_schema(self.root / self.schemas[package_type])
        return self._schema_cache[package_type]

    def free_beds(self, lpu: str | None = None) -> list[dict[str, Any]]:
        """Beds per bed-profile record the ISZL knows (of one МО when `lpu` is its MCOD): rows
        {lpu, branch, division, v020, profile, planned, free, actual_date}; see IszlState.free_beds()."""
        with self._lock:
            return self.iszl.free_beds(lpu)

    def handle(
        self, package_type: str, properties: Mapping[str, Any], body: bytes, queue: str | None = None
    ) -> list[Message]:
        """The replies to publish for one message from the МО (see process())."""
        return self.process(package_type, properties, body, queue).replies

    def process(
        self, package_type: str, properties: Mapping[str, Any], body: bytes, queue: str | None = None
    ) -> Outcome:
        """Handle one message of the МО. `queue` is where it arrived (None: tfoms.from_mis, or the
        answer queue when the type is ANSWER). Answers of the МО are recorded and get no reply;
        packages on the ISZL request queue get the ISZL's replies (iszl.py)."""
        package_type = package_type or ""
        message_id = str(properties.get("message_id") or "").strip()
        with self._lock:
            if queue == self.queues.iszl_request:
                return self._process_iszl(package_type, message_id, body)
            if queue == self.queues.iszl_rpc or package_type in rpc.RPC_TYPES:
                return self._process_rpc(package_type, dict(properties), body)
            if queue == self.queues.from_mis_answer or package_type == ANSWER_TYPE:
                return self._record_answer(package_type, message_id, properties, body)

            reject, drop, duplicate = [self._rng.random() < ratio for ratio in self._ratios(body)]
            outcome = Outcome(package_type, message_id)
            cached = self._seen.get(message_id) if message_id else None
            if cached is not None:
                _, outcome.operation, outcome.errors, answer = cached
                outcome.replayed = True
            else:
                if reject:
                    outcome.errors = [Error(SIMULATED_REJECT, "Отказ ТФОМС (имитация)")]
                    outcome.rejected = True
                elif not message_id:
                    outcome.errors = [Error(MISSING_VALUE, "Не указан идентификатор сообщения (message_id)")]
                else:
                    outcome.operation, outcome.errors = self._check(package_type, body, queue)
                answer = build_answer(self.queues.from_mis, package_type, message_id, outcome.errors)
                if message_id and not reject:
                    self._remember(
                        self._seen, message_id, (package_type, outcome.operation, outcome.errors, answer)
                    )

            outcome.result = "ERROR" if outcome.errors else "OK"
            outcome.dropped, outcome.duplicated = drop, duplicate and not drop
            copies = 0 if drop else 2 if duplicate else 1
            outcome.replies = [
                {"queue": self.queues.to_mis_answer, "properties": _properties(ANSWER_TYPE), "body": answer}
                for _ in range(copies)
            ]
            return outcome

    def push(self, package_type: str, body: bytes | str) -> Message:
        """A package of the fund to the МО (queue tfoms.to_mis); not validated, so tests can send bad ones."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        message: Message = {
            "queue": self.queues.to_mis,
            "properties": _properties(package_type, reply_to=self.queues.from_mis_answer),
            "body": data,
        }
        with self._lock:
            self.pushed.append(message)
        return message

    def _ratios(self, body: bytes = b"") -> tuple[float, float, float]:
        faults = self._faults
        if faults.mo_codes:
            found = _CODE_MO.search(body)
            if found is None or found.group(1).decode() not in faults.mo_codes:
                return 0.0, 0.0, 0.0
        return faults.reject_ratio, faults.drop_ratio, faults.duplicate_ratio

    def _remember(self, seen: OrderedDict[str, _T], message_id: str, entry: _T) -> None:
        seen[message_id] = entry
        while len(seen) > self.dedup_limit:
            seen.popitem(last=False)

    def _process_rpc(self, package_type: str, properties: dict[str, Any], body: bytes) -> Outcome:
        """A synchronous request: its answer to its reply_to, now, late, wrong or never (rpc.py)."""
        persons = self.persons.current() if isinstance(self.persons, RegisterFile) else self.persons
        done = rpc.answer(
            package_type,
            properties,
            body,
            faults=self.rpc_faults,
            rows=self.iszl.free_beds(),
            age_groups=self.iszl.branch_age_groups(),
            register=persons,
            queue=self.queues.from_mis,
            new_id=new_message_id(),
        )
        outcome = Outcome(package_type, str(properties.get("message_id") or ""), operation="Query")
        outcome.errors = done.errors
        outcome.result = "ERROR" if done.errors else "OK"
        outcome.replies = [done.reply] if done.reply is not None else []
        outcome.dropped = done.reply is None
        outcome.note = done.note
        return outcome

    def _iszl_xsd(self) -> etree.XMLSchema:
        if _ISZL_SCHEMA_KEY not in self._schema_cache:
            self._schema_cache[_ISZL_SCHEMA_KEY] = load_schema(self.root / self.iszl_schema)
        return self._schema_cache[_ISZL_SCHEMA_KEY]

    def _process_iszl(self, package_type: str, message_id: str, body: bytes) -> Outcome:
        """An ISZL package: the same faults and message_id replay as the fund's, replies to iszl.reply."""
        reject, drop, duplicate = [self._rng.random() < ratio for ratio in self._ratios()]
        outcome = Outcome(package_type, message_id)
        cached = self._iszl_seen.get(message_id) if message_id else None
        if cached is not None:
            reply = cached
            outcome.replayed = True
        elif reject:
            reply = refusal(package_type, None, [Error(SIMULATED_REJECT, "Отказ ТФОМС (имитация)")], body)
            outcome.rejected = True
        elif not message_id:
            missing = Error(MISSING_VALUE, "Не указан идентификатор сообщения (message_id)")
            reply = refusal(package_type, None, [missing], body)
        else:
            reply = self.iszl.answer(package_type, body, self._iszl_xsd, self.max_body_bytes)
            self._remember(self._iszl_seen, message_id, reply)
        outcome.package_type = reply.package_type or package_type
        outcome.operation, outcome.errors = reply.operation, list(reply.errors)
        outcome.result = "ERROR" if reply.errors else "OK"
        outcome.dropped, outcome.duplicated = drop, duplicate and not drop
        copies = 0 if drop else 2 if duplicate else 1
        extra = {"correlation_id": message_id} if message_id else {}
        outcome.replies = [
            {
                "queue": self.queues.iszl_reply,
                "properties": _properties(reply.reply_type, **extra),
                "body": reply.body,
            }
            for _ in range(copies)
        ]
        return outcome

    def _check(
        self, package_type: str, body: bytes, queue: str | None = None
    ) -> tuple[str | None, list[Error]]:
        """(operation, errors) of a package; a package without errors has been applied."""
        if package_type not in self.schemas:
            shown = package_type or "(не указан)"
            return None, [Error(WRONG_VALUE, f"Неизвестный тип пакета: {shown}")]
        try:
            root = parse(body, self.max_body_bytes)
        except XmlRefused as exc:
            return None, [Error(FORMAT_ERROR, str(exc))]
        operation = text(root, "HEADER/OPERATIONTYPE")
        problems = validate(self.schema(package_type), root)
        if problems:
            return operation, [Error(FORMAT_ERROR, problem) for problem in problems]
        misrouted = pharmacy.misrouted(root, queue) if package_type in pharmacy.TYPES else ""
        if misrouted:
            return operation, [Error(WRONG_VALUE, misrouted)]
        rule = self.rules.get(package_type)
        return operation, rule(root, self.known) if rule else []

    def _record_answer(
        self, package_type: str, message_id: str, properties: Mapping[str, Any], body: bytes
    ) -> Outcome:
        outcome = Outcome(package_type, message_id, recorded=True)
        if message_id in self._answer_ids:
            outcome.replayed = True
            return outcome
        if message_id:
            self._answer_ids.add(message_id)
        record = ReceivedAnswer(dict(properties), body)
        if package_type != ANSWER_TYPE:
            record.problems.append(f"В очередь ответов пришёл пакет типа {package_type or '(не указан)'}")
        try:
            root = parse(body, self.max_body_bytes)
        except XmlRefused as exc:
            record.problems.append(str(exc))
        else:
            record.problems += validate(self.schema(ANSWER_TYPE), root)
            record.answered_message_id, record.result, record.errors = read_answer(root)
        self.received_answers.append(record)
        outcome.result = record.result
        outcome.errors = record.errors
        return outcome
