"""Reads of the registry worth a name, always scoped by the viewer's workplace."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from registry.access import get_scoped_or_404, scope
from tfoms_portal.search import starts_like

from . import checkdigits
from .models import (
    Attachment,
    IdentityDocument,
    NsiEntry,
    Person,
    Policy,
    Smo,
    TreatmentCase,
    Workplace,
)


@dataclass(frozen=True)
class PersonQuery:
    fio: str = ""
    birth_date: dt.date | None = None
    enp: str = ""
    snils: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.fio or self.birth_date or self.enp or self.snils)


def person_search(*, workplace: Workplace | None, query: PersonQuery) -> QuerySet[Person]:
    """Persons of the viewer's МО matching every given criterion; ФИО parts match from the start."""
    persons = scope(Person.objects.all(), workplace)
    parts = query.fio.split()
    for lookup, part in zip(("last_name", "first_name", "middle_name"), parts, strict=False):
        persons = persons.filter(starts_like(lookup, part))
    if query.birth_date:
        persons = persons.filter(birth_date=query.birth_date)
    if query.enp:
        persons = persons.filter(pk__in=Policy.objects.filter(enp=query.enp).values("person"))
    if query.snils:
        persons = persons.filter(snils=checkdigits.digits_only(query.snils))
    return persons.order_by("last_name", "first_name", "middle_name", "birth_date", "pk")


@dataclass
class PersonCard:
    person: Person
    policies: list[Policy]
    attachments: list[Attachment]
    cases: list[TreatmentCase]
    warnings: list[str] = field(default_factory=list)
    nsi: dict[str, dict[str, str]] = field(default_factory=dict)


def nsi_names(directory: str) -> dict[str, str]:
    """Code → name of a classifier (the latest edition of each code)."""
    rows = NsiEntry.objects.filter(directory=directory).order_by("date_begin").values_list("code", "name")
    return dict(rows)


def person_card(*, workplace: Workplace | None, person_id: int) -> PersonCard:
    """The read-only card; 404 for a person outside the viewer's МО. Attachments and treatment cases are
    МО-owned: the card shows those of the viewer's scope (all of them to the ЦОД admin)."""
    person = get_scoped_or_404(
        Person.objects.prefetch_related(
            "documents",
            Prefetch("policies", queryset=Policy.objects.select_related("smo").order_by("-valid_from")),
        ),
        workplace,
        pk=person_id,
    )
    policies = list(person.policies.all())
    attachments = list(
        scope(Attachment.objects.filter(person=person), workplace)
        .select_related("mo", "site__doctor", "fap_site")
        .order_by("-date_from")
    )
    cases = list(
        scope(TreatmentCase.objects.filter(person=person), workplace)
        .select_related("mo")
        .order_by("-date_begin")
    )
    warnings = [
        f"ЕНП {policy.enp} не соответствует дате рождения и полу человека "
        "(предупреждение, данные не изменены)."
        for policy in policies
        if policy.enp and not checkdigits.enp_facet_matches(policy.enp, person.birth_date, person.sex)
    ]
    return PersonCard(
        person=person,
        policies=policies,
        attachments=attachments,
        cases=cases,
        warnings=warnings,
        nsi={"F008": nsi_names("F008"), "F011": nsi_names("F011")},
    )


# --- many persons' policies and documents at once (forming) ---------------------------------------


@dataclass
class PersonRows:
    """What a package says about its person besides the person row, for many persons in a few
    queries: policies (with their СМО), documents, and — when asked — every attachment's (start, id,
    МО), to tell a close cause from the next attachment. A family's lister reads these instead of
    prefetch_related, which clones a queryset per person (a third of forming 100,000 packages)."""

    policies: dict[int, list[Policy]] = field(default_factory=lambda: defaultdict(list))
    documents: dict[int, list[IdentityDocument]] = field(default_factory=lambda: defaultdict(list))
    history: dict[int, list[tuple[dt.date, int, int]]] = field(default_factory=lambda: defaultdict(list))


def person_rows(persons: QuerySet[Any], *, with_attachments: bool = False) -> PersonRows:
    """`persons`: a queryset of person ids (`….values("person_id")`), read as a subquery — a list
    of 100,000 ids as parameters costs more to compile than the rows cost to read."""
    rows = PersonRows()
    smos = Smo.objects.in_bulk()
    for policy in Policy.objects.filter(person_id__in=persons):
        Policy.smo.field.set_cached_value(policy, smos.get(policy.smo_id))  # type: ignore[arg-type]
        rows.policies[policy.person_id].append(policy)
    for document in IdentityDocument.objects.filter(person_id__in=persons):
        rows.documents[document.person_id].append(document)
    if with_attachments:
        history = Attachment.objects.filter(person_id__in=persons).values_list(
            "person_id", "date_from", "pk", "mo_id"
        )
        for person, date_from, pk, mo_id in history:
            rows.history[person].append((date_from, pk, mo_id))
        for entries in rows.history.values():
            entries.sort()
    return rows
