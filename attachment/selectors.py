"""Reads of the attachment file (D1): an МО's attached persons over a period, streamed in batches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Any, Generic, NamedTuple, TypeVar

from django.db.models import Exists, OuterRef, Q, QuerySet

from registry.access import scope
from registry.models import Attachment, IdentityDocument, Mo, Policy, Workplace

CHUNK = 2000  # rows per fetch of each cursor
MAIN = Attachment.AttachType.MAIN
R = TypeVar("R")


class AttachmentRow(NamedTuple):
    """One main-type attachment of the МО overlapping the period, with its person and district."""

    attachment_id: int
    person_id: int
    date_from: dt.date
    date_to: dt.date | None
    method: int
    attach_type: int
    site_id: int | None
    last_name: str
    first_name: str
    middle_name: str
    birth_date: dt.date
    birth_place: str
    snils: str
    created_at: dt.datetime
    site_number: str | None
    subdivision_code: str | None
    doctor_id: int | None
    doctor_snils: str | None
    doctor_post_type: int | None
    moved_here: bool


ATTACHMENT_COLUMNS = (
    "pk",
    "person_id",
    "date_from",
    "date_to",
    "method",
    "attach_type",
    "site_id",
    "person__last_name",
    "person__first_name",
    "person__middle_name",
    "person__birth_date",
    "person__birth_place",
    "person__snils",
    "person__created_at",
    "site__number",
    "site__department__subdivision__code",
    "site__doctor_id",
    "site__doctor__snils",
    "site__doctor__post_type",
    "moved_here",
)


class PolicyRow(NamedTuple):
    policy_id: int
    form: str
    series: str
    number: str
    enp: str
    valid_from: dt.date
    valid_to: dt.date | None


class DocumentRow(NamedTuple):
    document_id: int
    doc_type: int
    series: str
    number: str
    issued_at: dt.date | None
    issuer: str


class AttachedPerson(NamedTuple):
    """A person of the file: their attachments to the МО (latest first), policies and documents."""

    person_id: int
    attachments: list[AttachmentRow]
    policies: list[PolicyRow]
    documents: list[DocumentRow]


def _period_filter(
    *, workplace: Workplace | None, mo: Mo, date_from: dt.date, date_to: dt.date
) -> QuerySet[Attachment]:
    return (
        scope(Attachment.objects.all(), workplace)
        .filter(mo=mo, attach_type=MAIN, date_from__lte=date_to)
        .filter(Q(date_to__isnull=True) | Q(date_to__gte=date_from))
    )


def attachments_in_period(
    *, workplace: Workplace | None, mo: Mo, date_from: dt.date, date_to: dt.date
) -> QuerySet[Attachment]:
    """Main-type attachments to the МО open on some day of the period (so also those detached in it),
    ordered by person, latest first; `moved_here` says the person came from another МО whose
    attachment ended in the period. Scoped: another МО's attachments never come out of it."""
    # The Р rule looks at the person's attachment history in other МО: a flag, no data of theirs.
    detached_elsewhere = Attachment.objects.filter(
        person_id=OuterRef("person_id"),
        attach_type=MAIN,
        date_to__gte=date_from,
        date_to__lte=date_to,
        date_from__lte=OuterRef("date_from"),
    ).exclude(mo_id=mo.pk)
    return (
        _period_filter(workplace=workplace, mo=mo, date_from=date_from, date_to=date_to)
        .annotate(moved_here=Exists(detached_elsewhere))
        .order_by("person_id", "-date_from", "-pk")
    )


def attached_persons(
    *, workplace: Workplace | None, mo: Mo, date_from: dt.date, date_to: dt.date
) -> Iterator[AttachedPerson]:
    """The persons of the file in person order, streamed: three cursors read side by side, each
    ordered by person — the attachments (with person, district, building and doctor joined), the
    policies and the identity documents of the same persons — and merged here. Three queries
    whatever the size, plain tuples and no model instances, so memory stays flat."""
    period = _period_filter(workplace=workplace, mo=mo, date_from=date_from, date_to=date_to)
    persons = period.values("person_id")
    attachments = (
        attachments_in_period(workplace=workplace, mo=mo, date_from=date_from, date_to=date_to)
        .values_list(*ATTACHMENT_COLUMNS)
        .iterator(chunk_size=CHUNK)
    )
    policies = _Follower(
        Policy.objects.filter(person_id__in=persons)
        .order_by("person_id")
        .values_list("person_id", "pk", "form", "series", "number", "enp", "valid_from", "valid_to")
        .iterator(chunk_size=CHUNK),
        PolicyRow._make,
    )
    documents = _Follower(
        IdentityDocument.objects.filter(person_id__in=persons)
        .order_by("person_id")
        .values_list("person_id", "pk", "doc_type", "series", "number", "issued_at", "issuer")
        .iterator(chunk_size=CHUNK),
        DocumentRow._make,
    )
    for person_id, group in groupby(map(AttachmentRow._make, attachments), key=attrgetter("person_id")):
        yield AttachedPerson(person_id, list(group), policies.take(person_id), documents.take(person_id))


class _Follower(Generic[R]):
    """Rows `(person_id, …)` ordered by person, handed out person by person as the main stream
    reaches them; a person the main stream skips is passed over."""

    def __init__(self, rows: Iterator[tuple[Any, ...]], make: Callable[[Iterable[Any]], R]) -> None:
        self._groups = groupby(rows, key=itemgetter(0))
        self._make = make
        self._current: tuple[int, Iterator[tuple[Any, ...]]] | None = next(self._groups, None)

    def take(self, person_id: int) -> list[R]:
        while self._current is not None and self._current[0] < person_id:
            self._current = next(self._groups, None)
        if self._current is None or self._current[0] != person_id:
            return []
        items = [self._make(row[1:]) for row in self._current[1]]
        self._current = next(self._groups, None)
        return items


def person_attachment_packages(
    *, person_id: int, workplace: Workplace | None, package_type: str
) -> tuple[bool, list[Any]]:
    """For the person's card: whether the viewer's МО has attachments of the person, and the latest
    attachment packages about them — both through the scoping function (packages are МО-owned)."""
    from servicelog.models import Package

    attachment_ids = [
        str(pk)
        for pk in scope(Attachment.objects.filter(person_id=person_id), workplace).values_list(
            "pk", flat=True
        )
    ]
    packages = scope(
        Package.objects.filter(package_type=package_type, object_id__in=attachment_ids), workplace
    ).order_by("-id")[:10]
    return bool(attachment_ids), list(packages)
