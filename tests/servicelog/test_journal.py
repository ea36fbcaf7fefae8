"""The basic journal page: services → runs → log, manual start, scoping (E1–E3)."""

from __future__ import annotations

import pytest

from servicelog.models import AuditAction, AuditEvent, PackageStatus, RunResult, Service, ServiceRun
from servicelog.services import log_write, run_finish, run_open
from tests.factories import journal_package

pytestmark = pytest.mark.django_db


def add_package(run, mo, status=PackageStatus.FORMED):
    return journal_package(run, mo, status=status)


@pytest.fixture
def runs(mo_a, mo_b):
    region = run_open("tfoms_auto")
    add_package(region, mo_a)
    add_package(region, mo_a, PackageStatus.FORM_ERROR)
    add_package(region, mo_b, PackageStatus.SEND_ERROR)
    add_package(region, mo_b)
    add_package(region, mo_b)
    log_write(run=region, message="Общая строка журнала")
    log_write(run=region, mo=mo_b, message="Строка про МО Б")
    run_finish(region)
    own_b = run_open("tfoms_auto", mo=mo_b)
    log_write(run=own_b, mo=mo_b, message="Запуск МО Б")
    run_finish(own_b)
    return region, own_b


def row(page: str, run) -> str:
    start = page.index(f'data-run="{run.pk}"')
    return page[start : page.index("</tr>", start)]


def test_three_panes_and_counts_for_the_dc_admin(enter, dc_admin, runs):
    region, own_b = runs
    client = enter(dc_admin)
    page = client.get("/journal/", {"service": "tfoms_auto", "run": region.pk}).content.decode()
    assert (
        'data-testid="services"' in page and 'data-testid="runs"' in page and 'data-testid="detail"' in page
    )
    assert "Сервис автоматизированного взаимодействия с ТФОМС" in page
    cells = row(page, region)
    assert "<td>5</td><td>2</td>" in cells and "весь регион" in cells
    assert f'data-run="{own_b.pk}"' in page
    assert 'data-testid="packages"' in page  # a run with packages opens on them (§4.6.3)
    page = client.get("/journal/", {"service": "tfoms_auto", "run": region.pk, "tab": "log"}).content.decode()
    assert "Общая строка журнала" in page and "Строка про МО Б" in page


def test_mo_admin_sees_region_run_counted_for_own_mo_and_not_other_mo_runs(enter, mo_admin_a, runs):
    region, own_b = runs
    client = enter(mo_admin_a)
    page = client.get("/journal/", {"service": "tfoms_auto", "run": region.pk, "tab": "log"}).content.decode()
    assert "<td>2</td><td>1</td>" in row(page, region)
    assert f'data-run="{own_b.pk}"' not in page
    # a line naming no МО is the ЦОД admin's only (issue 19 item 3): it may quote any МО's patient
    assert "Общая строка журнала" not in page and "Строка про МО Б" not in page
    assert client.get("/journal/", {"service": "tfoms_auto", "run": own_b.pk}).status_code == 404


def test_statistician_sees_only_the_tfoms_service_and_cannot_start(enter, statistician_a, runs):
    client = enter(statistician_a)
    page = client.get("/journal/").content.decode()
    assert "Сервис автоматизированного взаимодействия с ТФОМС" in page
    assert "Обмен планами профилактических осмотров" not in page
    assert 'data-testid="start"' not in page
    assert client.get("/journal/", {"service": "dispplan_exchange"}).status_code == 404
    client.post("/journal/tfoms_auto/start/")
    assert not ServiceRun.objects.filter(trigger="manual").exists()


def test_manual_start_runs_for_own_mo_and_is_audited(enter, mo_admin_a):
    client = enter(mo_admin_a)
    page = client.get("/journal/", {"service": "tfoms_auto"}).content.decode()
    assert 'data-testid="start"' in page
    response = client.post("/journal/tfoms_auto/start/", follow=True)
    run = ServiceRun.objects.get(trigger="manual")
    assert run.mo == mo_admin_a.mo and run.result == RunResult.SUCCESS and run.started_by == mo_admin_a.user
    page = response.content.decode()
    assert f"Сервис «{run.service.name}» для МО {run.mo.code} {run.mo.name_short} выполнен: успешно." in page
    assert "Запуск сервиса: вручную (mo_admin_a)" in page  # the run has no packages: its messages shown
    assert AuditEvent.objects.filter(action=AuditAction.MANUAL_START, object_id=str(run.pk)).exists()


