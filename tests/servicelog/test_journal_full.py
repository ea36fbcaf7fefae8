"""The full journal (E1–E5): packages of a run, data and reply, "do not send", resend, search, print,
export, dashboard, e-mails, the audit page (A5) and the API — each scoped by МО."""

from __future__ import annotations

import datetime as dt
import uuid
import zipfile
from io import BytesIO

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from servicelog.models import AuditAction, AuditEvent, Package, PackageStatus, RunResult, ServiceRun
from servicelog.notify import notify_overdue
from servicelog.registry import package_type_title
from servicelog.services import log_write, run_finish, run_open

S = PackageStatus
pytestmark = pytest.mark.django_db


def make(
    run, mo, status, *, enp="", snils="", fio="", package_type="DISTRICT", result="", reply=None, **extra
):
    return Package.objects.create(
        uuid=uuid.uuid4(),
        service=run.service,
        run=run,
        mo=mo,
        package_type=package_type,
        operation="Insert",
        status=status,
        content_hash="h",
        payload={"LPUREGION_ID": "7", "LPUREGION_NAME": "12"},
        enp=enp,
        snils=snils,
        fio=fio,
        result=result or PackageStatus(status).label,
        reply=reply,
        **extra,
    )


@pytest.fixture
def world(mo_a, mo_b):
    run_a = run_open("tfoms_auto", mo=mo_a)
    ok = make(
        run_a,
        mo_a,
        S.ACCEPTED,
        enp="5956410834000014",
        fio="ИВАНОВ ИВАН",
        reply={"RESULT": "OK", "ERRORS": [], "message_id": "R-1"},
    )
    failed = make(
        run_a, mo_a, S.SEND_ERROR, snils="11223344595", result="Ошибка отправки пакета: канал закрыт"
    )
    rejected = make(
        run_a,
        mo_a,
        S.REJECTED_BY_FUND,
        package_type="PERSONATTACH",
        result="Получен ответ с ошибкой: 904 Участок не найден",
        reply={"RESULT": "ERROR", "ERRORS": [{"RESULT_CODE": "904", "RESULT_NAME": "Участок не найден"}]},
    )
    waiting = make(run_a, mo_a, S.SENT)
    Package.objects.filter(pk=waiting.pk).update(status_changed_at=timezone.now() - dt.timedelta(hours=7))
    log_write(run=run_a, package=ok, message="Принят ТФОМС")
    run_finish(run_a)
    run_b = run_open("tfoms_auto", mo=mo_b)
    foreign = make(run_b, mo_b, S.SEND_ERROR, enp="5956410884000013")
    run_finish(run_b)
    return {
        "run_a": run_a,
        "ok": ok,
        "failed": failed,
        "rejected": rejected,
        "waiting": waiting,
        "run_b": run_b,
        "foreign": foreign,
    }


def journal(client, run, **params):
    response = client.get("/journal/", {"service": "tfoms_auto", "run": run.pk, **params})
    assert response.status_code == 200
    return response.content.decode()


def test_package_columns_of_the_run(enter, mo_admin_a, world):
    html = journal(enter(mo_admin_a), world["run_a"])
    for column in (
        "Не отправлять пакет",
        "Дата/время",
        "Тип пакета",
        "Операция",
        "Статус пакета",
        "Результат",
        "Данные пакета",
        "Ответ",
    ):
        assert f"<th>{column}</th>" in html
    assert html.count('data-package="') == 4
    assert "Ошибка отправки пакета: канал закрыт" in html and "PERSONATTACH" in html
    assert "нет ответа 7 ч" in html


def test_status_filter(enter, mo_admin_a, world):
    html = journal(enter(mo_admin_a), world["run_a"], status=S.SEND_ERROR)
    assert html.count('data-package="') == 1 and f'data-package="{world["failed"].pk}"' in html


