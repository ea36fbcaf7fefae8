"""The journal in the browser as manual §4.6.2 draws it (E2–E4, issue 15): «Запуск» answers at once
and the runs pane follows the run to its result by itself; services, runs and the detailed log on one
1280×800 screen, each pane paged alone."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from registry.models import Role
from servicelog.models import Package, RunResult, ServiceRun
from servicelog.services import log_write, run_finish, run_open
from tests.browser.conftest import log_in
from tests.factories import MoFactory, SiteFactory, UserFactory, WorkplaceFactory, journal_package

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _slow_jobs(monkeypatch, seconds: float) -> None:
    """Each job of a run takes `seconds` longer (the demo's region run takes tens of seconds)."""
    from servicelog import runs

    beat = runs.run_beat

    def slow(run):
        time.sleep(seconds)
        beat(run)

    monkeypatch.setattr(runs, "run_beat", slow)


def test_start_answers_at_once_and_the_runs_pane_follows_the_run(page, live_server, monkeypatch):
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    WorkplaceFactory(user=UserFactory(username="admin1"), mo=mo, role=Role.MO_ADMIN)
    SiteFactory(mo=mo)  # the run sends its district, so a second start within the hour is refused
    _slow_jobs(monkeypatch, 1.5)
    log_in(page, live_server, "admin1")
    page.click("nav >> text=Журнал работы сервисов")
    page.click("[data-testid=services] >> text=Сервис автоматизированного взаимодействия с ТФОМС")
    page.wait_for_selector("[data-testid=runs]")
    assert "Запусков этого сервиса ещё не было" in page.inner_text("[data-testid=runs]")
    page.evaluate("window.notReloaded = true")

    started = time.monotonic()
    page.click("[data-testid=start]")
    page.wait_for_selector("[data-testid=notice]")
    assert time.monotonic() - started < 1.5  # the page did not wait for the run
    assert page.inner_text("[data-testid=notice]") == (
        "Сервис «Сервис автоматизированного взаимодействия с ТФОМС» для МО 590001 ГКБ № 1 запущен. "
        "Ход запуска виден в списке запусков."
    )
    assert page.inner_text("[data-testid=run-result]") == "Выполняется"
    page.shot("running")

    expect(page.locator("[data-testid=run-result]")).to_have_text("Успешно", timeout=20_000)
    expect(page.locator("[data-testid=packages]")).to_contain_text("Участки")  # the run's package
    assert "запущен" in page.inner_text("[data-testid=notice]")  # the panes' polls left the message alone
    page.shot("finished")
    page.click("[data-testid=tab-log]")
    expect(page.locator("[data-testid=log]")).to_contain_text("Запуск завершён: Успешно")
    assert page.evaluate("window.notReloaded") is True  # panes changed, the page was never reloaded
    assert "Запуск сервиса: вручную (admin1)" in page.inner_text("[data-testid=log]")
    run = ServiceRun.objects.get()
    assert run.mo == mo and run.result == RunResult.SUCCESS

    page.click("[data-testid=start]")
    page.wait_for_selector("[data-testid=notice].error")
    page.shot("refused")
    assert (
        "Ручной запуск сервиса «Сервис автоматизированного взаимодействия с ТФОМС» для МО 590001 ГКБ № 1 "
        "возможен не чаще одного раза в 60 мин." in page.inner_text("[data-testid=notice]")
    )


def test_started_service_sends_districts_and_the_fund_accepts_them(page, live_server, fund_in_process):
    """The demo's path: journal → Запуск → DISTRICT packages → the in-process fund → Принят ТФОМС (C4)."""
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    for number in ("1", "2"):
        SiteFactory(mo=mo, number=number)
    WorkplaceFactory(user=UserFactory(username="admin2"), mo=mo, role=Role.MO_ADMIN)
    log_in(page, live_server, "admin2")
    page.goto(f"{live_server.url}/journal/?service=tfoms_auto")
    page.click("[data-testid=start]")
    expect(page.locator("[data-testid=run-result]")).to_have_text("Успешно", timeout=20_000)
    for _ in range(50):  # the consumer takes the fund's answers in the background
        page.click("[data-testid=refresh]")
        page.wait_for_timeout(300)
        if page.locator("[data-testid=packages] td.status-accepted").count() == 2:
            break
    page.shot("accepted")
    assert page.locator("[data-testid=packages] td.status-accepted").all_inner_texts() == ["Принят ТФОМС"] * 2
    page.click("[data-testid=tab-log]")
    page.wait_for_selector("[data-testid=log]")
    log = page.inner_text("[data-testid=log]")
    assert log.count("Пакет сформирован") == 2 and log.count("Принят ТФОМС") == 2
    assert set(Package.objects.filter(package_type="DISTRICT").values_list("status", flat=True)) == {
        "accepted"
    }


def _runs_with_packages(mo, runs: int, packages: int) -> list[ServiceRun]:
    made = []
    for number in range(runs):
        run = run_open("tfoms_auto", mo=mo, scope=f"t{number}")
        for index in range(packages if number == runs - 1 else 1):
            journal_package(
                run,
                mo,
                status=("accepted", "send_error", "send_error")[index % 3],
                payload={"LPUREGION_NAME": str(index)},
            )
        log_write(run=run, message=f"Строка подробного журнала запуска {number}")
        run_finish(run)
        made.append(run)
    return made


def test_three_panes_on_one_screen_each_paged_alone(page, live_server):
    """§4.6.2 on 1280×800: services left, runs right, the detailed log below — every pane inside the
    viewport; the runs' pager and the packages' pager do not reset each other."""
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    WorkplaceFactory(user=UserFactory(username="admin4"), mo=mo, role=Role.MO_ADMIN)
    runs = _runs_with_packages(mo, runs=25, packages=120)
    newest = runs[-1]
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server, "admin4")
    page.goto(f"{live_server.url}/journal/?service=tfoms_auto")
    page.evaluate("window.notReloaded = true")
    for pane in ("services", "runs", "detail"):
        box = page.locator(f"[data-testid={pane}]").bounding_box()
        assert box is not None and box["y"] >= 0 and box["x"] >= 0, pane
        assert box["y"] + box["height"] <= 800 and box["x"] + box["width"] <= 1280, (pane, box)
    assert page.evaluate("document.documentElement.scrollHeight") <= 800  # no page-long tables
    page.shot("one-screen")

    assert "Страница 1 из 3" in page.inner_text("[data-testid=packages-pager]")
    page.click("[data-testid=packages-pager] >> text=Вперед")
    expect(page.locator("[data-testid=packages-pager]")).to_contain_text("Страница 2 из 3")
    page.click("[data-testid=runs-pager] >> text=Вперед")
    expect(page.locator("[data-testid=runs-pager]")).to_contain_text("Страница 2 из 3")
    # the runs went on a page; the selected run's packages stayed where the user left them
    assert "Страница 2 из 3" in page.inner_text("[data-testid=packages-pager]")
    assert "page=2" in page.url and f"run={newest.pk}" in page.url and "ppage=2" in page.url
    older = runs[-12]
    page.click(f"tr[data-run='{older.pk}'] a")
    expect(page.locator("tr.selected")).to_have_attribute("data-run", str(older.pk))
    assert "Страница 2 из 3" in page.inner_text("[data-testid=runs-pager]")  # the runs' page kept
    assert "Страница 1 из 1" in page.inner_text("[data-testid=packages-pager]")  # a new run from its top
    page.click("[data-testid=tab-log]")
    page.wait_for_selector("[data-testid=log]")
    assert "Строка подробного журнала запуска 13" in page.inner_text("[data-testid=log]")
    assert page.evaluate("window.notReloaded") is True
    page.shot("paged")


