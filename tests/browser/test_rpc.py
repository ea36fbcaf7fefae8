"""Synchronous exchanges in the browser (B8, C2 stage 3): the card's «Идентифицировать онлайн» and the
referral form's free-beds panel, each with an answer and without one — the page never reloads, the
pane asks every second and shows the answer or the fallback by itself."""

from __future__ import annotations

import datetime as dt

import pytest

import tfoms_emulator
from hospitalisation.models import Referral
from registry.models import Person, Policy, Role
from servicelog.inbox import inbound_handle
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.browser.conftest import log_in
from tests.factories import (
    AttachmentFactory,
    DocumentFactory,
    PersonFactory,
    SmoFactory,
    WorkplaceFactory,
    fund_person,
)
from tests.hospitalisation.conftest import region  # noqa: F401
from tfoms_emulator import ident
from tfoms_emulator.rpc import RpcFaults
from tfoms_portal import messaging

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ENP = "5956410834000014"


@pytest.fixture
def patient(mo_a) -> Person:
    person = PersonFactory(last_name="Онлайнова", first_name="Мария", middle_name="Петровна", sex=2)
    AttachmentFactory(person=person, mo=mo_a)
    DocumentFactory(person=person)
    WorkplaceFactory(user__username="card_admin", mo=mo_a, role=Role.MO_ADMIN)
    return person


def knows(person: Person) -> None:
    smo = SmoFactory(code="59021", ogrn="1025900000006", name_short="СОГАЗ-Мед")
    tfoms_emulator.default_emulator().persons = ident.Register(
        [fund_person(person, smo, bdzid=5500001, enp=ENP, dbeg=dt.date(2022, 1, 1))]
    )


def test_online_identification_answered(page, live_server, fund_in_process, patient):
    knows(patient)
    log_in(page, live_server, "card_admin")
    page.goto(f"{live_server.url}/persons/{patient.pk}/")
    page.shot("card")
    page.click("[data-testid=identify-online]")
    page.wait_for_selector("[data-testid=rpc-call][data-state=answered]")
    page.shot("answered")
    text = page.inner_text("[data-testid=online-identification]")
    assert "Онлайнова Мария Петровна идентифицирована: ЕНП 5956410834000014, СМО СОГАЗ-Мед" in text
    assert Policy.objects.get(person=patient).enp == ENP
    page.click("[data-testid=rpc-reload]")
    assert ENP in page.inner_text("[data-testid=policies]")
    assert "онлайн-запрос" in page.inner_text("[data-testid=identification-history]")


def test_online_identification_without_answer(page, live_server, fund_in_process, patient, settings):
    settings.TFOMS_RPC_IDENTIFY_SECONDS = 2.0
    tfoms_emulator.default_emulator().rpc_faults = RpcFaults("silent")
    log_in(page, live_server, "card_admin")
    page.goto(f"{live_server.url}/persons/{patient.pk}/")
    page.click("[data-testid=identify-online]")
    page.wait_for_selector("[data-testid=rpc-waiting]")
    page.shot("waiting")
    page.wait_for_selector("[data-testid=rpc-call][data-state=expired]", timeout=10_000)
    page.shot("no-answer")
    text = page.inner_text("[data-testid=online-identification]")
    assert "ТФОМС не ответил за 2 с" in text and "поставлена в очередь пакетной идентификации" in text
    patient.refresh_from_db()
    assert patient.identification_request_reason == Person.IdentificationReason.ONLINE_TIMEOUT


@pytest.fixture
def referrer(region):  # noqa: F811
    AttachmentFactory(person=region.person, mo=region.polyclinic_mo)
    WorkplaceFactory(user__username="poly_admin", mo=region.polyclinic_mo, role=Role.MO_ADMIN)
    return region


def fund_knows_structure(region) -> None:  # noqa: F811
    service_execute("iszl263", mo=region.hospital)
    relay_run()
    messaging.get_backend().drain([messaging.queue_name(messaging.ISZL_REPLY)], inbound_handle)


def fill_referral(page, region) -> None:  # noqa: F811
    page.select_option("[name=kind]", Referral.Kind.PLANNED)
    page.select_option("[name=from_subdivision]", str(region.clinic.pk))
    page.fill("[name=diagnosis]", "I20.8")


def test_referral_with_free_beds(page, live_server, fund_in_process, referrer):
    reg = referrer
    fund_knows_structure(reg)
    log_in(page, live_server, "poly_admin")
    page.goto(f"{live_server.url}/persons/{reg.person.pk}/")
    page.click("[data-testid=refer]")
    page.wait_for_selector("[data-testid=referral-layout]")
    page.select_option("[name=profile_code]", "19")  # choosing the profile asks the fund
    page.wait_for_selector("[data-testid=free-beds-table]")
    page.shot("free-beds")
    form = page.locator("#referral-form").bounding_box()
    beds = page.locator("[data-testid=free-beds-pane]").bounding_box()
    assert form and beds and beds["x"] >= form["x"] + form["width"]  # side by side
    row = page.locator("[data-testid=free-beds-row].pick").first
    cells = row.locator("td").all_inner_texts()
    assert cells[1].startswith("Терапевтическое отделение") and cells[3] == "5 / 5 / 5"  # free, adult, child
    row.click()
    assert page.input_value("[name=to_mo]") == str(reg.hospital.pk)
    assert page.input_value("[name=to_department]") == str(reg.therapy.pk)
    assert page.input_value("[name=to_bed_profile]") == str(reg.profile.pk)
    fill_referral(page, reg)
    page.click("[data-testid=referral-save]")
    page.wait_for_selector(".messages li")
    page.shot("saved")
    referral = Referral.objects.get()
    assert f"Направление {referral.full_number}" in page.inner_text(".messages")
    # the card lists the referral; however wide its table, the page keeps to 1280 px
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert referral.to_department == reg.therapy and referral.to_bed_profile == reg.profile


def test_referral_without_free_beds_answer(page, live_server, fund_in_process, referrer, settings):
    reg = referrer
    settings.TFOMS_RPC_FREE_BEDS_SECONDS = 2.0
    tfoms_emulator.default_emulator().rpc_faults = RpcFaults("silent")
    log_in(page, live_server, "poly_admin")
    page.goto(f"{live_server.url}/hospitalisation/referrals/new/?person={reg.person.pk}")
    page.click("[data-testid=free-beds]")  # no profile chosen yet: said, nothing asked
    page.wait_for_selector("[data-testid=free-beds-hint]:has-text('Выберите профиль коек')")
    page.select_option("[name=profile_code]", "19")
    page.wait_for_selector("[data-testid=rpc-waiting]")
    page.wait_for_selector("[data-testid=rpc-call][data-state=expired]", timeout=10_000)
    page.shot("no-answer")
    assert "ТФОМС не ответил, данные о свободных койках недоступны" in page.inner_text(
        "[data-testid=free-beds-pane]"
    )
    page.select_option("[name=to_mo]", str(reg.hospital.pk))  # the form still works by hand
    page.select_option("[name=to_department]", str(reg.therapy.pk))
    page.select_option("[name=to_bed_profile]", str(reg.profile.pk))
    fill_referral(page, reg)
    page.click("[data-testid=referral-save]")
    page.wait_for_selector(".messages li")
    assert Referral.objects.get().to_department == reg.therapy
