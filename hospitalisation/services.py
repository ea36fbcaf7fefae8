"""Order 263 as declarations of the sync engine (SPEC C2 stages 1 and 2, manual §4.4.5.1).

Two families of the service "Сервис сопровождения застрахованных лиц (263 приказ)", each its own
ordering key: the structure (BRANCH → DIVISION → DIVISION_LINK_STRUCTURE_BED → AMOUNT_BED →
FREE_BEDS_INFORMATION, deletes in reverse) and the patients (referral → its cancellation,
hospitalisation → its movements and its refusal). A run lists what changed since the last successful
run that covered the МО, and anything the fund was never told; the engine diffs it against what the
fund knows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import partial

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from registry.models import BedProfile, Department, Person, Subdivision
from servicelog.forming import PersonKeys
from servicelog.models import Package
from servicelog.sync import (
    Family,
    FamilyType,
    Parent,
    SyncContext,
    SyncObject,
    candidates,
    object_guids,
    told,
)

from . import formats as f
from .models import Movement, Payment, Referral, Stay

SERVICE = "iszl263"
# What else a row's packages say, through the rows whose `updated_at` a run also looks at.
_REFERRAL_PATHS = (
    "person__",
    "from_subdivision__",
    "to_department__",
    "to_department__subdivision__",
    "to_bed_profile__",
)
_STAY_PATHS = ("person__", "referral__", "department__", "department__subdivision__", "bed_profile__")
_MOVEMENT_PATHS = ("stay__", "department__", "department__subdivision__", "bed_profile__")


# --- stage 1: the structure -----------------------------------------------------------------


def _branches(ctx: SyncContext) -> QuerySet[Subdivision]:
    return Subdivision.objects.filter(mo=ctx.mo, kind__in=f.BRANCH_KINDS).select_related("mo")


def _divisions(ctx: SyncContext) -> QuerySet[Department]:
    return Department.objects.filter(
        subdivision__mo=ctx.mo, subdivision__kind__in=f.BRANCH_KINDS, group_type__in=f.DIVISION_GROUPS
    ).select_related("subdivision__mo")


def _profiles(ctx: SyncContext) -> QuerySet[BedProfile]:
    return BedProfile.objects.filter(department__in=_divisions(ctx)).select_related(
        "department__subdivision__mo"
    )


def _ids(rows: QuerySet) -> Iterator[str]:
    return (str(pk) for pk in rows.values_list("pk", flat=True))


def _branch(ctx: SyncContext) -> Iterator[SyncObject]:
    for subdivision in candidates(_branches(ctx), ctx, f.BRANCH).order_by("code"):
        yield SyncObject(str(subdivision.pk), f.branch_payload(subdivision))


def _division(ctx: SyncContext) -> Iterator[SyncObject]:
    departments = list(candidates(_divisions(ctx), ctx, f.DIVISION, "subdivision__").order_by("pk"))
    guids = object_guids(f.BRANCH, (str(d.subdivision_id) for d in departments))
    for department in departments:
        branch = str(department.subdivision_id)
        building = department.subdivision
        parent = Parent(f.BRANCH, branch, label=f"{building.name} ({f.branch_code(building)})")
        yield SyncObject(
            str(department.pk), f.division_payload(department, guids.get(branch, "")), None, (parent,)
        )


def _division_parent(department: Department, accepted_only: bool = False) -> Parent:
    label = f"{department.name} ({f.division_code(department)})"
    return Parent(f.DIVISION, str(department.pk), label=label, accepted_only=accepted_only)


def _dlsb(ctx: SyncContext) -> Iterator[SyncObject]:
    profiles = candidates(_profiles(ctx), ctx, f.DLSB, "department__", "department__subdivision__").order_by(
        "pk"
    )
    for profile in profiles:
        yield SyncObject(
            str(profile.pk), f.dlsb_payload(profile), None, (_division_parent(profile.department),)
        )


def _dlsb_parent(profile: BedProfile) -> Parent:
    label = f"профиль коек {profile.profile_code} ({profile.department.name})"
    return Parent(f.DLSB, str(profile.pk), label=label)


def _beds_now(today: dt.date) -> Q:
    return Q(beds__date_begin__lte=today) & (Q(beds__date_end__isnull=True) | Q(beds__date_end__gte=today))


def _counted(ctx: SyncContext) -> list[tuple[BedProfile, int]]:
    """The МО's bed profiles with their beds in service today."""
    rows = _profiles(ctx).annotate(in_service=Count("beds", filter=_beds_now(ctx.today))).order_by("pk")
    return [(profile, profile.in_service) for profile in rows]  # type: ignore[attr-defined]


