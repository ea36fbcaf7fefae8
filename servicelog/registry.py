"""What domain apps register with the engine: package types and service jobs (no domain imports)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from .envelope import Envelope

if TYPE_CHECKING:
    from .models import Package

# builder(payload, operation, message_id) -> the package's XML root element
Builder = Callable[[dict[str, Any], str, str], etree._Element]
# reply_handler(package, reply) -> None; called after the fund's ANSWER changed the package status
ReplyHandler = Callable[["Package", dict[str, Any]], None]
# sent_handler(packages) -> None; called in the relay's transaction for a confirmed batch of the type
SentHandler = Callable[[list["Package"]], None]
# job(run=..., mo=...) -> None; one step of a service run (forming packages, loading files …)
Job = Callable[..., None]


@dataclass(frozen=True)
class PackageType:
    """A kind of outbound package: family (an ordering key part), rank, XSD, how it is built.

    A type names its `envelope` (servicelog.envelope: the TAI or ISZL style and the payload keys of
    header and body); `builder` is for the rare layout no envelope describes (our ANSWER). `title`
    is the Russian name shown wherever the type is shown (manual §4.2, §4.6.2.4). `check(payload)`
    may return readable Russian errors before the XSD speaks (e.g. "no doctor"); `queue` is the
    logical queue of tfoms_portal.messaging it is published to, `reply_queue` the one its replies come
    back on (the message's reply_to); `reply_handler` is called after
    the fund's ANSWER changed the status of one of its packages, `sent_handler` when the broker
    confirmed a batch of them (Отправлен); `ordered` says whether the relay keeps their order."""

    code: str
    family: str
    rank: int
    xsd: Path | None
    builder: Builder | None = None
    reply_handler: ReplyHandler | None = None
    check: Callable[[dict[str, Any]], list[str]] | None = None
    queue: str = "from_mis"
    title: str = ""
    envelope: Envelope | None = None
    sent_handler: SentHandler | None = None
    reply_queue: str = "to_mis_answer"
    # False: packages of the type have no order among themselves (our ANSWERs), so forming one takes
    # no lock of its key and parallel consumers do not wait for each other.
    ordered: bool = True
    # The broker queue of one package, when the type's peers each have their own (a pharmacy
    # organisation's queue); None: the logical `queue` for all.
    route: Callable[[Package], str] | None = None

    def __post_init__(self) -> None:
        if (self.builder is None) == (self.envelope is None):
            raise ValueError(f"package type {self.code}: give exactly one of builder and envelope")


# handler(package, root) -> what our ANSWER adds to its BODY (e.g. {"PERSON": {...}}) or None; raise
# InboundRejected with the errors to refuse the package. It may set the package's МО and person keys.
InboundHandler = Callable[["Package", etree._Element], dict[str, Any] | None]


@dataclass
class InboundOutcome:
    """What a batch handler says of one package: `errors` refuse it (our ANSWER ERROR with `code`),
    `notes` go to its log, `answer` is what our ANSWER adds to its BODY."""

    errors: list[str] = field(default_factory=list)
    code: int = 904
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # logged as warnings: what was not done, and why
    answer: dict[str, Any] | None = None


# batch_handler([(package, root), …]) -> one outcome each, in order. The packages are not saved yet;
# the handler may set their МО and person keys. It runs in the consumer's transaction of the batch.
InboundBatchHandler = Callable[[list[tuple["Package", etree._Element]]], list[InboundOutcome]]


@dataclass(frozen=True)
class InboundType:
    """A kind of package the fund sends us: its XSD, the service it belongs to and its handler; a
    `batch_handler`, when it has one, takes many of its messages at once (the consumer's batch)."""

    code: str
    service: str
    xsd: Path | None
    handler: InboundHandler
    title: str = ""
    batch_handler: InboundBatchHandler | None = None


_iszl_reply_queues: dict[str, str] = {}  # logical queue (tfoms_portal.messaging) → its service
_package_types: dict[str, PackageType] = {}
_inbound_types: dict[str, InboundType] = {}
_service_jobs: dict[str, list[Job]] = {}


class UnknownPackageType(LookupError):
    pass


def register_package_type(package_type: PackageType) -> PackageType:
    """Called from a domain app's AppConfig.ready(); registering the same code twice is a bug."""
    existing = _package_types.get(package_type.code)
    if existing is not None and existing != package_type:
        raise ValueError(f"package type {package_type.code} is already registered")
    _package_types[package_type.code] = package_type
    return package_type


def unregister_package_type(code: str) -> None:
    _package_types.pop(code, None)


def get_package_type(code: str) -> PackageType:
    try:
        return _package_types[code]
    except KeyError as exc:
        raise UnknownPackageType(f"Неизвестный тип пакета: {code}") from exc


def package_type_title(code: str) -> str:
    """The Russian title of a package type for people; the code itself when it has none."""
    kind = _package_types.get(code) or _inbound_types.get(code)
    return (kind.title if kind is not None else "") or code


def package_type_choices() -> list[tuple[str, str]]:
    """(code, title) of every registered type, outbound and inbound, by title."""
    codes = set(_package_types) | set(_inbound_types)
    return sorted(((code, package_type_title(code)) for code in codes), key=lambda item: item[1])


def register_inbound_type(inbound: InboundType) -> InboundType:
    _inbound_types[inbound.code] = inbound
    return inbound


def unregister_inbound_type(code: str) -> None:
    _inbound_types.pop(code, None)


def get_inbound_type(code: str) -> InboundType | None:
    return _inbound_types.get(code)


def register_iszl_replies(queue: str, service: str) -> None:
    """Replies in the ISZL style (formats §3.6) arrive on this logical queue; an unreadable or
    unmatched one is kept in this service's journal (order 263: iszl_reply, iszl263)."""
    _iszl_reply_queues[queue] = service


def iszl_reply_queues() -> dict[str, str]:
    return dict(_iszl_reply_queues)


def register_service_job(code: str) -> Callable[[Job], Job]:
    """Decorator: `@register_service_job("tfoms_auto") def form_districts(*, run, mo): …`."""

    def decorator(job: Job) -> Job:
        jobs = _service_jobs.setdefault(code, [])
        if job not in jobs:
            jobs.append(job)
        return job

    return decorator


def unregister_service_job(code: str, job: Job) -> None:
    if job in _service_jobs.get(code, []):
        _service_jobs[code].remove(job)


def service_jobs(code: str) -> list[Job]:
    return list(_service_jobs.get(code, []))
