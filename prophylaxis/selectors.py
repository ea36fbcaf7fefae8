"""Reads of prophylaxis, scoped by workplace: observation cards with their exchange state, plan counts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from registry.access import scope
from registry.models import Workplace
from servicelog.models import Package
from servicelog.selectors import newest_packages

from .models import DispensaryCard, PlanPerson, ProphylaxisPlan

PACKAGE_TYPES = ("DISP", "DISPOUT", "PERSCANCER")
OPEN, ENDED = "open", "ended"


@dataclass(frozen=True)
class CardState:
    card: DispensaryCard
    last_package: Package | None  # the card's newest DISP or DISPOUT: the state of the observation
    cancer_package: Package | None = None  # its newest PERSCANCER, for a malignant neoplasm

    @property
    def status(self) -> str:
        return OPEN if self.card.date_out is None else ENDED


def dispensary_cards(
    *, workplace: Workplace | None, person_id: int | None = None, status: str = ""
) -> list[CardState]:
    """The cards the viewer's МО holds (all МО for the ЦОД admin), each with its newest package —
    both through the scoping function. `status`: open / ended / "" for all."""
    cards = scope(DispensaryCard.objects.all(), workplace)
    if person_id is not None:
        cards = cards.filter(person_id=person_id)
    if status == OPEN:
        cards = cards.filter(date_out__isnull=True)
    elif status == ENDED:
        cards = cards.filter(date_out__isnull=False)
    loaded = list(cards.select_related("mo", "person", "doctor").prefetch_related("visits").order_by("pk"))
    latest = newest_packages(
        workplace=workplace, package_types=PACKAGE_TYPES, object_ids=[str(card.pk) for card in loaded]
    )

    def newest(card: DispensaryCard, *types: str) -> Package | None:
        found = [p for p in (latest.get((t, str(card.pk))) for t in types) if p is not None]
        return max(found, key=lambda p: p.pk) if found else None

    return [CardState(card, newest(card, "DISP", "DISPOUT"), newest(card, "PERSCANCER")) for card in loaded]


def plan_counts(plans: list[ProphylaxisPlan]) -> dict[int, dict[str, int]]:
    """Persons per status of each plan, in one query."""
    counts: dict[int, dict[str, int]] = {p.pk: {} for p in plans}
    rows = (
        PlanPerson.objects.filter(plan__in=plans)
        .values("plan_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["plan_id"]][row["status"]] = row["n"]
    return counts