def _amount_bed(ctx: SyncContext) -> Iterator[SyncObject]:
    """Every profile, every run: its count changes with the beds' dates, not only with edits (a bed
    put out of service yesterday changes today's count). A few thousand rows at most."""
    rows = _counted(ctx)
    guids = object_guids(f.DLSB, (str(p.pk) for p, _ in rows))
    for profile, beds in rows:
        payload = f.amount_bed_payload(profile, beds, guids.get(str(profile.pk), ""))
        yield SyncObject(str(profile.pk), payload, None, (_dlsb_parent(profile),))


def _occupied(ctx: SyncContext) -> dict[int, int]:
    """Patients on each bed profile now: a movement in, not out, of a stay that was not refused."""
    now = Movement.objects.filter(
        stay__mo=ctx.mo,
        stay__outcome=Stay.Outcome.HOSPITALISED,
        bed_profile__isnull=False,
        date_in__lte=ctx.today,
    ).filter(Q(date_out__isnull=True) | Q(date_out__gt=ctx.today))
    return dict(now.values_list("bed_profile").annotate(n=Count("pk")).values_list("bed_profile", "n"))


def _free_beds(ctx: SyncContext) -> Iterator[SyncObject]:
    """Once a day (formats §3.3): profiles whose FREE_BEDS_INFORMATION was not formed today."""
    start = timezone.make_aware(dt.datetime.combine(ctx.today, dt.time()))
    today = set(
        Package.objects.filter(package_type=f.FREE_BEDS, mo=ctx.mo, created_at__gte=start).values_list(
            "object_id", flat=True
        )
    )
    rows = [
        (p, beds)
        for p, beds in _counted(ctx)
        if str(p.pk) not in today and (p.date_end is None or p.date_end >= ctx.today)
    ]
    guids = object_guids(f.DLSB, (str(p.pk) for p, _ in rows))
    occupied = _occupied(ctx)
    for profile, beds in rows:
        planned = f.planned_beds(profile, beds)
        payload = f.free_beds_payload(
            ctx.mo.code, planned, occupied.get(profile.pk, 0), guids.get(str(profile.pk), ""), ctx.today
        )
        yield SyncObject(str(profile.pk), payload, None, (_dlsb_parent(profile),))


def _delete(ctx: SyncContext, _object_id: str) -> dict[str, str]:
    return f.delete_payload(ctx.mo.code)


STRUCTURE = Family(
    code="iszl_structure",
    service=SERVICE,
    types=(
        FamilyType(f.BRANCH, _branch, lambda ctx: _ids(_branches(ctx)), _delete),
        FamilyType(f.DIVISION, _division, lambda ctx: _ids(_divisions(ctx)), _delete),
        FamilyType(f.DLSB, _dlsb, lambda ctx: _ids(_profiles(ctx)), _delete),
        FamilyType(f.AMOUNT_BED, _amount_bed, lambda ctx: _ids(_profiles(ctx)), _delete, guid_of=f.DLSB),
        FamilyType(f.FREE_BEDS, _free_beds, guid_of=f.DLSB, update_only=True),
    ),
)


# --- stage 2: referrals, stays, movements ---------------------------------------------------


def _keys(person: Person, on: dt.date) -> PersonKeys:
    return PersonKeys.of(person, person.policy_on(on))


def _referrals(ctx: SyncContext) -> QuerySet[Referral]:
    """Planned and emergency referrals, not auto-created, paid by ОМС (manual §4.4.5.1.2)."""
    rows = Referral.objects.filter(
        mo=ctx.mo,
        kind__in=(Referral.Kind.PLANNED, Referral.Kind.EMERGENCY),
        auto_created=False,
        payment=Payment.OMS,
    )
    if ctx.person_id is not None:
        rows = rows.filter(person_id=ctx.person_id)
    # The structure a referral names is a few hundred rows shared by all: prefetched once, not joined
    # into every row (what a select_related would build per referral).
    return rows.select_related("person").prefetch_related(
        "person__policies__smo",
        "mo",
        "to_mo",
        "from_subdivision__mo",
        "doctor",
        "to_department__subdivision__mo",
        "to_bed_profile",
    )


def _departments(ids: set[int]) -> dict[int, Department]:
    return {d.pk: d for d in Department.objects.filter(pk__in=ids).select_related("subdivision__mo")}


