"""Demo dispensary observation cards (F1): a few hundred over the demo МО, some ended, some with a
malignant neoplasm, a few incomplete (no doctor, a doctor without СНИЛС, no start date)."""

from __future__ import annotations

import datetime as dt
import random

from registry.models import Attachment, Mo, Person, Staff, policy_on

from .models import DispensaryCard, DispensaryVisit, PlanKind, PlanPerson, ProphylaxisPlan

CARDS_PER_MO = 110
# Diagnoses under dispensary observation (order 168н groups), weighted towards the common ones.
COMMON = [
    "I10",
    "I11.9",
    "I25.1",
    "I20.8",
    "E11.9",
    "E10.9",
    "J44.9",
    "J45.9",
    "K25.9",
    "N18.3",
    "I63.9",
    "I48.0",
]
CANCER = ["C50.9", "C18.7", "C61", "C34.1", "D05.1", "C43.5"]


def dispensary_demo(today: dt.date, rng: random.Random) -> dict[str, int]:
    cards: list[DispensaryCard] = []
    for mo in Mo.objects.filter(sites__isnull=False).distinct().order_by("code"):
        doctors = list(Staff.objects.filter(mo=mo, post_type=Staff.PostType.DOCTOR).order_by("pk"))
        persons = list(
            Attachment.objects.filter(mo=mo, date_to__isnull=True)
            .order_by("person_id")
            .values_list("person_id", flat=True)
        )
        if not doctors or not persons:
            continue
        for index, person_id in enumerate(rng.sample(persons, min(CARDS_PER_MO, len(persons)))):
            date_in = today - dt.timedelta(days=rng.randint(30, 1500))
            card = DispensaryCard(
                person_id=person_id,
                mo=mo,
                diagnosis=rng.choice(CANCER) if index % 15 == 0 else rng.choice(COMMON),
                date_in=date_in,
                doctor=rng.choice(doctors),
                ds_detect=rng.choice(DispensaryCard.Detect.values),
                ds_detect_type=rng.choice(DispensaryCard.DetectType.values),
            )
            if index % 6 == 5:  # ended
                card.date_out = min(
                    today - dt.timedelta(days=1), date_in + dt.timedelta(days=rng.randint(20, 900))
                )
                card.result_out = rng.choice(DispensaryCard.ResultOut.values)
            if index == 7:
                card.doctor = None  # incomplete: "не указан СНИЛС врача"
            if index == 13:
                card.date_in = None  # incomplete: "не указана дата взятия под наблюдение"
            if index == 21:
                card.diagnosis = ""  # incomplete: "не указан диагноз"
            cards.append(card)
    DispensaryCard.objects.bulk_create(cards, batch_size=500)
    visits = []
    for card in cards:
        if card.date_out is None:
            for quarter in range(rng.randint(1, 4)):
                visits.append(
                    DispensaryVisit(
                        card=card,
                        planned_date=today + dt.timedelta(days=30 + 91 * quarter + rng.randint(0, 20)),
                    )
                )
    DispensaryVisit.objects.bulk_create(visits, batch_size=500)
    return {"карт диспансерного наблюдения": len(cards), "плановых явок": len(visits)}


# --- prophylaxis plans (C3, D2) -------------------------------------------------------------------

PLAN_SIZE = 220


def plans_demo(today: dt.date, rng: random.Random) -> dict[str, int]:
    """Every МО with attached persons gets plans of several kinds and periods: adult dispensarisation
    for the year, adult preventive exams for the current quarter, preventive exams of minors for the
    year — a few hundred persons each, of every СМО, some without an ЕНП or a document."""
    quarter = (today.month - 1) // 3 + 1
    kinds = (
        (PlanKind.DV1, ProphylaxisPlan.PeriodType.YEAR, None, True),
        (PlanKind.OPV, ProphylaxisPlan.PeriodType.QUARTER, quarter, True),
        (PlanKind.ON1, ProphylaxisPlan.PeriodType.YEAR, None, False),
    )
    adult_born = dt.date(today.year - 18, today.month, 1)
    plans = entries = 0
    for mo in Mo.objects.filter(sites__isnull=False).distinct().order_by("code"):
        attached = Attachment.objects.filter(mo=mo, date_to__isnull=True).values_list("person_id", flat=True)
        people = list(
            Person.objects.filter(pk__in=attached)
            .prefetch_related("policies")
            .order_by("pk")
            .only("pk", "birth_date")
        )
        for kind, period_type, number, adults in kinds:
            group = [p for p in people if (p.birth_date <= adult_born) == adults]
            if not group:
                continue
            plan = ProphylaxisPlan.objects.create(
                mo=mo, kind=kind, year=today.year, period_type=period_type, period_number=number
            )
            rows = []
            for person in rng.sample(group, min(PLAN_SIZE, len(group))):
                policy = policy_on(list(person.policies.all()), today)
                rows.append(
                    PlanPerson(
                        plan=plan,
                        person=person,
                        quarter=number or rng.randint(quarter, 4),
                        smo_id=policy.smo_id if policy else None,
                    )
                )
            PlanPerson.objects.bulk_create(rows, batch_size=500)
            plans += 1
            entries += len(rows)
    return {"планов профилактических мероприятий": plans, "людей в планах": entries}