def test_do_not_send_is_offered_for_every_outbound_package(enter, mo_admin_a, world):
    """§4.6.3 (issue 15 item 3): the flag only ever stops a future send, so an accepted package can
    carry it too; the button is never greyed out."""
    html = journal(enter(mo_admin_a), world["run_a"])
    accepted_row = html[html.index(f'data-package="{world["ok"].pk}"') :].split("</tr>")[0]
    failed_row = html[html.index(f'data-package="{world["failed"].pk}"') :].split("</tr>")[0]
    for row in (accepted_row, failed_row):
        assert 'data-testid="do-not-send">' in row and "disabled>Не отправлять" not in row


def test_do_not_send_set_and_cleared_with_log_and_audit(enter, mo_admin_a, world):
    client = enter(mo_admin_a)
    failed = world["failed"]
    client.post(f"/journal/packages/{failed.pk}/do-not-send/", {"value": "1", "reason": "дубль"})
    failed.refresh_from_db()
    assert (
        failed.do_not_send
        and failed.do_not_send_by == mo_admin_a.user
        and failed.do_not_send_reason == "дубль"
    )
    html = journal(client, world["run_a"])
    row = html[html.index(f'data-package="{failed.pk}"') :].split("</tr>")[0]
    assert 'data-testid="allow-send"' in row and 'data-testid="do-not-send"' not in row
    client.post(f"/journal/packages/{failed.pk}/do-not-send/", {"value": "0"})
    failed.refresh_from_db()
    assert not failed.do_not_send
    messages = list(failed.log.values_list("message", flat=True))
    assert (
        "Установлен запрет отправки (mo_admin_a): дубль" in messages
        and "Снят запрет отправки (mo_admin_a)" in messages
    )
    assert AuditEvent.objects.filter(action=AuditAction.DO_NOT_SEND, object_id=str(failed.pk)).count() == 2
    page = client.post(f"/journal/packages/{world['ok'].pk}/do-not-send/", {"value": "1"}, follow=True)
    assert "Запрет отправки установлен." in page.content.decode()
    ok = world["ok"]
    ok.refresh_from_db()
    assert ok.do_not_send and ok.status == S.ACCEPTED  # nothing else about it changed
    assert ok.log.filter(
        message__endswith="Пакет уже передан в ТФОМС: запрет действует на повторные отправки"
    ).exists()


def test_resend_single_and_bulk_as_new_attempts(enter, mo_admin_a, world):
    client = enter(mo_admin_a)
    ids = [world["failed"].pk, world["rejected"].pk, world["ok"].pk]
    html = client.post("/journal/packages/resend/", {"package": ids}, follow=True).content.decode()
    assert "Поставлено на повторную отправку пакетов: 2" in html
    assert "Повторно отправляется пакет с ошибкой отправки или отклонённый ТФОМС" in html
    for key in ("failed", "rejected"):
        package = Package.objects.get(pk=world[key].pk)
        assert package.status == S.FORMED and package.message_id == world[key].message_id
        assert package.log.filter(message="Повторная отправка (mo_admin_a)").exists()
    again = client.post("/journal/packages/resend/", {"package": ids[:1]}, follow=True).content.decode()
    assert "Поставлено на повторную отправку" not in again  # a package is resent once per failure
    assert AuditEvent.objects.filter(action=AuditAction.RESEND).count() == 2


def test_resend_of_a_flagged_package_is_refused(enter, mo_admin_a, world):
    client = enter(mo_admin_a)
    Package.objects.filter(pk=world["failed"].pk).update(do_not_send=True)
    html = client.post(
        "/journal/packages/resend/", {"package": [world["failed"].pk]}, follow=True
    ).content.decode()
    assert "запрет отправки" in html and Package.objects.get(pk=world["failed"].pk).status == S.SEND_ERROR


