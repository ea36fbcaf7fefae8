"""Reads of order-263 data, scoped by workplace: referrals and stays with their exchange state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import QuerySet

from registry.access import scope
from registry.models import Workplace
from servicelog.models import Package
from servicelog.selectors import newest_packages
from servicelog.sync import told

from . import formats as f
from .models import Movement, Referral, Stay


@dataclass(frozen=True)
class ReferralState:
    referral: Referral
    last_package: Package | None  # its HOSPITALISATION_REFERRAL
    cancel_package: Package | None  # its CANCEL_HOSPITALISATION_REFERRAL, once cancelled


@dataclass(frozen=True)
class MovementState:
    movement: Movement
    last_package: Package | None  # its MOTION_IN_HOSPITAL


@dataclass(frozen=True)
class StayState:
    stay: Stay
    last_package: Package | None  # its HOSPITALISATION
    cancel_package: Package | None  # its CANCEL_HOSPITALISATION, for a refusal
    movements: list[MovementState] = field(default_factory=list)


def referral_rows(*, workplace: Workplace | None, person_id: int | None = None) -> QuerySet[Referral]:
    """The referrals the viewer's МО wrote (all МО for the ЦОД admin), newest first (a page of them
    is then given its exchange state)."""
    rows = scope(Referral.objects.all(), workplace)
    if person_id is not None:
        rows = rows.filter(person_id=person_id)
    return (
        rows.annotate(target_told=told(f.DIVISION, "to_department_id"))  # what a referral not sent waits for
        .select_related("mo", "to_mo", "to_department", "to_bed_profile", "person")
        .order_by("-referral_date", "-pk")
    )


def referral_states(loaded: Sequence[Referral], *, workplace: Workplace | None) -> list[ReferralState]:
    latest = newest_packages(
        workplace=workplace,
        package_types=(f.REFERRAL, f.CANCEL_REFERRAL),
        object_ids=[str(r.pk) for r in loaded],
    )
    return [
        ReferralState(r, latest.get((f.REFERRAL, str(r.pk))), latest.get((f.CANCEL_REFERRAL, str(r.pk))))
        for r in loaded
    ]


def stay_rows(*, workplace: Workplace | None, person_id: int | None = None) -> QuerySet[Stay]:
    """The stays of the viewer's МО (all МО for the ЦОД admin) with their movements, newest first."""
    rows = scope(Stay.objects.all(), workplace)
    if person_id is not None:
        rows = rows.filter(person_id=person_id)
    return (
        rows.annotate(department_told=told(f.DIVISION, "department_id"))
        .select_related("mo", "person", "department", "bed_profile", "referral__mo")
        .prefetch_related("movements__department", "movements__bed_profile")
        .order_by("-admitted_at", "-pk")
    )


def stay_states(loaded: Sequence[Stay], *, workplace: Workplace | None) -> list[StayState]:
    ids = [str(s.pk) for s in loaded]
    movement_ids = [str(m.pk) for s in loaded for m in s.movements.all()]
    latest = newest_packages(
        workplace=workplace, package_types=(f.HOSPITALISATION, f.CANCEL_HOSPITALISATION), object_ids=ids
    )
    motions = newest_packages(workplace=workplace, package_types=(f.MOTION,), object_ids=movement_ids)
    return [
        StayState(
            s,
            latest.get((f.HOSPITALISATION, str(s.pk))),
            latest.get((f.CANCEL_HOSPITALISATION, str(s.pk))),
            [MovementState(m, motions.get((f.MOTION, str(m.pk)))) for m in s.movements.all()],
        )
        for s in loaded
    ]
