"""The person's card: referrals and hospital stays of the viewer's МО with their exchange state (C2)."""

from __future__ import annotations

from typing import Any

from registry.models import Person, Workplace

from .selectors import referrals, stays


def person_hospitalisation_section(person: Person, workplace: Workplace | None) -> dict[str, Any]:
    return {
        "referrals": referrals(workplace=workplace, person_id=person.pk),
        "stays": stays(workplace=workplace, person_id=person.pk),
    }
