"""A small region for order 263: the hospital МО A (a hospital building with an admission and a
therapy department, 5 therapy beds; a polyclinic building with a polyclinic department the fund is
never told about), the polyclinic МО B that refers a patient to it, the patient's stay and movements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from hospitalisation.models import Movement, Payment, Referral, Stay
from registry.models import Bed, BedProfile, Department, Mo, Person, Subdivision
from tests.factories import PersonFactory, PolicyFactory, StaffFactory

G = Department.GroupType
TODAY = dt.date(2026, 12, 1)


@dataclass
class Region:
    hospital: Mo
    polyclinic_mo: Mo
    building: Subdivision
    outpatient: Subdivision
    admission: Department
    therapy: Department
    polyclinic_department: Department
    profile: BedProfile
    clinic: Subdivision
    person: Person


@pytest.fixture
def region(mo_a, mo_b) -> Region:
    building = Subdivision.objects.create(
        mo=mo_a,
        code="001",
        name="Стационар",
        kind=Subdivision.Kind.HOSPITAL,
        address="г. Пермь, ул. Ленина, 1",
    )
    outpatient = Subdivision.objects.create(
        mo=mo_a, code="002", name="Поликлиника", kind=Subdivision.Kind.POLYCLINIC
    )
    admission = Department.objects.create(
        subdivision=building, code="001", name="Приёмное отделение", group_type=G.ADMISSION, profile_code="97"
    )
    therapy = Department.objects.create(
        subdivision=building,
        code="010",
        name="Терапевтическое отделение",
        group_type=G.ROUND_THE_CLOCK,
        profile_code="97",
    )
    polyclinic_department = Department.objects.create(
        subdivision=outpatient,
        code="101",
        name="Терапевтическое отделение поликлиники",
        group_type=G.POLYCLINIC,
    )
    profile = BedProfile.objects.create(
        department=therapy, profile_code="19", name="терапевтические", date_begin=dt.date(2013, 1, 1)
    )
    for number in range(1, 6):
        Bed.objects.create(bed_profile=profile, number=f"010-{number:02d}", date_begin=dt.date(2013, 1, 1))
    clinic = Subdivision.objects.create(
        mo=mo_b, code="001", name="Поликлиника", kind=Subdivision.Kind.POLYCLINIC
    )
    person = PersonFactory(last_name="Иванов", first_name="Иван", middle_name="Иванович", sex=1)
    PolicyFactory(person=person, enp="5956410834000014", valid_from=dt.date(2015, 1, 1))
    return Region(
        mo_a, mo_b, building, outpatient, admission, therapy, polyclinic_department, profile, clinic, person
    )


def make_referral(region: Region, **overrides) -> Referral:
    values = dict(
        mo=region.polyclinic_mo,
        number=Referral.objects.filter(mo=region.polyclinic_mo).count() + 1,
        kind=Referral.Kind.PLANNED,
        from_subdivision=region.clinic,
        doctor=StaffFactory(mo=region.polyclinic_mo, snils="11223344595"),
        to_mo=region.hospital,
        to_department=region.therapy,
        to_bed_profile=region.profile,
        diagnosis="I20.8",
        diagnosis_text="Другие формы стенокардии",
        referral_date=dt.date(2026, 11, 20),
        person=region.person,
    )
    values.update(overrides)
    return Referral.objects.create(**values)


def make_stay(region: Region, **overrides) -> Stay:
    values = dict(
        mo=region.hospital,
        person=region.person,
        subdivision=region.building,
        department=region.therapy,
        bed_profile=region.profile,
        admitted_at=dt.datetime(2026, 11, 25, 10, 30, tzinfo=timezone.get_current_timezone()),
        form_of_care=Stay.FormOfCare.PLANNED,
        payment=Payment.OMS,
        card_number="2026-00001",
        diagnosis="I20.8",
    )
    values.update(overrides)
    return Stay.objects.create(**values)


def make_movements(stay: Stay, region: Region, date_out: dt.date | None = None) -> list[Movement]:
    day = timezone.localtime(stay.admitted_at).date()
    return [
        Movement.objects.create(stay=stay, department=region.admission, date_in=day, date_out=day),
        Movement.objects.create(
            stay=stay, department=region.therapy, bed_profile=region.profile, date_in=day, date_out=date_out
        ),
    ]
