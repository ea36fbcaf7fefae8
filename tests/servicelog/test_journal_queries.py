"""Issue 18 item 3 (SPEC E2–E5): every journal page costs the same number of queries on page 1 and on
page 50, and with one row per page or twenty — for the МО admin and the ЦОД admin — so a query that
grows with the offset, or one per row (an N+1), fails CI here, not only the benchmark."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from servicelog import journal_views, views
from servicelog.models import Package, PackageStatus, ServiceRun
from servicelog.runs import run_finish, run_open
from servicelog.statuses import log_write

S = PackageStatus
pytestmark = pytest.mark.django_db
ROWS = 55


def page_size(monkeypatch, rows: int) -> None:
    for name in ("RUNS_PER_PAGE", "PACKAGES_PER_PAGE", "LOG_PER_PAGE"):
        monkeypatch.setattr(journal_views, name, rows)
    monkeypatch.setattr(views, "SEARCH_PER_PAGE", rows)


@pytest.fixture
def many(mo_a, mo_admin_a, monkeypatch):
    """55 finished runs of the МО, each with a package and its log line — the newest with 55 of them:
    page 1 and page 50 then differ in their rows, not in what the rows are. Each run was started by a
    person and some packages carry a person's «Не отправлять» and other statuses, so a relation left
    unloaded on any row costs a query per row."""
    page_size(monkeypatch, 1)
    user = mo_admin_a.user
    runs = []
    for _ in range(ROWS):
        run = run_open("tfoms_auto", mo=mo_a)
        run_finish(run)
        ServiceRun.objects.filter(pk=run.pk).update(started_by=user)
        runs.append(run)
    statuses = (S.SENT, S.SEND_ERROR, S.REJECTED_BY_FUND, S.ACCEPTED)
    for n, run in enumerate(runs[:-1]):
        _package(run, mo_a, n, statuses[n % len(statuses)], user if n % 2 else None)
    run = runs[-1]
    for n in range(ROWS):
        _package(run, mo_a, n, S.ACCEPTED, user if n % 2 else None)
    return run


def _package(run, mo, n: int, status: str, barred_by=None) -> None:
    package = Package.objects.create(
        uuid=uuid.uuid4(),
        service=run.service,
        run=run,
        mo=mo,
        package_type="DISTRICT",
        operation="Insert",
        status=status,
        content_hash="h",
        do_not_send=barred_by is not None,
        do_not_send_by=barred_by,
        enp="5956410834000014",
        snils="11223344595",
        fio="ИВАНОВ ИВАН",
        result="Пакет принят ТФОМС",
    )
    log_write(run=run, package=package, message=f"Принят ТФОМС, строка {n}")


def queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, (url, params)
    return len(captured)


PAGES = [
    ("runs of a service", "/journal/", {"service": "tfoms_auto"}, "page"),
    ("packages of a run by status", "/journal/", {"service": "tfoms_auto", "status": "accepted"}, "ppage"),
    ("the detailed log", "/journal/", {"service": "tfoms_auto", "tab": "log"}, "lpage"),
    ("search by ЕНП", "/journal/search/", {"q": "5956410834000014"}, "page"),
    ("search by СНИЛС", "/journal/search/", {"q": "112-233-445 95"}, "page"),
    ("search by ФИО", "/journal/search/", {"q": "Иванов"}, "page"),
    ("search by text", "/journal/search/", {"text": "принят"}, "page"),
]


@pytest.mark.parametrize("who", ["mo_admin_a", "dc_admin"])
@pytest.mark.parametrize(("title", "url", "params", "page"), PAGES, ids=[p[0] for p in PAGES])
def test_page_50_and_a_full_page_cost_the_queries_of_page_1(
    enter, request, monkeypatch, many, who, title, url, params, page
):
    client = enter(request.getfixturevalue(who))
    if page in ("ppage", "lpage"):
        params = params | {"run": many.pk}
    first = queries(client, url, **params, **{page: 1})
    fiftieth = queries(client, url, **params, **{page: 50})
    assert fiftieth == first, f"{title}: {first} queries on page 1, {fiftieth} on page 50"
    page_size(monkeypatch, 20)
    full = queries(client, url, **params, **{page: 1})
    assert full == first, f"{title}: {first} queries for one row, {full} for twenty"


@pytest.mark.parametrize("who", ["mo_admin_a", "dc_admin"])
def test_the_dashboard_costs_the_same_with_more_packages(enter, request, many, who):
    client = enter(request.getfixturevalue(who))
    before = queries(client, "/journal/dashboard/")
    Package.objects.bulk_create(
        Package(
            uuid=uuid.uuid4(),
            service=many.service,
            run=many,
            mo=many.mo,
            package_type="PERSONATTACH",
            operation="Insert",
            status=S.SEND_ERROR,
            content_hash="h",
        )
        for _ in range(ROWS)
    )
    assert queries(client, "/journal/dashboard/") == before
