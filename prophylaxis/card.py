"""The person's card: dispensary observation cards of the viewer's МО with their exchange state (C5)."""

from __future__ import annotations

from typing import Any

from registry.models import Person, Workplace

from .selectors import dispensary_cards


def person_dispensary_section(person: Person, workplace: Workplace | None) -> dict[str, Any]:
    return {"cards": dispensary_cards(workplace=workplace, person_id=person.pk)}