def test_status_filter_and_do_not_send_toggle(page, live_server):
    """E4: filter by status without a reload; "Не отправлять повторно" and back."""
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    WorkplaceFactory(user=UserFactory(username="admin3"), mo=mo, role=Role.MO_ADMIN)
    _runs_with_packages(mo, runs=1, packages=3)
    log_in(page, live_server, "admin3")
    page.goto(f"{live_server.url}/journal/?service=tfoms_auto")
    assert page.locator("[data-testid=packages] tbody tr").count() == 3

    page.select_option("[data-testid=status-filter]", "send_error")
    page.wait_for_url("**status=send_error**")
    expect(page.locator("[data-testid=packages] tbody tr")).to_have_count(2)
    page.shot("filtered")

    first = page.locator("[data-testid=packages] tbody tr").first
    first.locator("[data-testid=do-not-send]").click()
    page.wait_for_selector(".messages li")
    assert "Запрет отправки установлен" in page.inner_text(".messages")
    assert "status=send_error" in page.url  # back where the user was
    first = page.locator("[data-testid=packages] tbody tr").first
    assert first.locator("[data-testid=allow-send]").count() == 1
    page.shot("flagged")
    assert Package.objects.filter(do_not_send=True).count() == 1
    first.locator("[data-testid=allow-send]").click()
    page.wait_for_selector(".messages li")
    assert "Запрет отправки снят" in page.inner_text(".messages")
    assert Package.objects.filter(do_not_send=True).count() == 0

    # an accepted package can carry the flag too: it stops only a future send (§4.6.3)
    page.select_option("[data-testid=status-filter]", "accepted")
    expect(page.locator("[data-testid=packages] tbody tr")).to_have_count(1)
    page.locator("[data-testid=packages] tbody tr [data-testid=do-not-send]").click()
    page.wait_for_selector(".messages li")
    assert "Запрет отправки установлен" in page.inner_text(".messages")
    accepted = Package.objects.get(status="accepted")
    assert accepted.do_not_send
    page.shot("accepted-flagged")


