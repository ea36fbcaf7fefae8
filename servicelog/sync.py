"""The family sync engine: what the fund must be told about an МО's objects, in order (DESIGN §3).

A family (attachment, dispensary observation, plans, order 263 …) declares, per package type, how to
list its current objects (id → payload, person keys, parents), which ids still exist, and how to
build a delete payload; ranks come from the registered package types. `family_sync` diffs them
against SentObject (what the fund accepted) and the packages in flight, forms Insert/Update in rank
order and Delete in reverse rank, holds a child whose parent the fund neither knows nor is being
sent, keeps one GUID per object, and logs what waits for what.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from registry.models import Mo

from .forming import (
    Draft,
    PersonKeys,
    content_hash,
    latest_packages,
    ordering_key_for,
    packages_form,
    sequence_lock,
)
from .models import (
    LogEntry,
    Operation,
    Package,
    PackageStatus,
    RunResult,
    SentObject,
    ServiceRun,
)
from .registry import get_package_type, package_type_title
from .statuses import log_write

S = PackageStatus
# The latest package of an object in these states says the same thing is on its way, or was refused
# by the fund for this very content: forming it again would only repeat it.
IN_FLIGHT = (S.FORMED, S.SENT, S.SEND_ERROR, S.REJECTED_BY_FUND)
# A parent in these states is being told to the fund: its children may follow it in the same key.
GOING = (S.FORMED, S.SENT, S.SEND_ERROR)


@dataclass(frozen=True)
class Parent:
    """An object the fund must know before a child can go: (its package type, its id). `label` names
    it in the log; `accepted_only` waits for Принят ТФОМС rather than for the parent being on its way."""

    package_type: str
    object_id: str
    label: str = ""
    accepted_only: bool = False


@dataclass(frozen=True)
class SyncObject:
    """One current object of a family: its id, what its package says, who it is about, its parents."""

    object_id: str
    payload: dict[str, Any] | Callable[[], dict[str, Any]]
    person: PersonKeys | None = None
    parents: tuple[Parent, ...] = ()
    # The lister has found that the fund has not accepted these parents (all accepted_only): the
    # object is held without a look-up, and nothing of it need be loaded (a region's first runs
    # hold 10⁵ movements). It is looked at again by the next run.
    waits: bool = False

    def built(self) -> dict[str, Any]:
        """The payload; a callable one is built only for an object that is not held for a parent
        (a run that holds 300,000 movements for their hospitalisations builds none of them)."""
        return self.payload() if callable(self.payload) else self.payload


@dataclass(frozen=True)
class SyncContext:
    """What a family's listing functions get: the run, the МО, today, and an optional narrowing to one
    person (a send from the person's card) or to a subset the family names (`subset`: a plan's id for
    "Отправить" of one plan). A narrowed sync forms no deletes: they go with the МО's run."""

    run: ServiceRun
    owner: Mo | None  # None: a family whose objects belong to no МО (it names a `partition`)
    today: dt.date
    person_id: int | None = None
    subset: Any = None
    partition: str = ""

    @property
    def mo(self) -> Mo:
        """The МО whose objects are listed (the families of an МО's objects ask only for this)."""
        if self.owner is None:
            raise ValueError(f"a sync of partition {self.partition} has no МО")
        return self.owner

    @property
    def partial(self) -> bool:
        return self.person_id is not None or self.subset is not None


Lister = Callable[[SyncContext], Iterable[SyncObject]]


@dataclass(frozen=True)
class FamilyType:
    """A package type as a family uses it.

    `objects` lists what should be at the fund now (it may leave out objects known unchanged, e.g.
    outside a period of changes); `present` gives every id that still exists, so the rest of what the
    fund knows is deleted (None: this type never deletes); `delete_payload` is what a Delete says.
    `held` is the log line for children waiting for a parent: one per parent when it names {parent}
    (its label), else one for the type ({count}: how many wait)."""

    code: str
    objects: Lister
    present: Callable[[SyncContext], Iterable[str]] | None = None
    delete_payload: Callable[[SyncContext, str], dict[str, Any]] | None = None
    held: str = "{title}: ожидают передачи в ТФОМС «{parent}» — {count}."
    enabled: Callable[[], bool] = lambda: True
    insert_only: bool = False
    # An object the fund knows by another type's GUID (AMOUNT_BED and FREE_BEDS_INFORMATION of a bed
    # profile carry the GUID of its DIVISION_LINK_STRUCTURE_BED, formats §3.3).
    guid_of: str | None = None
    # The fund is told only changes of an object another type created (FREE_BEDS_INFORMATION).
    update_only: bool = False