def test_package_data_and_reply_are_shown_and_viewing_is_audited(enter, mo_admin_a, world):
    html = enter(mo_admin_a).get(f"/journal/packages/{world['rejected'].pk}/").content.decode()
    assert "<th>LPUREGION_NAME</th><td>12</td>" in html
    assert "Участок не найден" in html and "Ошибка 904" in html
    assert AuditEvent.objects.filter(
        action=AuditAction.PACKAGE_DATA_VIEWED, object_id=str(world["rejected"].pk)
    ).exists()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "5956410834000014"}, {"ok"}),
        ({"q": "112-233-445 95"}, {"failed"}),
        ({"q": "иванов"}, {"ok"}),
        ({"type": "personattach"}, {"rejected"}),
        ({"status": S.SENT}, {"waiting"}),
        ({"text": "канал"}, {"failed"}),
        ({"date_from": "2000-01-01", "date_to": "2000-01-02"}, set()),
    ],
)
def test_search_by_person_type_status_text_date(enter, mo_admin_a, world, params, expected):
    html = enter(mo_admin_a).get("/journal/search/", params).content.decode()
    found = {
        key
        for key in ("ok", "failed", "rejected", "waiting", "foreign")
        if f'data-package="{world[key].pk}"' in html
    }
    assert found == expected


def test_search_never_reaches_another_mo(enter, mo_admin_a, dc_admin, world):
    assert (
        f'data-package="{world["foreign"].pk}"'
        not in enter(mo_admin_a).get("/journal/search/", {"q": "5956410884000013"}).content.decode()
    )
    html = enter(dc_admin).get("/journal/search/", {"mo": "590002", "status": S.SEND_ERROR}).content.decode()
    assert (
        f'data-package="{world["foreign"].pk}"' in html and f'data-package="{world["failed"].pk}"' not in html
    )


def test_print_pages(enter, mo_admin_a, world):
    client = enter(mo_admin_a)
    run_page = client.get(
        "/journal/print/", {"service": "tfoms_auto", "run": world["run_a"].pk}
    ).content.decode()
    assert "data-print-on-load" in run_page and 'data-testid="print-run"' in run_page
    assert "<td>4</td><td>2</td>" in run_page and "Принят ТФОМС" in run_page
    # the print of a run names its packages as the detailed log does: GUID and type (issue 15 item 2)
    assert "<th>Идентификатор пакета</th><th>Тип пакета</th>" in run_page
    assert world["ok"].message_id in run_page
    list_page = client.get("/journal/print/", {"service": "tfoms_auto"}).content.decode()
    assert 'data-testid="print-list"' in list_page and "весь регион" not in list_page
    assert list_page.count("<tr><td>") == 1  # МО A's run only


def test_exports_csv_and_xlsx_with_filters_and_audit(enter, mo_admin_a, world):
    client = enter(mo_admin_a)
    response = client.get("/journal/export/packages.csv", {"run": world["run_a"].pk, "status": S.SEND_ERROR})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().split("\r\n")
    assert lines[0].startswith("Не отправлять пакет;Дата/время;Тип пакета")
    assert len(lines) == 2 and "Ошибка отправки пакета: канал закрыт" in lines[1]
    runs = b"".join(
        client.get("/journal/export/runs.csv", {"service": "tfoms_auto"}).streaming_content
    ).decode("utf-8-sig")
    assert runs.strip().split("\r\n")[1].endswith(";590001;4;2;По расписанию")
    xlsx = client.get("/journal/export/log.xlsx", {"service": "tfoms_auto", "run": world["run_a"].pk})
    archive = zipfile.ZipFile(BytesIO(b"".join(xlsx.streaming_content)))
    sheet = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "Принят ТФОМС" in sheet and "Сообщение" in sheet
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 3


def test_dashboard_counts_by_status(enter, mo_admin_a, world):
    html = enter(mo_admin_a).get("/journal/dashboard/", {"days": "7"}).content.decode()
    assert 'data-testid="chart"' in html and "пакетов 4" in html
    assert "Ошибка отправки: 1" in html and "Принят ТФОМС: 1" in html