def _referral(ctx: SyncContext) -> Iterator[SyncObject]:
    """A referral waits until the fund has accepted the hospital's department (another МО's key);
    one that waits is named by its id only (nothing of it is loaded)."""
    rows = candidates(_referrals(ctx), ctx, f.REFERRAL, *_REFERRAL_PATHS).annotate(
        target_told=told(f.DIVISION, "to_department_id")
    )
    ready = rows.filter(Q(to_department__isnull=True) | Q(target_told=True))
    for referral in ready.order_by("pk"):
        parents: tuple[Parent, ...] = ()
        if referral.to_department is not None:
            parents = (_division_parent(referral.to_department, accepted_only=True),)
        keys = _keys(referral.person, referral.referral_date)
        yield SyncObject(str(referral.pk), partial(f.referral_payload, referral), keys, parents)
    waiting = list(
        rows.filter(to_department__isnull=False, target_told=False)
        .order_by("pk")
        .values_list("pk", "to_department_id")
    )
    departments = _departments({department_id for _, department_id in waiting})
    for pk, department_id in waiting:
        parent = _division_parent(departments[department_id], accepted_only=True)
        yield SyncObject(str(pk), {}, None, (parent,), waits=True)


def _cancel_referral(ctx: SyncContext) -> Iterator[SyncObject]:
    rows = candidates(
        _referrals(ctx).filter(cancelled_at__isnull=False),
        ctx,
        f.CANCEL_REFERRAL,
        "person__",
        "from_subdivision__",
    )
    for referral in rows.order_by("pk"):
        parent = Parent(f.REFERRAL, str(referral.pk), label=f"направление № {referral.full_number}")
        keys = _keys(referral.person, referral.referral_date)
        yield SyncObject(str(referral.pk), partial(f.cancel_referral_payload, referral), keys, (parent,))


def _own(department: Department, ctx: SyncContext) -> bool:
    """A department of the МО's own: a stay waits for the fund to know it. Another МО's is not waited
    for: its package is formed and refused by the check that names it ("Bad input")."""
    return department.subdivision.mo_id == ctx.mo.pk


def _stay_keys(stay: Stay) -> PersonKeys:
    return _keys(stay.person, timezone.localdate(stay.admitted_at))


def _stay_ids(ctx: SyncContext) -> Iterator[str]:
    """What the fund should know of the МО's stays: a stay deleted or no longer paid by ОМС is
    deleted at the fund, after its movements (reverse rank)."""
    return _ids(Stay.objects.filter(mo=ctx.mo, payment=Payment.OMS))


def _movement_ids(ctx: SyncContext) -> Iterator[str]:
    stays = Stay.objects.filter(mo=ctx.mo, payment=Payment.OMS, outcome=Stay.Outcome.HOSPITALISED)
    return _ids(Movement.objects.filter(stay__in=stays.values("pk")))


def _stays(ctx: SyncContext) -> QuerySet[Stay]:
    rows = Stay.objects.filter(mo=ctx.mo, payment=Payment.OMS)
    if ctx.person_id is not None:
        rows = rows.filter(person_id=ctx.person_id)
    return rows.select_related("person").prefetch_related(
        "person__policies__smo",
        "mo",
        "subdivision__mo",
        "department__subdivision__mo",
        "bed_profile",
        "referral__mo",
    )


def _hospitalisation(ctx: SyncContext) -> Iterator[SyncObject]:
    """ОМС stays; each waits until the fund has accepted its own department (another ordering key),
    named by its id only while it waits."""
    rows = candidates(_stays(ctx), ctx, f.HOSPITALISATION, *_STAY_PATHS).annotate(
        department_told=told(f.DIVISION, "department_id")
    )
    own = Q(department__subdivision__mo=ctx.mo)
    for stay in rows.exclude(own & Q(department_told=False)).order_by("pk"):
        department = stay.department
        own_department = department is not None and _own(department, ctx)
        parents = (_division_parent(department, accepted_only=True),) if department and own_department else ()
        yield SyncObject(str(stay.pk), partial(f.hospitalisation_payload, stay), _stay_keys(stay), parents)
    waiting = list(rows.filter(own, department_told=False).order_by("pk").values_list("pk", "department_id"))
    departments = _departments({department_id for _, department_id in waiting})
    for pk, department_id in waiting:
        yield SyncObject(str(pk), {}, None, (_division_parent(departments[department_id], True),), waits=True)


