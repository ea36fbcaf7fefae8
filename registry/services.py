"""Writes of the registry: identification requests and policies coming from the fund (B2, B5, C6)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import Mo, Person, Policy, Smo

# F008 policy type → the form letter of the attachment file (formats §4.1): 1 old-style, 2 temporary
# certificate, 3 unified (paper), 4 electronic unified, 5 in a UEC.
FORM_BY_TYPE = {
    1: Policy.Form.OLD,
    2: Policy.Form.TEMPORARY,
    3: Policy.Form.PAPER,
    4: Policy.Form.ELECTRONIC,
    5: Policy.Form.UEC,
}


class PolicyRefused(ValueError):
    """The fund's policy cannot be saved; the message goes onto the record that carried it."""


def person_identification_request(*, person: Person, reason: str, mo: Mo | None) -> Person:
    """Queue a person for batch identification (period: today) on behalf of an МО (B2)."""
    person.identification_requested_at = timezone.now()
    person.identification_request_reason = reason
    person.identification_request_mo = mo
    person.save(
        update_fields=[
            "identification_requested_at",
            "identification_request_reason",
            "identification_request_mo",
            "updated_at",
        ]
    )
    return person


def smo_by_fund_codes(code: str, ogrn: str) -> Smo:
    """The СМО named by RQ (F002 code) and RQOGRN: exactly one must match (§4.3.5)."""
    matches = list(Smo.objects.filter(code=code, ogrn=ogrn)[:2])
    if len(matches) != 1:
        raise PolicyRefused(f"Не удалось определить страховую принадлежность: RQ={code}, RQOGRN={ogrn}")
    return matches[0]


@dataclass(frozen=True)
class FundPolicy:
    smo: Smo
    policy_type: int
    series: str
    number: str
    enp: str
    valid_from: dt.date
    valid_to: dt.date | None


def _same(policy: Policy, new: FundPolicy) -> bool:
    """The same document: ЕНП, series and number and СМО equal (an ЕНП alone stays with the person
    across policies, e.g. after a change of СМО)."""
    return (policy.enp, policy.series, policy.number, policy.smo_id) == (
        new.enp,
        new.series,
        new.number,
        new.smo.pk,
    )


def policy_merge(*, person: Person, existing: list[Policy], new: FundPolicy, source: str) -> list[Policy]:
    """Fit the fund's policy among the person's policies, in memory (B5): the same policy is updated;
    an older one still open on the new start is closed the day before; one that starts on or after
    the new start cannot be resolved here and refuses. Returns every policy to save (a new one has
    no pk); `existing` is updated in place, so several rows of one person see each other."""
    if new.policy_type not in FORM_BY_TYPE:
        raise PolicyRefused(f"Отсутствует тип полиса: ROPDOC={new.policy_type}")
    if new.valid_to is not None and new.valid_to < new.valid_from:
        raise PolicyRefused(
            f"Дата окончания полиса {new.valid_to:%d.%m.%Y} раньше даты начала {new.valid_from:%d.%m.%Y}"
        )
    same = next((p for p in existing if _same(p, new)), None)
    changed: list[Policy] = []
    for other in existing:
        if other is same:
            continue
        ends = other.valid_to or dt.date.max
        if not (other.valid_from <= (new.valid_to or dt.date.max) and new.valid_from <= ends):
            continue
        if other.valid_from >= new.valid_from:
            raise PolicyRefused(
                f"Не удалось обработать пересечение полисных данных: полис с {other.valid_from:%d.%m.%Y} "
                f"начинается не раньше нового (с {new.valid_from:%d.%m.%Y})"
            )
        changed.append(other)
    for other in changed:  # only after every check passed: nothing half-applied in memory either
        other.valid_to = new.valid_from - dt.timedelta(days=1)
    policy = same or Policy(person=person)
    policy.policy_type = new.policy_type
    policy.form = FORM_BY_TYPE[new.policy_type]
    policy.series = new.series
    policy.number = new.number
    policy.enp = new.enp
    policy.smo = new.smo
    policy.valid_from = new.valid_from
    policy.valid_to = new.valid_to
    policy.source = source
    if same is None:
        existing.append(policy)
    return [*changed, policy]


@transaction.atomic
def policy_save_from_fund(*, person: Person, new: FundPolicy, source: str) -> Policy:
    """Save one fund's policy for a person (see policy_merge)."""
    existing = list(Policy.objects.select_for_update().filter(person=person))
    changed = policy_merge(person=person, existing=existing, new=new, source=source)
    for policy in changed:
        policy.save()
    # A person's policies are part of what packages say about them: their change time moves too, so
    # a run looking at changes (order 263) sees it.
    Person.objects.filter(pk=person.pk).update(updated_at=timezone.now())
    return changed[-1]