@dataclass(frozen=True)
class Family:
    """Package types that share an ordering key, within one service. An `on_demand` family is formed
    only when a user asks (a plan's "Отправить"), never by its service's scheduled or manual run."""

    code: str
    service: str
    types: tuple[FamilyType, ...]
    on_demand: bool = False

    def ordered(self) -> list[FamilyType]:
        return sorted((t for t in self.types if t.enabled()), key=lambda t: get_package_type(t.code).rank)


@dataclass
class SyncResult:
    formed: int = 0
    held: dict[str, int] = field(default_factory=dict)  # package type → children held for a parent


def told(package_type: str, ref: str = "pk") -> Exists:
    """A queryset annotation: the fund has accepted this row (by its pk, or the row `ref` names) as
    an object of the type."""
    return Exists(
        SentObject.objects.filter(
            package_type=package_type, object_id=Cast(OuterRef(ref), CharField()), deleted=False
        )
    )


def changed_since(ctx: SyncContext) -> dt.datetime | None:
    """When the last successful run of the service that covered the whole МО (its own or the
    region's) started: a family may list only rows changed after it, plus what the fund was never
    told (order 263, manual §4.4.5.1.2). None: no such run, everything is a candidate."""
    return (
        ServiceRun.objects.filter(
            service_id=ctx.run.service_id,
            result=RunResult.SUCCESS,
            scope_key__in=("", ctx.owner.code if ctx.owner else ""),
        )
        .exclude(pk=ctx.run.pk)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )


M = TypeVar("M", bound=Model)


def candidates(rows: QuerySet[M], ctx: SyncContext, package_type: str, *paths: str) -> QuerySet[M]:
    """Rows a run looks at: changed since the last successful run (their `updated_at`, or that of
    a row they reach through one of `paths`, e.g. "person__"), or not accepted by the fund as
    objects of `package_type`. The mark is moved back by TFOMS_CHANGES_OVERLAP_SECONDS, so a change
    committed just after that run had read is still seen. No such run: every row."""
    since = changed_since(ctx)
    if since is None:
        return rows
    since -= dt.timedelta(seconds=settings.TFOMS_CHANGES_OVERLAP_SECONDS)
    changed = Q()
    for path in ("", *paths):
        changed |= Q(**{f"{path}updated_at__gte": since})
    return rows.filter(changed | ~told(package_type))


def _known(package_type: str, mo: Mo | None) -> dict[str, SentObject]:
    return {
        so.object_id: so
        for so in SentObject.objects.filter(package_type=package_type, mo=mo).only(
            "object_id", "external_id", "accepted_hash", "deleted", "forgotten_upto"
        )
    }


def object_guids(package_type: str, object_ids: Iterable[str]) -> dict[str, str]:
    """The GUIDs objects of a type have (accepted, else carried by their newest package): what a
    child's payload names its parent by (DIVISION → BRANCH_ID, MOTION → HOSPITALISATION_ID)."""
    ids = sorted(set(object_ids))
    guids: dict[str, str] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        guids.update(
            SentObject.objects.filter(package_type=package_type, object_id__in=chunk)
            .exclude(external_id="")
            .values_list("object_id", "external_id")
        )
    for object_id, package in latest_packages(package_type, [i for i in ids if i not in guids]).items():
        if package.external_id:
            guids[object_id] = package.external_id
    return guids


def _guid(sent: SentObject | None, last: Package | None) -> str:
    """The object's GUID: the one the fund accepted, else the one its earlier packages carried."""
    if sent is not None and sent.external_id:
        return sent.external_id
    if last is not None and last.external_id:
        return last.external_id
    return str(uuid.uuid4()).upper()