def test_run_failure_and_overdue_are_mailed_to_dc_admins(dc_admin, mo_a, world):
    dc_admin.user.email = "cod@example.org"
    dc_admin.user.save()
    run = run_open("tfoms_auto", mo=mo_a)
    log_write(run=run, level="error", message="Пакет не сформирован: нет врача")
    run_finish(run)
    assert run.result == RunResult.ERROR
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["cod@example.org"]
    assert "завершён с ошибкой" in mail.outbox[0].subject and "нет врача" in mail.outbox[0].body
    assert notify_overdue() == 1  # the package sent 7 hours ago
    assert "нет ответа" in mail.outbox[1].subject.lower() and "МО 590001: 1" in mail.outbox[1].body
    assert notify_overdue() == 0  # once per package


def test_audit_page_is_for_the_dc_admin_and_filters(enter, dc_admin, mo_admin_a, world):
    client = enter(dc_admin)
    AuditEvent.objects.create(username="someone", action=AuditAction.EXPORT, mo=mo_admin_a.mo)
    AuditEvent.objects.create(username="other", action=AuditAction.LOGIN)
    html = client.get("/audit/", {"who": "some", "action": "export", "mo": "590001"}).content.decode()
    table = html[html.index('data-testid="audit"') :]
    assert "someone" in table and "other" not in table
    assert '<form method="post"' not in html.split("<main>")[1]
    response = enter(mo_admin_a).get("/audit/", follow=True)
    assert "недоступна в вашем АРМ" in response.content.decode()


def test_statistician_reads_but_cannot_act(enter, statistician_a, world):
    client = enter(statistician_a)
    html = journal(client, world["run_a"])
    assert 'data-testid="resend"' not in html and 'data-testid="do-not-send"' not in html
    client.post(f"/journal/packages/{world['failed'].pk}/do-not-send/", {"value": "1"})
    client.post("/journal/packages/resend/", {"package": [world["failed"].pk]})
    failed = Package.objects.get(pk=world["failed"].pk)
    assert not failed.do_not_send and failed.status == S.SEND_ERROR


@pytest.mark.parametrize(
    "url",
    [
        "/journal/packages/{foreign}/",
        "/journal/print/?service=tfoms_auto&run={run_b}",
        "/journal/export/log.csv?service=tfoms_auto&run={run_b}",
        "/journal/?service=tfoms_auto&run={run_b}",
    ],
)
def test_another_mo_gets_404_on_pages_and_downloads(enter, mo_admin_a, world, url):
    target = url.format(foreign=world["foreign"].pk, run_b=world["run_b"].pk)
    assert enter(mo_admin_a).get(target).status_code == 404


@pytest.mark.parametrize("path", ["/journal/packages/{foreign}/do-not-send/", "/journal/packages/resend/"])
def test_another_mo_gets_404_on_actions(enter, mo_admin_a, world, path):
    response = enter(mo_admin_a).post(
        path.format(foreign=world["foreign"].pk), {"value": "1", "package": [world["foreign"].pk]}
    )
    assert response.status_code == 404
    foreign = Package.objects.get(pk=world["foreign"].pk)
    assert not foreign.do_not_send and foreign.status == S.SEND_ERROR


# --- API ------------------------------------------------------------------------------------------


def api(workplace, enter):
    enter(workplace)
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/",
        {"username": workplace.user.username, "password": "secret-pass-1"},
        format="json",
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_api_lists_and_detail(enter, mo_admin_a, world):
    client = api(mo_admin_a, enter)
    services = client.get("/api/v1/servicelog/services/").json()
    assert "tfoms_auto" in {s["code"] for s in services}
    runs = client.get("/api/v1/servicelog/runs/", {"service": "tfoms_auto"}).json()["results"]
    no_service = client.get("/api/v1/servicelog/runs/")  # issue 15 item 15: a 400 that says what to add
    assert no_service.status_code == 400 and "Укажите сервис" in str(no_service.json()["service"])
    assert [(r["id"], r["packages_total"], r["packages_with_errors"]) for r in runs] == [
        (world["run_a"].pk, 4, 2)
    ]
    packages = client.get("/api/v1/servicelog/packages/", {"status": S.SEND_ERROR}).json()["results"]
    assert [p["id"] for p in packages] == [world["failed"].pk]
    assert client.get("/api/v1/servicelog/packages/", {"q": "5956410834000014"}).json()["count"] == 1
    detail = client.get(f"/api/v1/servicelog/packages/{world['rejected'].pk}/").json()
    assert detail["payload"]["LPUREGION_NAME"] == "12" and detail["reply"]["RESULT"] == "ERROR"


