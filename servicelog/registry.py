"""What domain apps register with the engine: package types and service jobs (no domain imports)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

if TYPE_CHECKING:
    from .models import Package

# builder(payload, operation, message_id) -> the package's XML root element
Builder = Callable[[dict[str, Any], str, str], etree._Element]
# reply_handler(package, reply) -> None; called after the fund's ANSWER changed the package status
ReplyHandler = Callable[["Package", dict[str, Any]], None]
# job(run=..., mo=...) -> None; one step of a service run (forming packages, loading files …)
Job = Callable[..., None]


@dataclass(frozen=True)
class PackageType:
    """A kind of outbound package: family (an ordering key part), rank, XSD, builder, reply handler.

    `check(payload)` may return readable Russian errors before the XSD speaks (e.g. "no doctor");
    `queue` is the logical queue of tfoms_portal.messaging it is published to."""

    code: str
    family: str
    rank: int
    xsd: Path | None
    builder: Builder
    reply_handler: ReplyHandler | None = None
    check: Callable[[dict[str, Any]], list[str]] | None = None
    queue: str = "from_mis"


# handler(package, root) -> None; raise InboundRejected with the errors to refuse the package
InboundHandler = Callable[["Package", etree._Element], None]


@dataclass(frozen=True)
class InboundType:
    """A kind of package the fund sends us: its XSD, the service it belongs to and its handler."""

    code: str
    service: str
    xsd: Path | None
    handler: InboundHandler


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


def register_inbound_type(inbound: InboundType) -> InboundType:
    _inbound_types[inbound.code] = inbound
    return inbound


def unregister_inbound_type(code: str) -> None:
    _inbound_types.pop(code, None)


def get_inbound_type(code: str) -> InboundType | None:
    return _inbound_types.get(code)


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
