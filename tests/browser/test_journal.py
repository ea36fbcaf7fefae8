"""Journal page in the browser: the МО admin opens the TFOMS service and starts a run (E2, E3)."""

from __future__ import annotations

import pytest

from registry.models import Role
from servicelog.models import RunResult, ServiceRun
from tests.factories import MoFactory, UserFactory, WorkplaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_mo_admin_starts_the_tfoms_service(page, live_server):
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    WorkplaceFactory(user=UserFactory(username="admin1"), mo=mo, role=Role.MO_ADMIN)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "admin1")
    page.fill("input[name=password]", "secret-pass-1")
    page.click("button[type=submit]")
    page.click("nav >> text=Журнал работы сервисов")
    page.click("[data-testid=services] >> text=Сервис автоматизированного взаимодействия с ТФОМС")
    page.wait_for_selector("[data-testid=runs]")
    page.shot("journal-empty")
    assert "Запусков этого сервиса ещё не было" in page.inner_text("[data-testid=runs]")

    page.click("[data-testid=start]")
    page.wait_for_selector("[data-testid=run-result]")
    page.shot("journal-started")
    assert page.inner_text("[data-testid=run-result]") == "Успешно"
    assert "Запуск сервиса: вручную (admin1)" in page.inner_text("[data-testid=log]")
    run = ServiceRun.objects.get()
    assert run.mo == mo and run.result == RunResult.SUCCESS

    page.click("[data-testid=start]")
    page.wait_for_selector(".messages li.error")
    page.shot("journal-refused")
    assert "не чаще одного раза в 60 мин" in page.inner_text(".messages")


def test_started_service_sends_districts_and_the_fund_accepts_them(page, live_server, settings):
    """The demo's path: journal → Запуск → DISTRICT packages → the in-process fund → Принят ТФОМС (C4)."""
    import threading

    import tfoms_emulator
    from servicelog.inbox import consume_forever
    from tests.factories import SiteFactory
    from tfoms_portal import messaging

    settings.TFOMS_AMQP_URL = ""
    messaging.reset_backend()
    tfoms_emulator.reset()
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    for number in ("1", "2"):
        SiteFactory(mo=mo, number=number)
    WorkplaceFactory(user=UserFactory(username="admin2"), mo=mo, role=Role.MO_ADMIN)
    stop = threading.Event()
    consumer = threading.Thread(target=consume_forever, kwargs={"should_stop": stop.is_set}, daemon=True)
    consumer.start()
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "admin2")
        page.fill("input[name=password]", "secret-pass-1")
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/journal/?service=tfoms_auto")
        page.click("[data-testid=start]")
        page.wait_for_selector("[data-testid=run-result]")
        assert page.inner_text("[data-testid=run-result]") == "Успешно"
        for _ in range(50):  # the consumer takes the fund's answers in the background
            page.click("[data-testid=refresh]")
            if page.inner_text("[data-testid=log]").count("Принят ТФОМС") == 2:
                break
            page.wait_for_timeout(200)
        page.shot("accepted")
        log = page.inner_text("[data-testid=log]")
        assert log.count("Пакет сформирован") == 2 and log.count("Принят ТФОМС") == 2
        from servicelog.models import Package

        assert set(Package.objects.filter(package_type="DISTRICT").values_list("status", flat=True)) == {
            "accepted"
        }
    finally:
        stop.set()
        consumer.join(timeout=10)
        messaging.reset_backend()
