"""Service «Передача справочников в ИС Фармация» (SPEC F3): for each active organisation, each
directory it is sent as one package, by the family engine against what that organisation accepted —
a directory that did not change sends nothing; switched off it stops; switched on again it goes whole."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from registry.models import Mo
from servicelog.models import LogEntry, Package, ServiceRun
from servicelog.peers import accepted_payload
from servicelog.runs import run_beat
from servicelog.statuses import log_write
from servicelog.sync import (
    Family,
    FamilyType,
    Lister,
    SyncContext,
    SyncObject,
    family_sync,
)

from . import formats as f
from .models import Directory, Mode, PharmacyDirectory, PharmacyOrganisation
from .selectors import DIRECTORY_ITEMS

SERVICE = "pharmacy"
FAMILY = "pharmacy"
QUEUE_PREFIX = "pharmacy."


def _objects(directory: str) -> Lister:
    def listed(ctx: SyncContext) -> Iterable[SyncObject]:
        chosen = (
            PharmacyDirectory.objects.filter(
                organisation__code=ctx.partition, organisation__active=True, directory=directory, enabled=True
            )
            .values_list("mode", flat=True)
            .first()
        )
        if chosen is None:
            return []
        items = DIRECTORY_ITEMS[directory](ctx.today)
        state = {item["code"]: f.item_digest(item) for item in items}
        if chosen == Mode.CHANGES:
            accepted = accepted_payload(f.package_type(directory), ctx.partition)
            sent = f.changes(items, accepted.get("state", {}) if accepted else {})
            if accepted is not None and not sent:
                return []  # it has all of it: nothing to tell
        else:
            sent = items
        payload = {
            "org": ctx.partition,
            "directory": directory,
            "mode": chosen,
            "items": sent,
            "state": state,
        }
        return [SyncObject(ctx.partition, payload)]

    return listed


PHARMACY = Family(
    FAMILY,
    SERVICE,
    tuple(FamilyType(f.package_type(code), _objects(code)) for code in Directory.values),
)


def route(package: Package) -> str:
    """The organisation's own queue (its ИС Фармация), by the code the package is for."""
    queue = (
        PharmacyOrganisation.objects.filter(code=package.object_id).values_list("queue", flat=True).first()
    )
    return queue or f"{QUEUE_PREFIX}{package.object_id.lower()}"


class PharmacyJob:
    """The service's one job: each active organisation in its own transaction (a failure of one
    leaves the others' packages formed); one switched off meanwhile forms nothing; one with nothing
    chosen is named in the log. An МО's own run has nothing to send: the directories are the region's."""

    own_transactions = True

    def __call__(self, *, run: ServiceRun, mo: Mo | None) -> None:
        _each_organisation(run)


def _each_organisation(run: ServiceRun) -> None:
    for code in (
        PharmacyOrganisation.objects.filter(active=True).order_by("code").values_list("code", flat=True)
    ):
        try:
            with transaction.atomic():
                _one_organisation(run, code)
        except Exception as exc:  # the others still go; this one's transaction is not kept
            log_write(
                run=run,
                level=LogEntry.Level.ERROR,
                message=f"Аптечная организация {code}: пакеты не сформированы: {type(exc).__name__}: {exc}. "
                f"Остальные организации обработаны.",
            )
        run_beat(run)


def _one_organisation(run: ServiceRun, code: str) -> None:
    organisation = PharmacyOrganisation.objects.select_for_update().filter(code=code, active=True).first()
    if organisation is None:
        log_write(
            run=run, message=f"Аптечная организация {code} выключена во время запуска: пакеты не формируются."
        )
        return
    if not organisation.directories.filter(enabled=True).exists():
        log_write(
            run=run,
            level=LogEntry.Level.WARNING,
            message=f"Аптечная организация {code} «{organisation.name}»: не выбран ни один "
            f"справочник, ничего не передано.",
        )
        return
    result = family_sync(run=run, mo=None, family=PHARMACY, partition=code)
    log_write(
        run=run,
        message=f"Аптечная организация {code} «{organisation.name}»: сформировано пакетов {result.formed}.",
    )
