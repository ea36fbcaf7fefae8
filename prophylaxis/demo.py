"""Demo dispensary observation cards (F1): a few hundred over the demo МО, some ended, some with a
malignant neoplasm, a few incomplete (no doctor, a doctor without СНИЛС, no start date)."""

from __future__ import annotations

import datetime as dt
import random

from registry.models import Attachment, Mo, Staff

from .models import DispensaryCard, DispensaryVisit

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
