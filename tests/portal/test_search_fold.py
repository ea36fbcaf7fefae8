"""Issue 15 item 5 (ё = е, any case) and item 4's Cyrillic error codes, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from registry.models import Person
from servicelog.forming import fio_key
from servicelog.models import PackageStatus
from servicelog.services import run_finish, run_open
from tests.factories import AttachmentFactory, PersonFactory, journal_package

pytestmark = pytest.mark.django_db


@pytest.fixture
def semyonov(mo_a) -> Person:
    person = PersonFactory(last_name="Семёнов", first_name="Пётр", middle_name="Алексеевич")
    AttachmentFactory(person=person, mo=mo_a)
    return person


@pytest.mark.parametrize("typed", ["Семенов Петр", "семёнов пётр", "СЕМЕНОВ", "сем"])
def test_persons_are_found_with_e_for_yo_in_any_case(enter, mo_admin_a, semyonov, typed):
    html = enter(mo_admin_a).get("/persons/", {"fio": typed}).content.decode()
    assert f"/persons/{semyonov.pk}/" in html


def test_a_yo_typed_finds_a_name_written_with_e(enter, mo_admin_a, mo_a):
    person = PersonFactory(last_name="Федоров", first_name="Артем")
    AttachmentFactory(person=person, mo=mo_a)
    html = enter(mo_admin_a).get("/persons/", {"fio": "Фёдоров Артём"}).content.decode()
    assert f"/persons/{person.pk}/" in html


def test_packages_by_person_and_text_with_e_for_yo(enter, mo_admin_a, mo_a):
    run = run_open("tfoms_auto", mo=mo_a)
    package = journal_package(
        run,
        mo_a,
        package_type="PERSONATTACH",
        status=PackageStatus.REJECTED_BY_FUND,
        fio=fio_key("Сёмина Анна"),  # as forming stores it
        result="Прикреплённое лицо не найдено",
        payload={},
    )
    run_finish(run)
    client = enter(mo_admin_a)
    for params in ({"q": "сёмина"}, {"q": "Семина Анна"}, {"text": "прикрепленное ЛИЦО"}):
        html = client.get("/journal/search/", params).content.decode()
        assert f'data-package="{package.pk}"' in html, params
    html = client.get("/journal/search/", {"q": "Семенова"}).content.decode()
    assert f'data-package="{package.pk}"' not in html  # a search that should find nothing finds nothing