def test_api_actions(enter, mo_admin_a, world):
    client = api(mo_admin_a, enter)
    failed = world["failed"].pk
    assert client.post(
        f"/api/v1/servicelog/packages/{failed}/do-not-send/", {"value": True}, format="json"
    ).json()["do_not_send"]
    assert client.post(f"/api/v1/servicelog/packages/{failed}/resend/").status_code == 409
    client.post(f"/api/v1/servicelog/packages/{failed}/do-not-send/", {"value": False}, format="json")
    assert client.post(f"/api/v1/servicelog/packages/{failed}/resend/").json()["status"] == S.FORMED
    from tests.factories import SiteFactory

    SiteFactory(mo=mo_admin_a.mo)  # the start sends a district: the next one within the hour is refused
    started = client.post("/api/v1/servicelog/services/tfoms_auto/start/")
    assert started.status_code == 202 and started.json()["mo"] == "590001"
    assert (
        client.post("/api/v1/servicelog/services/tfoms_auto/start/").status_code == 409
    )  # the manual timeout


def test_api_statistician_gets_403_on_actions(enter, statistician_a, world):
    client = api(statistician_a, enter)
    assert client.get("/api/v1/servicelog/packages/").status_code == 200
    assert client.post(f"/api/v1/servicelog/packages/{world['failed'].pk}/resend/").status_code == 403
    assert (
        client.post(
            f"/api/v1/servicelog/packages/{world['failed'].pk}/do-not-send/", {"value": True}, format="json"
        ).status_code
        == 403
    )
    assert client.post("/api/v1/servicelog/services/tfoms_auto/start/").status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/servicelog/packages/{foreign}/"),
        ("post", "/api/v1/servicelog/packages/{foreign}/resend/"),
        ("post", "/api/v1/servicelog/packages/{foreign}/do-not-send/"),
    ],
)
def test_api_another_mo_gets_404(enter, mo_admin_a, world, method, path):
    client = api(mo_admin_a, enter)
    response = getattr(client, method)(
        path.format(foreign=world["foreign"].pk), {"value": True}, format="json"
    )
    assert response.status_code == 404
    assert world["foreign"].pk not in [
        p["id"] for p in client.get("/api/v1/servicelog/packages/").json()["results"]
    ]
    runs = client.get("/api/v1/servicelog/runs/", {"service": "tfoms_auto", "mo": "590002"}).json()["results"]
    assert runs == []


def test_openapi_lists_the_journal_endpoints(enter, mo_admin_a):
    schema = enter(mo_admin_a).get("/api/schema/").content.decode()
    for path in (
        "/api/v1/servicelog/services/",
        "/api/v1/servicelog/runs/",
        "/api/v1/servicelog/packages/{id}/resend/",
        "/api/v1/servicelog/packages/{id}/do-not-send/",
        "/api/v1/servicelog/services/{code}/start/",
    ):
        assert path in schema


@pytest.mark.parametrize(
    "url",
    [
        "/journal/?service=tfoms_auto&run=²",
        "/journal/?service=tfoms_auto&run=99999999999999999999",
        "/journal/search/?run=²&q=x",
        "/journal/print/?service=tfoms_auto&run=²",
        "/journal/dashboard/?days=²",
        "/journal/export/packages.csv?run=99999999999999999999",
        "/identification/?package=²",
        "/identification/?package=99999999999999999999",
        "/identification/?mode=month&date_from=0001-01-15&go=back",
        "/identification/?mode=day&date_from=9999-12-31&go=forward",
        "/api/v1/servicelog/packages/?run=99999999999999999999",
        "/api/v1/servicelog/packages/²/",
    ],
)
def test_odd_ids_and_dates_never_give_a_500(enter, dc_admin, world, url):
    response = enter(dc_admin).get(url)
    assert response.status_code in (200, 404), (url, response.status_code)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)