@dataclass
class _Parents:
    """Which parents the fund knows (accepted, not deleted) and which are on their way to it (latest
    package Сформирован/Отправлен/Ошибка отправки and not a Delete)."""

    known: set[tuple[str, str]] = field(default_factory=set)
    going: set[tuple[str, str]] = field(default_factory=set)

    def allow(self, parent: Parent) -> bool:
        key = (parent.package_type, parent.object_id)
        return key in self.known or (not parent.accepted_only and key in self.going)


def _parents(parents: Iterable[Parent]) -> _Parents:
    by_type: dict[str, set[str]] = defaultdict(set)
    for parent in parents:
        by_type[parent.package_type].add(parent.object_id)
    state = _Parents()
    for package_type, ids in by_type.items():
        chunked = sorted(ids)
        for start in range(0, len(chunked), 1000):
            known = SentObject.objects.filter(
                package_type=package_type, object_id__in=chunked[start : start + 1000], deleted=False
            )
            state.known |= {(package_type, oid) for oid in known.values_list("object_id", flat=True)}
        state.going |= {
            (package_type, oid)
            for oid, package in latest_packages(package_type, chunked).items()
            if package.status in GOING and package.operation != Operation.DELETE
        }
    return state


def forgotten(sent: SentObject | None, last: Package | None) -> bool:
    """The peer was made to forget the object (`sent_objects_forget`) since its newest package was
    formed: that package no longer counts, accepted or not."""
    return (
        sent is not None
        and sent.forgotten_upto is not None
        and (last is None or last.pk <= sent.forgotten_upto)
    )


def _told(sent: SentObject | None, last: Package | None) -> bool:
    """Whether the fund has (or is being given) the object: its newest package decides while that one
    is on its way or accepted — an Insert in flight makes the next change an Update, a Delete in
    flight makes a re-created object an Insert; otherwise what the fund accepted (SentObject)."""
    if forgotten(sent, last):
        return False
    if last is not None and last.status in (*GOING, S.ACCEPTED):
        return last.operation != Operation.DELETE
    return sent is not None and not sent.deleted


def _form(ctx: SyncContext, ftype: FamilyType, drafts: list[Draft], latest: dict[str, Package]) -> int:
    """Form the drafts in the sync's ordering key (its МО's, or its partition's): how many formed."""
    formed = packages_form(
        run=ctx.run,
        mo=ctx.owner,
        package_type=ftype.code,
        drafts=drafts,
        latest=latest,
        partition=ctx.partition,
    )
    return len(formed)


def _upserts(ctx: SyncContext, ftype: FamilyType, result: SyncResult) -> None:
    listed = list(ftype.objects(ctx))
    objects = [obj for obj in listed if not obj.waits]
    parents = _parents(p for obj in objects for p in obj.parents)
    # What the fund knows, read next to the newest packages: an answer accepted between the two reads
    # shows in the latter (ACCEPTED), so it is never taken for "not told" (no second Insert).
    known = _known(ftype.code, ctx.owner)
    latest = latest_packages(ftype.code, [obj.object_id for obj in objects])
    shared = object_guids(ftype.guid_of, [obj.object_id for obj in objects]) if ftype.guid_of else {}
    held: dict[tuple[str, str], int] = defaultdict(int)  # (parent type, parent) → children held for it
    held_objects = 0
    drafts: list[Draft] = []
    for obj in listed:
        waiting = list(obj.parents) if obj.waits else [p for p in obj.parents if not parents.allow(p)]
        if waiting:
            held_objects += 1
            for parent in waiting:
                held[(parent.package_type, parent.label or parent.object_id)] += 1
            continue
        payload = obj.built()
        digest = content_hash(ftype.code, obj.object_id, payload)
        last = latest.get(obj.object_id)
        sent = known.get(obj.object_id)
        if (
            last is not None
            and last.status in (*IN_FLIGHT, S.ACCEPTED)
            and last.content_hash == digest
            and not forgotten(sent, last)
        ):
            continue  # the same content on its way, refused for it, or just accepted
        told = _told(sent, last)
        if told and (
            ftype.insert_only or (sent is not None and not sent.deleted and sent.accepted_hash == digest)
        ):
            continue
        drafts.append(
            Draft(
                Operation.UPDATE if told or ftype.update_only else Operation.INSERT,
                obj.object_id,
                payload,
                obj.person,
                shared.get(obj.object_id) or _guid(sent, last),
                digest,
            )
        )
    result.formed += _form(ctx, ftype, drafts, latest)
    title = package_type_title(ftype.code)
    lines = (
        [(label, count) for (_, label), count in sorted(held.items())]
        if "{parent}" in ftype.held
        else [("", held_objects)]
        if held
        else []  # one line for the type: how many of its objects wait, whatever for
    )
    for label, count in lines:
        log_write(
            run=ctx.run,
            mo=ctx.owner,
            level=LogEntry.Level.WARNING,
            message=ftype.held.format(title=title, parent=label, count=count),
        )
    if held:
        result.held[ftype.code] = held_objects


