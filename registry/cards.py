"""Sections that family apps add to the person's card (registry imports no family app, DESIGN §2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .models import Person, Workplace


@dataclass(frozen=True)
class CardSection:
    template: str  # rendered with the section's context plus `person` and `workplace`
    context: Callable[[Person, Workplace | None], dict[str, Any]]
    order: int = 100
    top: bool = False  # drawn under the card's title (actions), not after its facts


_sections: list[CardSection] = []


def register_card_section(section: CardSection) -> None:
    if section not in _sections:
        _sections.append(section)
        _sections.sort(key=lambda s: s.order)


def card_sections(
    person: Person, workplace: Workplace | None, *, top: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    return [
        (section.template, {**section.context(person, workplace), "person": person, "workplace": workplace})
        for section in _sections
        if section.top == top
    ]