def polled_within(page, polls: list[str], seconds: float) -> None:
    for _ in range(int(seconds * 4)):
        if polls:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the pane did not ask for itself within {seconds} s")


def test_page_behaviours_work_without_inline_script(page, live_server):
    """Issue 16 item 5: «Отметить все», the polling that waits while a box is ticked and the confirm
    before a delete run from portal.js under the content security policy (the page fixture fails the
    test on any blocked script)."""
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    WorkplaceFactory(user=UserFactory(username="admin4"), mo=mo, role=Role.MO_ADMIN)
    run = run_open("tfoms_auto", mo=mo)  # still Выполняется: its detail pane polls
    for index in range(3):
        journal_package(run, mo, status=("accepted", "send_error", "send_error")[index])
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "pane=detail" in request.url else None)
    log_in(page, live_server, "admin4")
    page.goto(f"{live_server.url}/journal/?service=tfoms_auto&run={run.pk}")
    polled_within(page, polls, 8)  # the running run's pane asks for itself
    page.check("[data-check-all]")
    boxes = page.locator("input[form=resend-form]")
    states = sorted((boxes.nth(i).is_enabled(), boxes.nth(i).is_checked()) for i in range(3))
    assert states == [(False, False), (True, True), (True, True)]  # the sendable ones, only they
    page.wait_for_timeout(300)  # a poll already on its way when the box was ticked
    polls.clear()
    page.wait_for_timeout(5000)  # two and a half poll periods
    assert polls == []  # a ticked box holds the refresh, so it cannot wipe the choice
    assert sum(boxes.nth(i).is_checked() for i in range(3)) == 2
    page.uncheck("[data-check-all]")
    polled_within(page, polls, 8)  # and it refreshes again once nothing is ticked
    page.shot("after-ticks")


def test_the_back_button_of_a_not_found_page_returns_to_the_page_before(page, live_server):
    """Issue 16 item 5: «Назад» of the error pages works under the content security policy, which
    blocks a javascript: link (portal.js goes back instead)."""
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    WorkplaceFactory(user=UserFactory(username="admin4"), mo=mo, role=Role.MO_ADMIN)
    log_in(page, live_server, "admin4")
    page.goto(f"{live_server.url}/journal/")
    page.goto(f"{live_server.url}/persons/999999/")
    page.click("[data-testid=error-page] a:text('Назад')")
    page.wait_for_url(f"{live_server.url}/journal/")


def test_a_pane_request_refused_for_a_stale_csrf_token_is_said_on_the_page(page, live_server):
    """Nothing silent: «Запуск» with a stale CSRF token (a page open across a new login) gets 403,
    on which htmx swaps nothing; portal.js says why at the top of the page."""
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    WorkplaceFactory(user=UserFactory(username="admin4"), mo=mo, role=Role.MO_ADMIN)
    log_in(page, live_server, "admin4")
    page.goto(f"{live_server.url}/journal/?service=tfoms_auto")
    page.evaluate("document.cookie = 'csrftoken=stale; path=/'")
    page.click("[data-testid=start]")
    page.wait_for_selector("[data-testid=pane-error]")
    assert "Ничего не изменено" in page.inner_text("[data-testid=pane-error]")
    page.shot("stale-token")
