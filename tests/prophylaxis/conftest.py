"""Shared data of the prophylaxis tests: a plan of МО A with three persons of one СМО."""

from __future__ import annotations

import datetime as dt

import pytest

from prophylaxis.models import PlanKind, PlanPerson, ProphylaxisPlan
from registry.checkdigits import make_enp
from tests.factories import DocumentFactory, PersonFactory, PolicyFactory, SmoFactory


@pytest.fixture
def plan(mo_a):
    plan = ProphylaxisPlan.objects.create(
        mo=mo_a, kind=PlanKind.DV1, year=2026, period_type="quarter", period_number=4
    )
    smo = SmoFactory(code="59021")
    people = [("Иванов", "Иван", "Иванович"), ("Петрова", "Мария", ""), ("Сидоров", "Сергей", "John")]
    for n, (last, first, middle) in enumerate(people):
        person = PersonFactory(last_name=last, first_name=first, middle_name=middle, fund_person_id=1000 + n)
        enp = make_enp("59", person.birth_date, person.sex, 500 + n)
        PolicyFactory(person=person, smo=smo, enp=enp, valid_from=dt.date(2015, 1, 1))
        DocumentFactory(person=person, number=f"12345{n}")
        PlanPerson.objects.create(plan=plan, person=person, quarter=4, smo=smo)
    return plan
