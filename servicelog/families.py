"""Families by service, the job that syncs them, and the one per-МО failure policy (DESIGN §3):
a domain registers its family here; a service's run then syncs each family for each МО."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from registry.models import Mo

from .models import LogEntry, ServiceRun
from .registry import get_package_type, register_service_job
from .runs import run_beat
from .statuses import log_write
from .sync import Family, family_sync

_families: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """From a domain app's AppConfig.ready(): the family and a job of its service that syncs it.
    Its package types must be registered first, under the family's code: the lock `family_sync`
    takes and the ordering key the packages are numbered in are then one and the same."""
    for ftype in family.types:
        if get_package_type(ftype.code).family != family.code:
            raise ValueError(f"package type {ftype.code} is not of family {family.code}")
    _families[family.code] = family
    if not family.on_demand:
        register_service_job(family.service)(FamiliesJob(family.service))
    return family


def unregister_family(code: str) -> None:
    _families.pop(code, None)


def get_family(code: str) -> Family:
    return _families[code]


def service_families(service: str) -> list[Family]:
    """The families a run of the service syncs (on-demand ones are left to their users)."""
    return [f for f in _families.values() if f.service == service and not f.on_demand]


def for_each_mo(*, run: ServiceRun, mo: Mo | None, step: Callable[[Mo], Any], what: str) -> list[Mo]:
    """The one failure policy of a per-МО job: each МО in its own transaction; an МО that fails is
    logged on the run (which then ends Завершено с ошибкой), nothing of its transaction is kept, and
    the other МО go on. Returns the МО that failed."""
    failed = []
    targets: Sequence[Mo] = (
        [mo] if mo is not None else list(Mo.objects.filter(is_active=True).order_by("code"))
    )
    for one in targets:
        try:
            with transaction.atomic():
                step(one)
        except Exception as exc:
            failed.append(one)
            log_write(
                run=run,
                mo=one,
                level=LogEntry.Level.ERROR,
                message=f"{what} МО {one.code} не выполнено: {type(exc).__name__}: {exc}. Остальные МО "
                f"обработаны; изменения этой МО не сохранены.",
            )
        run_beat(run)
    return failed


@dataclass(frozen=True)
class FamiliesJob:
    """The job of a service with families: for each МО, every family of the service in one
    transaction, in the order they were registered."""

    service: str
    own_transactions: bool = True

    def __call__(self, *, run: ServiceRun, mo: Mo | None) -> None:
        families = service_families(self.service)

        def step(one: Mo) -> None:
            for family in families:
                family_sync(run=run, mo=one, family=family)

        for_each_mo(run=run, mo=mo, step=step, what="Формирование пакетов")
