"""The fund's packages about persons (C6, C7): one small handler per type — parse with fund_formats,
call one service of fund_changes, say in the journal what it did (DESIGN §2 "consumers.py")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from lxml import etree

from servicelog.inbox import InboundRejected
from servicelog.models import LogEntry, Package
from servicelog.registry import InboundType, register_inbound_type

from . import fund_changes, fund_formats
from .fund_formats import FundDataRefused

SERVICE = "tfoms_auto"  # "Сервис автоматизированного взаимодействия с ТФОМС" (manual §4.4.5.5.1)
TITLES = {
    "POLIS": "Изменения страховой принадлежности",
    "CHECKPERS": "Контроль соответствия данных ЗЛ",
    "PERSCHANGE": "Изменение персональных данных в РС ЕРЗ",
    "DOUBLES": "Объединённые записи пациентов",
    "IDLEPERSONS": "Неработающие застрахованные лица",
}


def _about(package: Package, result: fund_changes.FundResult) -> dict[str, Any] | None:
    """The package belongs to its person's МО (none: the ЦОД admin's only) and is found by their keys."""
    person = result.person
    if person is not None:
        package.mo = fund_changes.home_mo(person, timezone.localdate())
        package.object_id = str(person.pk)
        package.fio = person.full_name[:200]
        package.snils = person.snils
        package.enp = result.enp
        package.save(update_fields=["mo", "object_id", "fio", "snils", "enp"])
        if package.mo is not None:  # the lines written before the МО was known are that МО's too
            LogEntry.objects.filter(package=package, mo__isnull=True).update(mo=package.mo)
    LogEntry.objects.bulk_create(
        LogEntry(run_id=package.run_id, package=package, mo=package.mo, message=note) for note in result.notes
    )
    return result.answer


def _handler(
    apply: Callable[[etree._Element], fund_changes.FundResult],
) -> Callable[[Package, etree._Element], dict[str, Any] | None]:
    def handle(package: Package, root: etree._Element) -> dict[str, Any] | None:
        try:
            result = apply(root)
        except FundDataRefused as exc:
            raise InboundRejected([str(exc)]) from exc
        return _about(package, result)

    return handle


def _polis(root: etree._Element) -> fund_changes.FundResult:
    today = timezone.localdate()
    return fund_changes.polis_apply(polis=fund_formats.polis_parse(root, today), today=today)


def _checkpers(root: etree._Element) -> fund_changes.FundResult:
    return fund_changes.checkpers_answer(bdzid=fund_formats.body_bdzid(root))


def _perschange(root: etree._Element) -> fund_changes.FundResult:
    return fund_changes.perschange_apply(bdzid=fund_formats.body_bdzid(root), today=timezone.localdate())


def _idlepersons(root: etree._Element) -> fund_changes.FundResult:
    idle = fund_formats.idlepersons_parse(root)
    return fund_changes.idlepersons_apply(idle=idle, today=timezone.localdate())


def _doubles_handler(package: Package, root: etree._Element) -> dict[str, Any] | None:
    kept, merged = fund_formats.doubles_parse(root)
    return _about(
        package, fund_changes.doubles_apply(kept_id=kept, merged_id=merged, package_uuid=package.uuid)
    )


def register() -> None:
    """From RegistryConfig.ready(): every type on the fund's queue tfoms.to_mis."""
    handlers = {
        "POLIS": _handler(_polis),
        "CHECKPERS": _handler(_checkpers),
        "PERSCHANGE": _handler(_perschange),
        "DOUBLES": _doubles_handler,
        "IDLEPERSONS": _handler(_idlepersons),
    }
    for code, handler in handlers.items():
        register_inbound_type(InboundType(code, SERVICE, fund_formats.XSD[code], handler, title=TITLES[code]))
