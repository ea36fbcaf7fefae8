"""Dispensary observation in the browser (C5): the МО admin starts the TFOMS service, the journal
shows the packages by their Russian titles, the person's card shows the card accepted by the fund."""

from __future__ import annotations

import threading

import pytest

import tfoms_emulator
from registry.models import Role
from servicelog.inbox import consume_forever
from servicelog.models import Package
from tests.factories import DispensaryCardFactory, MoFactory, UserFactory, WorkplaceFactory
from tfoms_portal import messaging

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dispensary_card_goes_to_the_fund_and_shows_on_the_person(page, live_server, settings):
    settings.TFOMS_AMQP_URL = ""
    messaging.reset_backend()
    tfoms_emulator.reset()
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    card = DispensaryCardFactory(mo=mo, diagnosis="C50.9")
    WorkplaceFactory(user=UserFactory(username="admin_dn"), mo=mo, role=Role.MO_ADMIN)
    stop = threading.Event()
    consumer = threading.Thread(target=consume_forever, kwargs={"should_stop": stop.is_set}, daemon=True)
    consumer.start()
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "admin_dn")
        page.fill("input[name=password]", "secret-pass-1")
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/journal/?service=tfoms_auto")
        page.click("[data-testid=start]")
        page.wait_for_selector("[data-testid=run-result]")
        for _ in range(50):  # the consumer takes the fund's answers in the background
            if set(Package.objects.values_list("status", flat=True)) == {"accepted"}:
                break
            page.wait_for_timeout(200)
        page.click("[data-testid=refresh]")
        packages = page.inner_text("[data-testid=packages]")
        assert "Диспансерное наблюдение" in packages and "Пациенты с ЗНО" in packages
        assert "DISP" not in packages  # codes only in the tooltips
        page.shot("dispensary-journal")

        page.goto(f"{live_server.url}/persons/{card.person_id}/")
        section = page.inner_text("[data-testid=dispensary-cards]")
        page.shot("dispensary-card")
        assert "C50.9" in section and "Принят ТФОМС" in section
    finally:
        stop.set()
        consumer.join(timeout=10)
        messaging.reset_backend()