def _deletes(ctx: SyncContext, ftype: FamilyType, result: SyncResult) -> None:
    if ftype.present is None or ftype.delete_payload is None:
        return
    present = set(ftype.present(ctx))
    known = _known(ftype.code, ctx.owner)
    gone = sorted(oid for oid, so in known.items() if not so.deleted and oid not in present)
    if not gone:
        return
    latest = latest_packages(ftype.code, gone)
    drafts = []
    for object_id in gone:
        last = latest.get(object_id)
        if (
            last is not None
            and last.operation == Operation.DELETE
            and last.status in (*IN_FLIGHT, S.ACCEPTED)
        ):
            continue  # its Delete is on its way, refused, or accepted since `known` was read
        drafts.append(
            Draft(
                Operation.DELETE,
                object_id,
                ftype.delete_payload(ctx, object_id),
                external_id=_guid(known[object_id], last),
            )
        )
    result.formed += _form(ctx, ftype, drafts, latest)


def family_sync(
    *,
    run: ServiceRun,
    mo: Mo | None,
    family: Family,
    person_id: int | None = None,
    subset: Any = None,
    partition: str = "",
) -> SyncResult:
    """Tell the fund what changed in one МО's objects of a family, inside the caller's transaction:
    Insert/Update in rank order, then Delete in reverse rank (formats §2.3). A family whose objects
    belong to no МО passes `mo=None` and a `partition` (its ordering key: one pharmacy organisation);
    its object ids must then be unique across partitions."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("family_sync runs inside the business transaction (DESIGN §3)")
    if mo is None and not partition:
        raise ValueError(f"family {family.code}: a sync without an МО names its partition")
    if mo is None and any(t.present is not None for t in family.types):
        # what the peer knows is read by type, not by partition: deletes would reach other partitions
        raise ValueError(f"family {family.code}: a family without an МО forms no deletes")
    # one former per МО (or partition) and family
    sequence_lock(ordering_key_for(run.service, mo, family.code, partition))
    ctx = SyncContext(
        run=run, owner=mo, today=timezone.localdate(), person_id=person_id, subset=subset, partition=partition
    )
    result = SyncResult()
    types = family.ordered()
    for ftype in types:
        _upserts(ctx, ftype, result)
    if not ctx.partial:
        for ftype in reversed(types):
            _deletes(ctx, ftype, result)
    return result


def family_sync_person(
    *, family: Family, person_id: int, mo: Mo, user: Any, scope: str, scope_title: str = ""
) -> ServiceRun:
    """One patient's packages of a family at once (a button on the person's card), in a manual run of
    its own: its timeout and single flight are per patient (`scope`), its deletes left to the МО's runs."""
    from .models import RunTrigger
    from .runs import run

    with (
        run(
            family.service, mo=mo, trigger=RunTrigger.MANUAL, user=user, scope=scope, scope_title=scope_title
        ) as opened,
        transaction.atomic(),
    ):
        family_sync(run=opened, mo=mo, family=family, person_id=person_id)
    return opened
