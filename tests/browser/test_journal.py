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
