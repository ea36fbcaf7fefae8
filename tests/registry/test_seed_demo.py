"""`manage.py seed_demo`: the demo set as a user would notice it (SPEC F1)."""

from __future__ import annotations

import datetime as dt
import hashlib
from io import StringIO
from itertools import combinations

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from registry import checkdigits, demo
from registry.models import (
    Attachment,
    Bed,
    BedProfile,
    Department,
    Person,
    Policy,
    Role,
    Site,
    Staff,
    Subdivision,
    TreatmentCase,
    Workplace,
)

pytestmark = pytest.mark.django_db

PERSONS = 150  # small: every kind of case is still there (each plan has a minimum count)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(persons: int = PERSONS) -> str:
    out = StringIO()
    call_command("seed_demo", persons=persons, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded() -> str:
    return seed()


def overlapping(policies: list[Policy]) -> bool:
    far = dt.date.max
    return any(
        a.valid_from <= (b.valid_to or far) and b.valid_from <= (a.valid_to or far)
        for a, b in combinations(policies, 2)
    )


def test_persons_option_and_russian_summary(seeded):
    twins = Person.objects.filter(fund_person_id__gte=8_900_001, fund_person_id__lte=8_900_004).count()
    assert twins >= 1  # a few persons registered twice, for the fund's DOUBLES (C7)
    assert Person.objects.count() == PERSONS + twins
    assert "Демонстрационные данные загружены" in seeded
    assert f"людей: {PERSONS}" in seeded
    assert f"повторно заведённых людей: {twins}" in seeded
    assert "пароль у всех: demo" in seeded
    for username in demo.DEMO_USERNAMES:
        assert username in seeded
    assert "АРМ администратора ЦОД — 590001" in seeded


def test_three_mo_with_the_hospital_structure(seeded):
    kinds = set(Subdivision.objects.filter(mo__code="590001").values_list("kind", flat=True))
    assert kinds == {Subdivision.Kind.HOSPITAL, Subdivision.Kind.POLYCLINIC, Subdivision.Kind.EMS}
    groups = set(
        Department.objects.filter(subdivision__mo__code="590001").values_list("group_type", flat=True)
    )
    assert groups == set(Department.GroupType.values)
    codes = list(Subdivision.objects.values_list("code", flat=True))
    codes += list(Department.objects.values_list("code", flat=True))
    assert all(len(code) == 3 and code.isdigit() for code in codes)
    profiles = BedProfile.objects.filter(department__subdivision__mo__code="590001")
    assert {"3", "10", "19"} <= set(profiles.values_list("profile_code", flat=True))
    assert Bed.objects.filter(bed_profile__in=profiles).count() > 100
    for code in ("590002", "590003"):
        building = Subdivision.objects.get(mo__code=code, kind=Subdivision.Kind.POLYCLINIC)
        assert building.departments.exists()


def test_every_enp_and_snils_has_valid_check_digits(seeded):
    for policy in Policy.objects.exclude(enp="").select_related("person"):
        assert checkdigits.enp_is_valid(policy.enp), policy.enp
        assert policy.enp.startswith("59")
        assert checkdigits.enp_facet_matches(policy.enp, policy.person.birth_date, policy.person.sex)
    snils = list(Person.objects.exclude(snils="").values_list("snils", flat=True))
    snils += list(Staff.objects.exclude(snils="").values_list("snils", flat=True))
    assert all(checkdigits.snils_is_valid(value) for value in snils)
    assert Person.objects.filter(snils="").exists()
    assert Person.objects.filter(fund_person_id__isnull=False).count() > PERSONS // 2


def test_documents_passports_and_birth_certificates(seeded):
    passports = Person.objects.filter(documents__doc_type=14).count()
    assert passports > PERSONS // 2
    for series, number in Person.objects.filter(documents__doc_type=14).values_list(
        "documents__series", "documents__number"
    ):
        assert len(series) == 4 and series.isdigit() and len(number) == 6
    certificates = Person.objects.filter(documents__doc_type=3).values_list("documents__series", flat=True)
    assert certificates and all("-" in series for series in certificates)


def test_all_forms_and_expired_and_overlapping_policies(seeded):
    assert set(Policy.objects.values_list("form", flat=True)) == set(Policy.Form.values)
    types = {
        form: set(Policy.objects.filter(form=form).values_list("policy_type", flat=True)) for form in "ПЭВСК"
    }
    assert types == {"П": {3}, "Э": {3}, "К": {3}, "В": {2}, "С": {1}}
    old = Policy.objects.filter(form=Policy.Form.OLD)
    assert not old.exclude(enp="").exists() and not old.filter(number="").exists()
    today = timezone.localdate()
    assert Policy.objects.filter(valid_to__lt=today).exists()
    assert set(Policy.objects.values_list("smo__code", flat=True)) == {"59021", "59022", "59023"}
    persons = list(Person.objects.prefetch_related("policies"))
    assert any(overlapping(list(p.policies.all())) for p in persons)
    assert any(not any(policy.is_valid_on(today) for policy in p.policies.all()) for p in persons)


def test_attachments_conditional_application_detached_and_reattached(seeded):
    attachments = Attachment.objects.all()
    assert attachments.filter(is_conditional=True).exists()
    assert attachments.filter(method=Attachment.Method.BY_APPLICATION).exists()
    assert attachments.filter(method__in=[1, 2]).count() > attachments.count() // 2
    closed = attachments.filter(date_to__isnull=False)
    assert closed.exists() and not closed.filter(close_cause__isnull=True).exists()
    moved = closed.filter(close_cause=Attachment.CloseCause.OTHER_MO)
    assert any(
        Attachment.objects.filter(person=a.person, date_to__isnull=True).exclude(mo=a.mo).exists()
        for a in moved
    )


def test_sites_fap_and_without_doctor_or_doctor_snils(seeded):
    sites = Site.objects.all()
    assert sites.filter(site_type=Site.SiteType.FAP).exists()
    assert len(set(sites.values_list("site_type", flat=True))) >= 4
    assert sites.filter(doctor__isnull=True).exists()
    assert sites.filter(doctor__snils="").exists()
    assert set(Staff.objects.values_list("post_type", flat=True)) == {1, 2}


def test_yesterdays_oms_cases_and_cases_without_a_valid_policy(seeded):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    cases = TreatmentCase.objects.filter(date_begin=yesterday, payment=TreatmentCase.Payment.OMS)
    assert cases.filter(kind=TreatmentCase.Kind.OUTPATIENT).exists()
    assert TreatmentCase.objects.filter(payment=TreatmentCase.Payment.OTHER).exists()
    assert TreatmentCase.objects.filter(kind=TreatmentCase.Kind.INPATIENT).exists()
    uncovered = [
        case
        for case in TreatmentCase.objects.select_related("person").prefetch_related("person__policies")
        if not any(policy.is_valid_on(case.date_begin) for policy in case.person.policies.all())
    ]
    assert uncovered


def test_demo_users_log_in_with_the_demo_password(seeded, settings):
    expected = {
        "dc_admin": {(Role.DC_ADMIN, "590001"), (Role.STATISTICIAN, "590001"), (Role.MO_ADMIN, "590003")},
        "mo_admin": {(Role.MO_ADMIN, "590001")},
        "mo_admin2": {(Role.MO_ADMIN, "590002")},
        "statistician": {(Role.STATISTICIAN, "590001")},
    }
    for username, workplaces in expected.items():
        user = authenticate(username=username, password=settings.DEMO_PASSWORD)
        assert user is not None, username
        assert set(Workplace.objects.filter(user=user).values_list("role", "mo__code")) == workplaces


def test_second_run_is_a_no_op(seeded):
    counts = (Person.objects.count(), Policy.objects.count(), Subdivision.objects.count())
    out = seed()
    assert "демо-данные не загружались повторно" in out
    assert (Person.objects.count(), Policy.objects.count(), Subdivision.objects.count()) == counts


def test_persons_must_be_positive():
    with pytest.raises(CommandError, match="положительным"):
        seed(0)


@pytest.mark.django_db(transaction=True)  # flush TRUNCATEs: on PostgreSQL only outside a test transaction
def test_same_data_on_every_fresh_database():
    def fingerprint() -> str:
        enps = Policy.objects.order_by("person__last_name", "enp").values_list("enp", flat=True)
        return hashlib.sha256("|".join(enps).encode()).hexdigest()

    seed(60)
    first = fingerprint()
    call_command("flush", interactive=False, verbosity=0)
    assert not Person.objects.exists()
    seed(60)
    assert fingerprint() == first


def test_persons_came_over_the_years_and_a_few_in_the_last_days(seeded):
    """Issue 15 item 14: the attachment file of any period has new persons («Р») beside the others."""
    from django.utils import timezone

    today = timezone.localdate()
    created = [timezone.localtime(at).date() for at in Person.objects.values_list("created_at", flat=True)]
    assert min(created) <= today - dt.timedelta(days=700) and max(created) <= today
    assert sum(today - dt.timedelta(days=7) <= day for day in created) >= 2
    weeks = {(today - day).days // 7 for day in created}
    assert len(weeks) > 60  # spread, not bunched on one day
