"""The fund's packages about persons (C6, C7): one small handler per type — parse with fund_formats,
call one service of fund_changes, say in the journal what it did (DESIGN §2 "consumers.py")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from lxml import etree

from servicelog.catalog import TFOMS_AUTO
from servicelog.forming import fio_key
from servicelog.inbox import InboundRejected
from servicelog.models import LogEntry, Package
from servicelog.registry import InboundOutcome, InboundType, register_inbound_type

from . import fund_changes, fund_formats, fund_polis
from .fund_formats import FundDataRefused
from .models import Mo, Person

SERVICE = TFOMS_AUTO.code  # "Сервис автоматизированного взаимодействия с ТФОМС" (manual §4.4.5.5.1)
TITLES = {
    "POLIS": "Изменения страховой принадлежности",
    "CHECKPERS": "Контроль соответствия данных ЗЛ",
    "PERSCHANGE": "Изменение персональных данных в РС ЕРЗ",
    "DOUBLES": "Объединённые записи пациентов",
    "IDLEPERSONS": "Неработающие застрахованные лица",
}


def _one_mo(persons: list[Person], today: dt.date) -> bool:
    """Whether the persons belong to one МО (a package naming persons of several is the ЦОД admin's)."""
    return len({fund_changes.home_mo(person, today) for person in persons}) == 1


def _about_fields(package: Package, result: fund_changes.FundResult) -> None:
    """The package belongs to its person's МО (none: the ЦОД admin's only; so too when its lines name
    persons of several МО) and is found by the person's keys."""
    person = result.person
    if person is None:
        return
    today = timezone.localdate()
    package.mo = result.mo if result.mo_known else fund_changes.home_mo(person, today)
    others = [p for p in result.involved if p.pk != person.pk]
    if others and not _one_mo([person, *others], today):
        package.mo = None
    package.object_id = str(person.pk)
    package.fio = fio_key(person.full_name)
    package.snils = person.snils
    package.enp = result.enp


def _lines(package: Package, result: fund_changes.FundResult) -> list[LogEntry]:
    lines = [LogEntry(run_id=package.run_id, package=package, mo=package.mo, message=n) for n in result.notes]
    return lines + [
        LogEntry(
            run_id=package.run_id, package=package, mo=package.mo, level=LogEntry.Level.WARNING, message=w
        )
        for w in result.warnings
    ]


def _about(package: Package, result: fund_changes.FundResult) -> dict[str, Any] | None:
    """One message's package (saved already): its МО and keys, its log lines, our ANSWER's extra."""
    if result.person is not None:
        _about_fields(package, result)
        package.save(update_fields=["mo", "object_id", "fio", "snils", "enp"])
        if package.mo is not None:  # the lines written before the МО was known are that МО's too
            LogEntry.objects.filter(package=package, mo__isnull=True).update(mo=package.mo)
    LogEntry.objects.bulk_create(_lines(package, result))
    return result.answer


def _refused_mo(exc: FundDataRefused) -> Mo | None:
    """A refusal about a person known here is their МО's to see too."""
    return fund_changes.home_mo(exc.person, timezone.localdate()) if exc.person is not None else None


def _polis_batch(items: list[tuple[Package, etree._Element]]) -> list[InboundOutcome]:
    """The consumer's batch of POLIS (servicelog/inbox_batch.py): the same rules, fewer statements."""
    today = timezone.localdate()
    parsed: list[fund_polis.Item[int]] = []
    for index, (_, root) in enumerate(items):
        try:
            parsed.append(fund_polis.Item(index, fund_formats.polis_parse(root, today)))
        except FundDataRefused as exc:
            parsed.append(fund_polis.Item(index, None, str(exc)))
    results = fund_polis.polis_batch(parsed, today)
    outcomes = []
    for index, (package, _) in enumerate(items):
        result = results[index]
        if isinstance(result, FundDataRefused):
            package.mo = _refused_mo(result)
            outcomes.append(InboundOutcome(errors=[str(result)]))
            continue
        _about_fields(package, result)
        outcomes.append(InboundOutcome(notes=result.notes, warnings=result.warnings, answer=result.answer))
    return outcomes


def _handler(
    apply: Callable[[Package, etree._Element], fund_changes.FundResult],
) -> Callable[[Package, etree._Element], dict[str, Any] | None]:
    def handle(package: Package, root: etree._Element) -> dict[str, Any] | None:
        try:
            result = apply(package, root)
        except FundDataRefused as exc:
            raise InboundRejected([str(exc)], mo=_refused_mo(exc)) from exc
        return _about(package, result)

    return handle


def _polis(package: Package, root: etree._Element) -> fund_changes.FundResult:
    today = timezone.localdate()
    return fund_polis.polis_apply(polis=fund_formats.polis_parse(root, today), today=today)


def _checkpers(package: Package, root: etree._Element) -> fund_changes.FundResult:
    return fund_changes.checkpers_answer(bdzid=fund_formats.body_bdzid(root))


def _perschange(package: Package, root: etree._Element) -> fund_changes.FundResult:
    return fund_changes.perschange_apply(bdzid=fund_formats.body_bdzid(root), today=timezone.localdate())


def _idlepersons(package: Package, root: etree._Element) -> fund_changes.FundResult:
    idle = fund_formats.idlepersons_parse(root)
    return fund_changes.idlepersons_apply(idle=idle, today=timezone.localdate())


def _doubles(package: Package, root: etree._Element) -> fund_changes.FundResult:
    kept, merged = fund_formats.doubles_parse(root)
    return fund_changes.doubles_apply(kept_id=kept, merged_id=merged, package_uuid=package.uuid)


def register() -> None:
    """From RegistryConfig.ready(): every type on the fund's queue tfoms.to_mis."""
    handlers = {
        "POLIS": _handler(_polis),
        "CHECKPERS": _handler(_checkpers),
        "PERSCHANGE": _handler(_perschange),
        "DOUBLES": _handler(_doubles),
        "IDLEPERSONS": _handler(_idlepersons),
    }
    batches = {"POLIS": _polis_batch}
    for code, handler in handlers.items():
        register_inbound_type(
            InboundType(
                code,
                SERVICE,
                fund_formats.XSD[code],
                handler,
                title=TITLES[code],
                batch_handler=batches.get(code),
            )
        )