def _motion(ctx: SyncContext) -> Iterator[SyncObject]:
    """Movements of stays not refused, never before the fund accepted their HOSPITALISATION
    (§4.4.5.1.3) and their own department; one that waits is named by its id only."""
    stays = _stays(ctx).filter(outcome=Stay.Outcome.HOSPITALISED)
    rows = candidates(
        Movement.objects.filter(stay__in=stays.values("pk")), ctx, f.MOTION, *_MOVEMENT_PATHS
    ).annotate(
        stay_told=told(f.HOSPITALISATION, "stay_id"),
        department_told=told(f.DIVISION, "department_id") | ~Q(department__subdivision__mo=ctx.mo),
    )
    # Plain rows: a stay has several movements and a department thousands, so each stay, department
    # and bed profile is loaded once and shared instead of joined into every movement.
    movements = list(
        rows.order_by("pk").values_list(
            "pk",
            "stay_id",
            "department_id",
            "bed_profile_id",
            "date_in",
            "date_out",
            "outcome",
            "stay_told",
            "department_told",
        )
    )
    ready = {m[1] for m in movements if m[7] and m[8]}
    by_stay = {
        s.pk: s
        for s in Stay.objects.filter(pk__in=rows.filter(stay_told=True).values("stay_id"))
        .select_related("person")
        .prefetch_related("person__policies", "mo")
        if s.pk in ready
    }
    # Whatever department a movement names (another МО's is a form error the check names, not a
    # failure of the МО's run).
    departments = _departments({m[2] for m in movements})
    profiles = {p.pk: p for p in BedProfile.objects.filter(pk__in={m[3] for m in movements if m[3]})}
    guids = object_guids(f.HOSPITALISATION, (str(stay_id) for stay_id in by_stay))
    keys = {pk: _stay_keys(stay) for pk, stay in by_stay.items()}
    for (
        pk,
        stay_id,
        department_id,
        profile_id,
        date_in,
        date_out,
        outcome,
        stay_told,
        department_told,
    ) in movements:
        department = departments[department_id]
        stay_parent = Parent(f.HOSPITALISATION, str(stay_id), accepted_only=True)
        department_parent = _division_parent(department, accepted_only=True)
        if not (stay_told and department_told):
            waited = (stay_parent,) * (not stay_told) + (department_parent,) * (not department_told)
            yield SyncObject(str(pk), {}, None, waited, waits=True)
            continue
        stay = by_stay[stay_id]
        payload = partial(
            f.motion_payload,
            stay=stay,
            department=department,
            profile=profiles.get(profile_id) if profile_id else None,
            date_in=date_in,
            date_out=date_out,
            outcome=outcome,
            hospitalisation_guid=guids.get(str(stay_id), ""),
        )
        parents = (stay_parent, department_parent) if _own(department, ctx) else (stay_parent,)
        yield SyncObject(str(pk), payload, keys[stay_id], parents)


def _cancel_hospitalisation(ctx: SyncContext) -> Iterator[SyncObject]:
    refused = _stays(ctx).filter(outcome=Stay.Outcome.REFUSED)
    rows = list(candidates(refused, ctx, f.CANCEL_HOSPITALISATION, *_STAY_PATHS).order_by("pk"))
    guids = object_guids(f.HOSPITALISATION, (str(s.pk) for s in rows))
    for stay in rows:
        parent = Parent(f.HOSPITALISATION, str(stay.pk), label=f"КВС {stay.card_number}")
        payload = partial(f.cancel_hospitalisation_payload, stay, guids.get(str(stay.pk), ""))
        yield SyncObject(str(stay.pk), payload, _stay_keys(stay), (parent,))


PATIENTS = Family(
    code="iszl_patients",
    service=SERVICE,
    types=(
        FamilyType(f.REFERRAL, _referral, insert_only=True),
        FamilyType(
            f.CANCEL_REFERRAL,
            _cancel_referral,
            insert_only=True,
            held="Отмен направлений, ожидающих передачи самого направления: {count}.",
        ),
        FamilyType(f.HOSPITALISATION, _hospitalisation, _stay_ids, _delete),
        FamilyType(
            f.MOTION,
            _motion,
            _movement_ids,
            _delete,
            held="Движений в стационаре, ожидающих, пока ТФОМС примет госпитализацию и отделение: {count} "
            "(движение уходит только после этого).",
        ),
        FamilyType(
            f.CANCEL_HOSPITALISATION,
            _cancel_hospitalisation,
            insert_only=True,
            held="Отказов от госпитализации, ожидающих передачи своей госпитализации: {count}.",
        ),
    ),
)


def referral_reply(package: Package, reply: dict[str, object]) -> None:
    """The referral answer (formats §3.6 RESULT, DESCRIPTION) is kept on the referral."""
    verdict = "принято" if reply.get("RESULT") == "OK" else "отказ"
    text = str(reply.get("DESCRIPTION") or "")
    Referral.objects.filter(pk=package.object_id).update(
        fund_result=f"{verdict}: {text}"[:500] if text else verdict
    )
