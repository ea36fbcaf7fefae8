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

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from registry.models import Bed, BedProfile, Department, Person, Subdivision
from servicelog.forming import PersonKeys
from servicelog.models import Package
from servicelog.sync import (
    Family,
    FamilyType,
    Parent,
    SyncContext,
    SyncObject,
    changed_since,
    object_guids,
    told,
)

from . import formats as f
from .models import Movement, Payment, Referral, Stay

SERVICE = "iszl263"


def _since(ctx: SyncContext, *paths: str) -> Q | None:
    """Rows changed (through any of `paths` to an `updated_at`) since the last successful run; None
    when there was none (everything is a candidate)."""
    since = changed_since(ctx)
    if since is None:
        return None
    condition = Q()
    for path in paths:
        condition |= Q(**{f"{path}updated_at__gte": since})
    return condition


def _candidates(rows: QuerySet, ctx: SyncContext, package_type: str, *paths: str) -> QuerySet:
    """Changed since the last run, or never accepted by the fund (formats §3, manual §4.4.5.1.2)."""
    changed = _since(ctx, "", *paths)
    if changed is None:
        return rows
    return rows.annotate(told=told(package_type)).filter(changed | Q(told=False))


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
    for subdivision in _candidates(_branches(ctx), ctx, f.BRANCH).order_by("code"):
        yield SyncObject(str(subdivision.pk), f.branch_payload(subdivision))


def _division(ctx: SyncContext) -> Iterator[SyncObject]:
    departments = list(_candidates(_divisions(ctx), ctx, f.DIVISION, "subdivision__").order_by("pk"))
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
    profiles = _candidates(_profiles(ctx), ctx, f.DLSB, "department__").order_by("pk")
    for profile in profiles:
        yield SyncObject(
            str(profile.pk), f.dlsb_payload(profile), None, (_division_parent(profile.department),)
        )


def _dlsb_parent(profile: BedProfile) -> Parent:
    label = f"профиль коек {profile.profile_code} ({profile.department.name})"
    return Parent(f.DLSB, str(profile.pk), label=label)


def _beds_now(today: dt.date) -> Q:
    return Q(beds__date_begin__lte=today) & (Q(beds__date_end__isnull=True) | Q(beds__date_end__gte=today))


def _amount_bed(ctx: SyncContext) -> Iterator[SyncObject]:
    changed_beds = Bed.objects.filter(bed_profile=OuterRef("pk"))
    since = changed_since(ctx)
    profiles = _profiles(ctx)
    if since is not None:
        profiles = profiles.annotate(
            told=told(f.AMOUNT_BED), beds_changed=Exists(changed_beds.filter(updated_at__gte=since))
        ).filter(Q(updated_at__gte=since) | Q(told=False) | Q(beds_changed=True))
    rows = list(profiles.annotate(in_service=Count("beds", filter=_beds_now(ctx.today))).order_by("pk"))
    guids = object_guids(f.DLSB, (str(p.pk) for p in rows))
    for profile in rows:
        payload = f.amount_bed_payload(profile, profile.in_service, guids.get(str(profile.pk), ""))  # type: ignore[attr-defined]
        yield SyncObject(
            str(profile.pk),
            payload,
            None,
            (_dlsb_parent(profile),),
        )


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
    profiles = _profiles(ctx).annotate(in_service=Count("beds", filter=_beds_now(ctx.today))).order_by("pk")
    rows = [p for p in profiles if str(p.pk) not in today and (p.date_end is None or p.date_end >= ctx.today)]
    guids = object_guids(f.DLSB, (str(p.pk) for p in rows))
    occupied = _occupied(ctx)
    for profile in rows:
        planned = max(profile.in_service - profile.repair_beds, 0)  # type: ignore[attr-defined]
        payload = f.free_beds_payload(
            ctx.mo.code, planned, occupied.get(profile.pk, 0), guids.get(str(profile.pk), ""), ctx.today
        )
        yield SyncObject(
            str(profile.pk),
            payload,
            None,
            (_dlsb_parent(profile),),
        )


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
    policy = person.policy_on(on)
    return PersonKeys(enp=policy.enp if policy else "", snils=person.snils, fio=person.full_name.upper())


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


def _referral(ctx: SyncContext) -> Iterator[SyncObject]:
    for referral in _candidates(_referrals(ctx), ctx, f.REFERRAL, "person__").order_by("pk"):
        parents: tuple[Parent, ...] = ()
        if referral.to_department is not None:  # the hospital's department must be known to the fund
            parents = (_division_parent(referral.to_department, accepted_only=True),)
        keys = _keys(referral.person, referral.referral_date)
        yield SyncObject(str(referral.pk), partial(f.referral_payload, referral), keys, parents)


