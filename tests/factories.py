"""factory_boy factories for the registry: valid check digits, one МО per sequence step."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.contrib.auth import get_user_model

from prophylaxis.models import PlanKind, PlanPerson, ProphylaxisPlan
from registry import checkdigits
from registry.models import (
    Attachment,
    IdentityDocument,
    Mo,
    Person,
    Policy,
    Role,
    Site,
    Smo,
    Staff,
    TreatmentCase,
    Workplace,
)


class MoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mo
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"59{n + 100:04d}")
    ogrn = factory.Sequence(lambda n: checkdigits.make_ogrn(f"1025900{n:05d}"))
    oid = factory.Sequence(lambda n: f"1.2.643.5.1.13.13.12.2.59.{n + 9000}")
    name_full = factory.LazyAttribute(lambda o: f"Тестовая медицинская организация {o.code}")
    name_short = factory.LazyAttribute(lambda o: f"ТМО {o.code}")


class SmoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Smo
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"59{n + 50:03d}")
    ogrn = factory.Sequence(lambda n: checkdigits.make_ogrn(f"1025901{n:05d}"))
    name_full = factory.LazyAttribute(lambda o: f"Страховая компания {o.code}")
    name_short = factory.LazyAttribute(lambda o: f"СК {o.code}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    last_name = factory.Iterator(["Иванов", "Петров", "Сидоров", "Кузнецов"])
    first_name = factory.Iterator(["Иван", "Пётр", "Сергей", "Алексей"])
    middle_name = "Иванович"
    birth_date = dt.date(1985, 3, 15)
    sex = 1
    snils = factory.Sequence(lambda n: checkdigits.make_snils(112_233_000 + n))


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdentityDocument

    person = factory.SubFactory(PersonFactory)
    doc_type = 14
    series = "5704"
    number = factory.Sequence(lambda n: f"{100000 + n}")
    issued_at = dt.date(2005, 4, 1)
    issuer = "ОУФМС России по Пермскому краю"


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    person = factory.SubFactory(PersonFactory)
    policy_type = 3
    form = Policy.Form.PAPER
    enp = factory.LazyAttributeSequence(
        lambda o, n: checkdigits.make_enp("59", o.person.birth_date, o.person.sex, n + 1)
    )
    smo = factory.SubFactory(SmoFactory)
    valid_from = dt.date(2015, 1, 1)


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff

    mo = factory.SubFactory(MoFactory)
    last_name = "Врачова"
    first_name = "Анна"
    snils = factory.Sequence(lambda n: checkdigits.make_snils(223_344_000 + n))
    post_type = Staff.PostType.DOCTOR


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    mo = factory.SubFactory(MoFactory)
    number = factory.Sequence(lambda n: f"{n + 1}")
    site_type = Site.SiteType.THERAPEUTIC
    doctor = factory.SubFactory(StaffFactory, mo=factory.SelfAttribute("..mo"))
    date_begin = dt.date(2015, 1, 1)


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    person = factory.SubFactory(PersonFactory)
    mo = factory.SubFactory(MoFactory)
    site = factory.SubFactory(SiteFactory, mo=factory.SelfAttribute("..mo"))
    method = Attachment.Method.BY_APPLICATION
    date_from = dt.date(2020, 1, 1)


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentCase

    number = factory.Sequence(lambda n: f"T{n:06d}")
    kind = TreatmentCase.Kind.OUTPATIENT
    person = factory.SubFactory(PersonFactory)
    mo = factory.SubFactory(MoFactory)
    date_begin = dt.date(2026, 11, 1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class WorkplaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workplace

    user = factory.SubFactory(UserFactory)
    mo = factory.SubFactory(MoFactory)
    role = Role.MO_ADMIN


class DispensaryCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "prophylaxis.DispensaryCard"

    person = factory.SubFactory(PersonFactory, fund_person_id=factory.Sequence(lambda n: 8_000_000 + n))
    mo = factory.SubFactory(MoFactory)
    diagnosis = "I10"
    date_in = factory.LazyFunction(lambda: dt.date(2024, 3, 1))
    doctor = factory.SubFactory(StaffFactory, mo=factory.SelfAttribute("..mo"))
    ds_detect = 1
    ds_detect_type = 2


def make_plan(mo: Mo) -> ProphylaxisPlan:
    """A plan of adult dispensarisation for IV quarter 2026 with three persons of СМО 59021: one with a
    middle name, one without, one with a Latin one (OT "НЕТ" in PROF)."""
    plan = ProphylaxisPlan.objects.create(
        mo=mo, kind=PlanKind.DV1, year=2026, period_type="quarter", period_number=4
    )
    smo = SmoFactory(code="59021")
    people = [("Иванов", "Иван", "Иванович"), ("Петрова", "Мария", ""), ("Сидоров", "Сергей", "John")]
    for n, (last, first, middle) in enumerate(people):
        person = PersonFactory(last_name=last, first_name=first, middle_name=middle, fund_person_id=1000 + n)
        enp = checkdigits.make_enp("59", person.birth_date, person.sex, 500 + n)
        PolicyFactory(person=person, smo=smo, enp=enp, valid_from=dt.date(2015, 1, 1))
        DocumentFactory(person=person, number=f"12345{n}")
        PlanPerson.objects.create(plan=plan, person=person, quarter=4, smo=smo)
    return plan


def journal_package(run, mo, **fields):
    """A package of a run as the journal shows it (DISTRICT Insert, Сформирован unless told)."""
    import uuid

    from servicelog.models import Package

    values = {"package_type": "DISTRICT", "operation": "Insert", "status": "formed", "content_hash": "h"}
    return Package.objects.create(uuid=uuid.uuid4(), service=run.service, run=run, mo=mo, **(values | fields))


def fund_person(person: Person, smo: Smo, *, bdzid: int, enp: str, dbeg: dt.date | None = None) -> Any:
    """The fund emulator's register entry of one of our persons, with a unified policy of the СМО."""
    from tfoms_emulator import ident

    return ident.Person(
        bdzid=bdzid,
        fam=person.last_name,
        im=person.first_name,
        ot=person.middle_name,
        dr=person.birth_date,
        w=person.sex,
        snils=person.snils,
        policies=(ident.Policy(type=3, enp=enp, smo=smo.code, smo_ogrn=smo.ogrn, dbeg=dbeg),),
    )
