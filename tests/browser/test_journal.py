"""Journal page in the browser: the МО admin opens the TFOMS service and starts a run (E2, E3)."""

from __future__ import annotations

import pytest

from registry.models import Role
from servicelog.models import RunResult, ServiceRun
from tests.browser.conftest import log_in
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


def test_started_service_sends_districts_and_the_fund_accepts_them(page, live_server, fund_in_process):
    """The demo's path: journal → Запуск → DISTRICT packages → the in-process fund → Принят ТФОМС (C4)."""
    from servicelog.models import Package
    from tests.factories import SiteFactory

    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    for number in ("1", "2"):
        SiteFactory(mo=mo, number=number)
    WorkplaceFactory(user=UserFactory(username="admin2"), mo=mo, role=Role.MO_ADMIN)
    log_in(page, live_server, "admin2")
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
    assert set(Package.objects.filter(package_type="DISTRICT").values_list("status", flat=True)) == {
        "accepted"
    }


def test_three_panes_status_filter_and_do_not_send_toggle(page, live_server):
    """E2, E4: services, runs, packages and the log; filter by status; "Не отправлять повторно" and back."""
    import uuid

    from servicelog.models import Package
    from servicelog.services import log_write, run_finish, run_open

    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    WorkplaceFactory(user=UserFactory(username="admin3"), mo=mo, role=Role.MO_ADMIN)
    run = run_open("tfoms_auto", mo=mo)
    for status in ("accepted", "send_error", "send_error"):
        Package.objects.create(
            uuid=uuid.uuid4(),
            service=run.service,
            run=run,
            mo=mo,
            package_type="DISTRICT",
            operation="Insert",
            status=status,
            content_hash="h",
            payload={"LPUREGION_NAME": "5"},
        )
    log_write(run=run, message="Строка подробного журнала")
    run_finish(run)

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "admin3")
    page.fill("input[name=password]", "secret-pass-1")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/journal/?service=tfoms_auto")
    for pane in ("services", "runs", "packages", "log"):
        assert page.locator(f"[data-testid={pane}]").count() == 1
    assert "Строка подробного журнала" in page.inner_text("[data-testid=log]")
    assert page.locator("[data-testid=packages] tbody tr").count() == 3
    page.shot("three-panes")

    page.select_option("[data-testid=status-filter]", "send_error")
    page.wait_for_url("**status=send_error**")
    assert page.locator("[data-testid=packages] tbody tr").count() == 2
    page.shot("filtered")

    first = page.locator("[data-testid=packages] tbody tr").first
    first.locator("[data-testid=do-not-send]").click()
    page.wait_for_selector(".messages li")
    assert "Запрет отправки установлен" in page.inner_text(".messages")
    assert page.url.endswith("status=send_error")  # back where the user was
    first = page.locator("[data-testid=packages] tbody tr").first
    assert first.locator("[data-testid=allow-send]").count() == 1
    page.shot("flagged")
    assert Package.objects.filter(do_not_send=True).count() == 1
    first.locator("[data-testid=allow-send]").click()
    page.wait_for_selector(".messages li")
    assert "Запрет отправки снят" in page.inner_text(".messages")
    assert Package.objects.filter(do_not_send=True).count() == 0
