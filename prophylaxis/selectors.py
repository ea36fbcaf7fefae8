"""Reads of prophylaxis, scoped by workplace: observation cards with their exchange state, plan counts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from registry.access import scope
from registry.models import Workplace
from servicelog.models import Package

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
    ids = [str(card.pk) for card in loaded]
    latest: dict[tuple[str, bool], Package] = {}  # (card, is PERSCANCER) → newest package
    for start in range(0, len(ids), 1000):
        packages = scope(
            Package.objects.filter(package_type__in=PACKAGE_TYPES, object_id__in=ids[start : start + 1000]),
            workplace,
        ).order_by("-id")
        for package in packages:
            latest.setdefault((package.object_id, package.package_type == "PERSCANCER"), package)
    return [
        CardState(card, latest.get((str(card.pk), False)), latest.get((str(card.pk), True)))
        for card in loaded
    ]


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
