"""Demo data of order 263 (F1): the hospital structure completed with what the fund is told (addresses,
phones, V002 profiles of departments), a few hundred referrals from the polyclinics to the hospital
(some auto-created, some paid otherwise than ОМС, some cancelled), stays with movements, a few
admission refusals, and a few rows a run must refuse to form (no target department, a department
without its V002 profile, reversed movement dates)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from registry.demo import ADULT_MO, CHILDREN_MO, HOSPITAL_MO
from registry.models import Attachment, BedProfile, Department, Mo, Staff, Subdivision

from .models import CancelReason, Movement, Payment, Referral, Stay

REFERRALS_PER_MO = 120
STAYS = 160
# V002 profile of a department by the V020 profile of its beds (registry/nsi V002, V020).
V002_BY_V020 = {
    "19": "97",
    "10": "29",
    "11": "29",
    "12": "53",
    "22": "112",
    "20": "100",
    "3": "11",
    "5": "136",
    "17": "68",
}
DIAGNOSES = [
    ("I20.8", "Другие формы стенокардии"),
    ("I63.9", "Инфаркт мозга неуточнённый"),
    ("K80.1", "Камни желчного пузыря с другим холециститом"),
    ("J18.9", "Пневмония неуточнённая"),
    ("I11.9", "Гипертензивная болезнь сердца без сердечной недостаточности"),
    ("K35.8", "Острый аппендицит, другой и неуточнённый"),
    ("N70.1", "Хронический сальпингит и оофорит"),
    ("S82.8", "Переломы других частей голени"),
]
STREETS = ["ул. Ленина", "ул. Пушкина", "Комсомольский пр-т", "ул. Куйбышева", "ул. Сибирская"]


def _phone(rng: random.Random) -> str:
    return f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"


def _structure(rng: random.Random) -> None:
    """What the fund is told about the buildings and departments the registry demo built."""
    ages = {HOSPITAL_MO: Subdivision.AgeGroup.MIXED, ADULT_MO: Subdivision.AgeGroup.ADULT}
    for subdivision in Subdivision.objects.filter(mo__code__in=(HOSPITAL_MO, ADULT_MO, CHILDREN_MO)):
        subdivision.address = f"г. Пермь, {rng.choice(STREETS)}, д. {rng.randint(1, 120)}"
        subdivision.phone = f"+7 (342) {rng.randint(200, 299)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
        subdivision.age_group = ages.get(subdivision.mo.code, Subdivision.AgeGroup.CHILDREN)
        subdivision.date_open = dt.date(2013, 1, 1)
        subdivision.save()
    for department in Department.objects.select_related("subdivision").prefetch_related("bed_profiles"):
        profiles = [p.profile_code for p in department.bed_profiles.all()]
        if department.group_type == Department.GroupType.ADMISSION:
            department.profile_code = "97"
        elif department.group_type == Department.GroupType.DAY_HOME:
            department.profile_code = ""  # left out on purpose: its bed profile cannot be formed
        elif profiles:
            department.profile_code = V002_BY_V020.get(profiles[0], "97")
        department.save()


def _beds(hospital: Mo) -> list[BedProfile]:
    return list(
        BedProfile.objects.filter(
            department__subdivision__mo=hospital,
            department__group_type__in=(
                Department.GroupType.ROUND_THE_CLOCK,
                Department.GroupType.DAY_HOSPITAL,
            ),
        )
        .select_related("department")
        .order_by("pk")
    )


def _referrals(today: dt.date, rng: random.Random, hospital: Mo, beds: list[BedProfile]) -> list[Referral]:
    referrals: list[Referral] = []
    numbers: dict[tuple[int, int], int] = {}
    for mo in Mo.objects.filter(code__in=(ADULT_MO, CHILDREN_MO, HOSPITAL_MO)).order_by("code"):
        polyclinic = (
            Subdivision.objects.filter(mo=mo, kind=Subdivision.Kind.POLYCLINIC).order_by("code").first()
        )
        doctors = list(Staff.objects.filter(mo=mo, post_type=Staff.PostType.DOCTOR).order_by("pk"))
        persons = list(
            Attachment.objects.filter(mo=mo, date_to__isnull=True)
            .order_by("person_id")
            .values_list("person_id", flat=True)
        )
        if polyclinic is None or not persons:
            continue
        for index, person_id in enumerate(rng.sample(persons, min(REFERRALS_PER_MO, len(persons)))):
            date = today - dt.timedelta(days=rng.randint(0, 90))
            numbers[(mo.pk, date.year)] = numbers.get((mo.pk, date.year), 0) + 1
            profile = rng.choice(beds)
            code, text = rng.choice(DIAGNOSES)
            referral = Referral(
                mo=mo,
                number=numbers[(mo.pk, date.year)],
                kind=rng.choices(list(Referral.Kind.values), weights=[60, 25, 15])[0],
                auto_created=index % 10 == 9,
                payment=Payment.OMS
                if index % 12 != 11
                else rng.choice([Payment.PAID, Payment.VMI, Payment.BUDGET]),
                from_subdivision=polyclinic,
                doctor=rng.choice(doctors) if doctors else None,
                to_mo=hospital,
                to_department=profile.department,
                to_bed_profile=profile,
                diagnosis=code,
                diagnosis_text=text,
                referral_date=date,
                planned_date=date + dt.timedelta(days=rng.randint(3, 30)) if index % 3 else None,
                desired_date=date + dt.timedelta(days=rng.randint(2, 14)) if index % 4 == 0 else None,
                person_id=person_id,
                phone=_phone(rng) if index % 5 else "",
            )
            if index % 10 == 4:
                referral.cancelled_at = min(today, date + dt.timedelta(days=rng.randint(1, 10)))
                referral.cancel_reason = rng.choice(CancelReason.values)
                referral.cancel_source = rng.choice(Referral.CancelSource.values)
                referral.cancel_description = (
                    "Отменено по просьбе пациента" if referral.cancel_source == 1 else ""
                )
            if index in (17, 53):  # incomplete: "не указано отделение госпитализации"
                referral.to_department = referral.to_bed_profile = None
            referrals.append(referral)
    Referral.objects.bulk_create(referrals, batch_size=500)
    return referrals


def _stays(
    today: dt.date, rng: random.Random, hospital: Mo, beds: list[BedProfile], referrals: list[Referral]
) -> tuple[int, int]:
    admission = Department.objects.get(subdivision__mo=hospital, group_type=Department.GroupType.ADMISSION)
    referred = [r for r in referrals if r.cancelled_at is None and r.to_department is not None]
    stays: list[Stay] = []
    for index in range(STAYS):
        referral = referred[index] if index < len(referred) * 2 // 3 and index < len(referred) else None
        profile = (
            referral.to_bed_profile if referral is not None and referral.to_bed_profile else rng.choice(beds)
        )
        assert profile is not None
        admitted = timezone.make_aware(
            dt.datetime.combine(
                today - dt.timedelta(days=rng.randint(0, 40)), dt.time(rng.randint(0, 23), rng.randint(0, 59))
            )
        )
        person_id = referral.person_id if referral is not None else rng.choice(referrals).person_id
        code, text = rng.choice(DIAGNOSES)
        stay = Stay(
            mo=hospital,
            person_id=person_id,
            subdivision=profile.department.subdivision,
            department=profile.department,
            bed_profile=profile,
            admitted_at=admitted,
            form_of_care=Stay.FormOfCare.PLANNED if referral is not None else Stay.FormOfCare.EMERGENCY,
            payment=Payment.OMS if index % 15 != 14 else Payment.PAID,
            referral=referral,
            card_number=f"{admitted.year}-{index + 1:05d}",
            diagnosis=code,
            diagnosis_text=text,
        )
        if index % 25 == 7:  # refused in the admission department
            stay.outcome = Stay.Outcome.REFUSED
            stay.refusal_reason = rng.choice(
                [CancelReason.PATIENT_REFUSED, CancelReason.NO_INDICATION, CancelReason.NO_BEDS]
            )
            stay.refused_at = admitted.date()
            stay.department = admission
            stay.bed_profile = None
        if index == 33:  # incomplete: "не указано отделение госпитализации"
            stay.department = None
        stays.append(stay)
    Stay.objects.bulk_create(stays, batch_size=500)
    movements: list[Movement] = []
    for index, stay in enumerate(stays):
        if stay.outcome == Stay.Outcome.REFUSED or stay.department is None:
            continue
        day = stay.admitted_at.date()
        movements.append(Movement(stay=stay, department=admission, date_in=day, date_out=day))
        length = rng.randint(3, 16)
        out = day + dt.timedelta(days=length)
        discharged = out < today
        movements.append(
            Movement(
                stay=stay,
                department=stay.department,
                bed_profile=stay.bed_profile,
                date_in=day,
                date_out=out if discharged else None,
                outcome=rng.choice(Movement.Outcome.values) if discharged else None,
            )
        )
        if index == 41:  # incomplete: the discharge before the admission
            movements[-1].date_out = day - dt.timedelta(days=2)
    Movement.objects.bulk_create(movements, batch_size=500)
    return len(stays), len(movements)


def hospitalisation_demo(today: dt.date, rng: random.Random) -> dict[str, int]:
    hospital = Mo.objects.filter(code=HOSPITAL_MO).first()
    if hospital is None:
        return {}
    _structure(rng)
    beds = _beds(hospital)
    if not beds:
        return {}
    referrals = _referrals(today, rng, hospital, beds)
    stays, movements = _stays(today, rng, hospital, beds, referrals)
    return {"направлений на госпитализацию": len(referrals), "КВС": stays, "движений в стационаре": movements}