def _cancel_referral(ctx: SyncContext) -> Iterator[SyncObject]:
    rows = _candidates(_referrals(ctx).filter(cancelled_at__isnull=False), ctx, f.CANCEL_REFERRAL)
    for referral in rows.order_by("pk"):
        parent = Parent(f.REFERRAL, str(referral.pk), label=f"направление № {referral.full_number}")
        keys = _keys(referral.person, referral.referral_date)
        yield SyncObject(str(referral.pk), partial(f.cancel_referral_payload, referral), keys, (parent,))


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
    for stay in _candidates(_stays(ctx), ctx, f.HOSPITALISATION, "person__", "referral__").order_by("pk"):
        yield SyncObject(
            str(stay.pk),
            partial(f.hospitalisation_payload, stay),
            _keys(stay.person, stay.admitted_at.date()),
        )


def _motion(ctx: SyncContext) -> Iterator[SyncObject]:
    """Movements of stays not refused, never before their HOSPITALISATION was accepted (§4.4.5.1.3)."""
    stays = _stays(ctx).filter(outcome=Stay.Outcome.HOSPITALISED)
    rows = _candidates(Movement.objects.filter(stay__in=stays.values("pk")), ctx, f.MOTION, "stay__")
    # Plain rows: a stay has several movements and a department thousands, so each stay, department
    # and bed profile is loaded once and shared instead of joined into every movement.
    movements = list(
        rows.order_by("pk").values_list(
            "pk", "stay_id", "department_id", "bed_profile_id", "date_in", "date_out", "outcome"
        )
    )
    by_stay = {
        s.pk: s
        for s in Stay.objects.filter(pk__in=rows.values("stay_id"))
        .select_related("person")
        .prefetch_related("person__policies", "mo")
    }
    departments = {
        d.pk: d for d in Department.objects.filter(subdivision__mo=ctx.mo).select_related("subdivision__mo")
    }
    profiles = {p.pk: p for p in BedProfile.objects.filter(department__subdivision__mo=ctx.mo)}
    guids = object_guids(f.HOSPITALISATION, (str(stay_id) for stay_id in by_stay))
    keys = {pk: _keys(stay.person, stay.admitted_at.date()) for pk, stay in by_stay.items()}
    for pk, stay_id, department_id, profile_id, date_in, date_out, outcome in movements:
        stay = by_stay[stay_id]
        parent = Parent(f.HOSPITALISATION, str(stay_id), label=f"КВС {stay.card_number}", accepted_only=True)
        payload = partial(
            f.motion_payload,
            stay=stay,
            department=departments[department_id],
            profile=profiles.get(profile_id) if profile_id else None,
            date_in=date_in,
            date_out=date_out,
            outcome=outcome,
            hospitalisation_guid=guids.get(str(stay_id), ""),
        )
        yield SyncObject(str(pk), payload, keys[stay_id], (parent,))


def _cancel_hospitalisation(ctx: SyncContext) -> Iterator[SyncObject]:
    rows = list(
        _candidates(_stays(ctx).filter(outcome=Stay.Outcome.REFUSED), ctx, f.CANCEL_HOSPITALISATION).order_by(
            "pk"
        )
    )
    guids = object_guids(f.HOSPITALISATION, (str(s.pk) for s in rows))
    for stay in rows:
        parent = Parent(f.HOSPITALISATION, str(stay.pk), label=f"КВС {stay.card_number}")
        payload = partial(f.cancel_hospitalisation_payload, stay, guids.get(str(stay.pk), ""))
        yield SyncObject(str(stay.pk), payload, _keys(stay.person, stay.admitted_at.date()), (parent,))


PATIENTS = Family(
    code="iszl_patients",
    service=SERVICE,
    types=(
        FamilyType(f.REFERRAL, _referral, insert_only=True),
        FamilyType(f.CANCEL_REFERRAL, _cancel_referral, insert_only=True),
        FamilyType(f.HOSPITALISATION, _hospitalisation),
        FamilyType(
            f.MOTION,
            _motion,
            held="Движений в стационаре, ожидающих, пока ТФОМС примет госпитализацию: {count} "
            "(движение уходит только после этого).",
        ),
        FamilyType(f.CANCEL_HOSPITALISATION, _cancel_hospitalisation, insert_only=True),
    ),
)


def referral_reply(package: Package, reply: dict[str, object]) -> None:
    """The referral answer (formats §3.6 RESULT, DESCRIPTION) is kept on the referral."""
    verdict = "принято" if reply.get("RESULT") == "OK" else "отказ"
    text = str(reply.get("DESCRIPTION") or "")
    Referral.objects.filter(pk=package.object_id).update(
        fund_result=f"{verdict}: {text}"[:500] if text else verdict
    )
