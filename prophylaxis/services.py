"""The dispensary observation family (C5, C7 PERSCANCER) as declarations of the sync engine.

DISP while a card is open (Insert, Update when it changes, Delete when the card is deleted); DISPOUT
when it is ended, never before the card's DISP was accepted; PERSCANCER for cards with a malignant
neoplasm (C00–C97, D00–D09). All under "Сервис автоматизированного взаимодействия с ТФОМС".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from registry.models import Person
from servicelog.forming import PersonKeys
from servicelog.models import LogEntry
from servicelog.statuses import log_write
from servicelog.sync import Family, FamilyType, Parent, SyncContext, SyncObject, told

from .formats import (
    disp_delete_payload,
    disp_payload,
    dispout_payload,
    perscancer_delete_payload,
    perscancer_payload,
)
from .models import DispensaryCard

DISP, DISPOUT, PERSCANCER = "DISP", "DISPOUT", "PERSCANCER"


def _cards(ctx: SyncContext) -> QuerySet[DispensaryCard]:
    cards = DispensaryCard.objects.filter(mo=ctx.mo)
    if ctx.person_id is not None:
        cards = cards.filter(person_id=ctx.person_id)
    return cards


def _loaded(cards: QuerySet[DispensaryCard]) -> QuerySet[DispensaryCard]:
    return (
        cards.select_related("mo", "person", "doctor")
        .prefetch_related("visits", "person__documents", "person__policies")
        .order_by("pk")
    )


def _keys(person: Person, ctx: SyncContext) -> PersonKeys:
    return PersonKeys.of(person, person.policy_on(ctx.today))


def _with_fund_id(
    cards: Iterable[DispensaryCard], ctx: SyncContext, report: bool
) -> Iterator[DispensaryCard]:
    """The cards whose person the fund can be told about (BDZ_ID is required by the layout). With
    `report`, the others are named on the run in one line: they wait for the identification."""
    missing = []
    for card in cards:
        if card.person.fund_person_id:
            yield card
        else:
            missing.append(card.pk)
    if report and missing:
        shown = ", ".join(f"№ {pk}" for pk in missing[:20]) + (" …" if len(missing) > 20 else "")
        log_write(
            run=ctx.run,
            mo=ctx.mo,
            level=LogEntry.Level.WARNING,
            message=f"Карт диспансерного наблюдения пациентов без идентификатора в РС ЕРЗ (BDZ_ID): "
            f"{len(missing)} ({shown}); их пакеты не формируются до идентификации в ТФОМС.",
        )


def _disp(ctx: SyncContext) -> Iterator[SyncObject]:
    """Open cards, and ended ones whose taking the fund was never told (their DISPOUT waits for it)."""
    cards = _loaded(_cards(ctx).annotate(told=told(DISP)))
    for card in _with_fund_id(cards, ctx, report=True):
        if card.date_out is not None and card.told:  # type: ignore[attr-defined]
            continue
        yield SyncObject(str(card.pk), disp_payload(card, ctx.today), _keys(card.person, ctx))


def _dispout(ctx: SyncContext) -> Iterator[SyncObject]:
    cards = _loaded(_cards(ctx).filter(date_out__isnull=False))
    for card in _with_fund_id(cards, ctx, report=False):  # the DISP lister has named the others
        parent = Parent(DISP, str(card.pk), accepted_only=True)
        yield SyncObject(str(card.pk), dispout_payload(card, ctx.today), _keys(card.person, ctx), (parent,))


def _perscancer(ctx: SyncContext) -> Iterator[SyncObject]:
    cards = [card for card in _loaded(_cards(ctx)) if card.is_cancer]
    for card in _with_fund_id(cards, ctx, report=False):
        yield SyncObject(str(card.pk), perscancer_payload(card), _keys(card.person, ctx))


def _card_ids(ctx: SyncContext) -> Iterator[str]:
    return (str(pk) for pk in DispensaryCard.objects.filter(mo=ctx.mo).values_list("pk", flat=True))


def _ended_ids(ctx: SyncContext) -> Iterator[str]:
    """A reopened or deleted card is no longer removed: its DISPOUT is withdrawn (Delete)."""
    cards = DispensaryCard.objects.filter(mo=ctx.mo, date_out__isnull=False)
    return (str(pk) for pk in cards.values_list("pk", flat=True))


def _cancer_ids(ctx: SyncContext) -> Iterator[str]:
    cards = DispensaryCard.objects.filter(mo=ctx.mo).values_list("pk", "diagnosis")
    return (str(pk) for pk, diagnosis in cards if DispensaryCard(diagnosis=diagnosis).is_cancer)


DISPENSARY = Family(
    code="disp",
    service="tfoms_auto",
    types=(
        FamilyType(DISP, _disp, _card_ids, lambda ctx, oid: disp_delete_payload(ctx.mo.code, oid)),
        FamilyType(
            DISPOUT,
            _dispout,
            _ended_ids,
            lambda ctx, oid: disp_delete_payload(ctx.mo.code, oid),
            held="Снятий с диспансерного наблюдения, ожидающих, пока ТФОМС примет взятие под наблюдение: "
            "{count} (снятие уходит только после этого).",
        ),
        FamilyType(PERSCANCER, _perscancer, _cancer_ids, lambda ctx, oid: perscancer_delete_payload(oid)),
    ),
)