def test_second_manual_start_within_the_hour_is_refused_with_a_message(enter, mo_admin_a):
    from tests.factories import SiteFactory

    SiteFactory(mo=mo_admin_a.mo)  # the first start sends something
    client = enter(mo_admin_a)
    client.post("/journal/tfoms_auto/start/")
    page = client.post("/journal/tfoms_auto/start/", follow=True).content.decode()
    assert "возможен не чаще одного раза в 60 мин" in page
    assert ServiceRun.objects.filter(trigger="manual").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.MANUAL_START, outcome__startswith="отказ").exists()


def test_dc_admin_starts_region_wide(enter, dc_admin):
    enter(dc_admin).post("/journal/ident_batch/start/")
    run = ServiceRun.objects.get(trigger="manual")
    assert run.mo is None and run.service.code == "ident_batch"


def test_service_without_manual_start_is_not_started(enter, dc_admin):
    Service.objects.filter(code="iszl263").update(manual_start=False)
    client = enter(dc_admin)
    assert 'data-testid="start"' not in client.get("/journal/", {"service": "iszl263"}).content.decode()
    page = client.post("/journal/iszl263/start/", follow=True).content.decode()
    assert "не запускается вручную" in page and not ServiceRun.objects.exists()


def test_unknown_service_and_junk_run_ids(enter, dc_admin, runs):
    client = enter(dc_admin)
    assert client.get("/journal/", {"service": "nope"}).status_code == 404
    assert client.get("/journal/", {"service": "tfoms_auto", "run": "999999"}).status_code == 404
    assert client.get("/journal/", {"service": "tfoms_auto", "run": "x'--"}).status_code == 200
    assert client.get("/journal/", {"service": "tfoms_auto", "page": "99999"}).status_code == 200


def test_sidebar_links_to_the_journal(enter, mo_admin_a):
    page = enter(mo_admin_a).get("/").content.decode()
    assert 'href="/journal/"' in page


HX = {"HX-Request": "true"}


def test_panes_are_fragments_with_the_pages_address_and_the_history_gets_the_page(enter, dc_admin, runs):
    region, _ = runs
    client = enter(dc_admin)
    pane = client.get("/journal/", {"service": "tfoms_auto", "run": region.pk, "pane": "right"}, headers=HX)
    html = pane.content.decode()
    assert "<html" not in html and 'id="journal-right"' in html
    assert pane["HX-Push-Url"] == f"/journal/?service=tfoms_auto&run={region.pk}"  # never the pane's own
    assert "HX-Request" in pane["Vary"]
    restore = client.get(
        "/journal/",
        {"service": "tfoms_auto", "run": region.pk, "pane": "right"},
        headers={**HX, "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.content.decode()  # Back after a cache miss gets the whole page


def test_a_pane_asking_for_itself_keeps_what_the_user_did_meanwhile(enter, dc_admin, runs):
    """The poll of a running run takes the state from the page's address as it is now."""
    region, _ = runs
    current = f"http://testserver/journal/?service=tfoms_auto&run={region.pk}&tab=log&lpage=1"
    html = (
        enter(dc_admin)
        .get("/journal/", {"pane": "detail", "poll": "1"}, headers={**HX, "HX-Current-URL": current})
        .content.decode()
    )
    assert 'id="pane-detail"' in html and "Общая строка журнала" in html  # the log tab the user chose


@pytest.mark.parametrize("pane", ["right", "runs", "detail"])
def test_another_mos_run_is_404_in_every_pane(enter, mo_admin_a, runs, pane):
    _, own_b = runs
    response = enter(mo_admin_a).get(
        "/journal/", {"service": "tfoms_auto", "run": own_b.pk, "pane": pane}, headers=HX
    )
    assert response.status_code == 404


def test_a_region_run_that_failed_in_another_mo_says_so_to_an_mo_user(enter, dc_admin, mo_admin_a, mo_b):
    """§4.6.3: an МО admin's counts and log are of their МО; the result says when the error was elsewhere."""
    from servicelog.models import LogEntry

    region = run_open("tfoms_auto")
    log_write(run=region, mo=mo_b, level=LogEntry.Level.ERROR, message="Ошибка в МО Б")
    run_finish(region)
    assert region.result == RunResult.ERROR
    mo_page = enter(mo_admin_a).get("/journal/", {"service": "tfoms_auto"}).content.decode()
    assert "Завершено с ошибкой в других МО" in row(mo_page, region)
    dc_page = enter(dc_admin).get("/journal/", {"service": "tfoms_auto"}).content.decode()
    assert "Завершено с ошибкой</td>" in row(dc_page, region)
    # an error of their own МО is theirs to see as it is
    log_write(run=region, mo=mo_admin_a.mo, level=LogEntry.Level.ERROR, message="Ошибка в МО А")
    mo_page = enter(mo_admin_a).get("/journal/", {"service": "tfoms_auto"}).content.decode()
    assert "в других МО" not in row(mo_page, region)