def test_old_finished_packages_lose_their_personal_data_but_keep_metadata(world):
    from servicelog.services import packages_purge_bodies

    Package.objects.update(body="<PKG>Иванов</PKG>")
    Package.objects.filter(pk__in=[world["ok"].pk, world["failed"].pk]).update(
        created_at=timezone.now() - dt.timedelta(days=400)
    )
    assert packages_purge_bodies(older_than_days=365) == 1  # the failed one still waits for a person
    ok = Package.objects.get(pk=world["ok"].pk)
    assert (ok.body, ok.payload, ok.enp, ok.fio) == ("", {}, "", "")
    assert ok.status == S.ACCEPTED and ok.package_type == "DISTRICT" and ok.reply["RESULT"] == "OK"
    assert Package.objects.get(pk=world["failed"].pk).body


def test_audit_page_speaks_russian(enter, dc_admin, world):
    client = enter(dc_admin)
    client.get(f"/journal/packages/{world['ok'].pk}/")
    html = client.get("/audit/").content.decode()
    table = html[html.index('data-testid="audit"') :]
    ok = world["ok"]
    assert f"пакет: «{package_type_title(ok.package_type)}» {ok.message_id}" in table
    assert "servicelog.Package" not in table and "АРМ администратора ЦОД" in table


def test_audit_names_objects_in_words_with_russian_details_and_filters_by_object(enter, dc_admin, mo_a):
    """Issue 15 item 8: МО, person, package and run by name; details with Russian labels; the object
    filter finds a person by ФИО (ё = е) and a package by its GUID."""
    from tests.factories import AttachmentFactory, PersonFactory

    person = PersonFactory(last_name="Семёнова", first_name="Алёна", middle_name="Петровна")
    AttachmentFactory(person=person, mo=mo_a)
    client = enter(dc_admin)
    client.get(f"/persons/{person.pk}/")
    client.post("/journal/tfoms_auto/start/")
    client.get("/journal/export/runs.csv", {"service": "tfoms_auto"})
    html = client.get("/audit/").content.decode()
    table = html[html.index('data-testid="audit"') :]
    assert f"человек: Семёнова Алёна Петровна, {person.birth_date:%d.%m.%Y} г. р." in table
    assert "запуск сервиса: «Сервис автоматизированного взаимодействия с ТФОМС» от " in table
    assert "что выгружено: список запусков; формат: csv; сервис: tfoms_auto" in table
    assert "kind:" not in table and "format:" not in table
    found = client.get("/audit/", {"object": "семенова"}).content.decode()
    found = found[found.index('data-testid="audit"') :]
    assert "Семёнова Алёна" in found and "запуск сервиса: «" not in found


def test_a_start_with_the_task_queue_down_closes_the_run(enter, mo_admin_a, monkeypatch, settings):
    from servicelog import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Connection refused")

    settings.TFOMS_BACKGROUND = "celery"
    monkeypatch.setattr(tasks.execute_run, "apply_async", broker_down)
    html = enter(mo_admin_a).post("/journal/tfoms_auto/start/", follow=True).content.decode()
    assert "запуск завершён с ошибкой, подробности в журнале запуска" in html
    run = ServiceRun.objects.get(trigger="manual")
    assert run.result == RunResult.ERROR and run.log.filter(message__contains="Connection refused").exists()


@pytest.mark.parametrize(
    "url",
    [
        "/journal/export/packages.csv?run={run}",
        "/journal/search/?run={run}",
        "/api/v1/servicelog/packages/?run={run}",
    ],
)
def test_another_mos_run_is_not_found_not_an_empty_list(enter, mo_admin_a, world, url):
    """A4, issue 15: naming МО B's run gives 404, not an empty list that says it exists."""
    client = enter(mo_admin_a)
    assert client.get(url.format(run=world["run_b"].pk)).status_code == 404
    assert client.get(url.format(run=world["run_a"].pk)).status_code == 200
