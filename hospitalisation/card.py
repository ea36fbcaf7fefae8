"""The person's card: referrals and hospital stays of the viewer's МО with their exchange state (C2)."""

from __future__ import annotations

from typing import Any

from registry.models import ADMIN_ROLES, Person, Workplace

from .selectors import referral_rows, referral_states, stay_rows, stay_states


def person_hospitalisation_section(person: Person, workplace: Workplace | None) -> dict[str, Any]:
    return {
        "referrals": referral_states(
            list(referral_rows(workplace=workplace, person_id=person.pk)), workplace=workplace
        ),
        "stays": stay_states(list(stay_rows(workplace=workplace, person_id=person.pk)), workplace=workplace),
        "can_refer": workplace is not None and workplace.role in ADMIN_ROLES,
    }
