"""The form (B1), the card's button and history (B2, B7), the case view; scoping (A4) and audit (A5)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone

from identification.models import IdentificationPackage
from registry.models import Person
from servicelog.models import AuditAction, AuditEvent
from tests.factories import CaseFactory

from .conftest import identified, refused, request_rows, response_dbf

pytestmark = pytest.mark.django_db
NOV = {"mode": "month", "date_from": "2026-11-01", "date_to": "2026-11-30"}


@pytest.fixture(autouse=True)
def formed_in_november(package):
    IdentificationPackage.objects.filter(pk=package.pk).update(
        formed_at=dt.datetime(2026, 11, 26, 10, 0, tzinfo=timezone.get_current_timezone())
    )


def page(client, **params) -> str:
    response = client.get("/identification/", {**NOV, **params})
    assert response.status_code == 200
    return response.content.decode()


def test_packages_pane_and_records_pane(enter, mo_admin_a, package):
    html = page(enter(mo_admin_a), package=package.pk)
    assert 'data-package="590001_26112026_1"' in html and "Ответ не загружен" in html
    records = html[html.index('data-testid="records"') :]
    assert records.count('data-status="waiting"') == 3 and "Иванов" in records
    assert 'data-testid="download"' in html


def test_counts_after_a_response(enter, mo_admin_a, package, smo):
    client = enter(mo_admin_a)
    rows = request_rows(package)
    upload = io.BytesIO(response_dbf([identified(rows[0]), identified(rows[1])]))
    upload.name = package.file_name
    response = client.post("/identification/upload/", {"file": upload, **NOV}, follow=True)
    html = response.content.decode()
    assert "идентифицировано 2, не идентифицировано 0, нет данных от ТФОМС 1" in html
    row = html[html.index('data-package="590001_26112026_1"') :]
    row = row[: row.index("</tr>")]
    assert "Ответ загружен" in row and "<td>1</td>" in row and "<td>2</td>" in row
    assert 'data-testid="download"' not in html  # only while no response is loaded
    assert AuditEvent.objects.filter(action=AuditAction.UPLOAD, object_id=str(package.pk)).exists()


def test_period_navigation_and_show_filter(enter, mo_admin_a, package):
    client = enter(mo_admin_a)
    assert "590001_26112026_1" not in page(client, go="back")  # October
    assert "590001_26112026_1" in page(client, go="week", date_from="2026-11-24")
    assert "590001_26112026_1" not in page(client, go="day", date_from="2026-11-25")
    assert "590001_26112026_1" in page(client, mode="day", date_from="2026-11-26", date_to="2026-11-26")
    assert "590001_26112026_1" not in page(client, show="answered")
    assert "590001_26112026_1" in page(client, show="unanswered")


def test_column_search(enter, mo_admin_a, package):
    client = enter(mo_admin_a)
    html = page(client, package=package.pk, q_patient="петр")
    records = html[html.index('data-testid="records"') :]
    assert ">Петров " in records and ">Иванов " not in records
    html = page(client, package=package.pk, q_status="identified")
    assert "Нет записей" in html


def test_download_is_the_request_file_and_is_audited(enter, mo_admin_a, package):
    response = enter(mo_admin_a).get(f"/identification/{package.pk}/request/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="590001_26112026_1.DBF"'
    assert response.content == bytes(package.request_file)
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD, object_id=str(package.pk)).exists()


def test_upload_refusals_show_messages(enter, mo_admin_a, package):
    client = enter(mo_admin_a)
    wrong = io.BytesIO(b"x")
    wrong.name = "answer.xls"
    html = client.post("/identification/upload/", {"file": wrong}, follow=True).content.decode()
    assert "только файлы ответа в формате .DBF" in html
    broken = io.BytesIO(b"garbage" * 20)
    broken.name = package.file_name
    html = client.post("/identification/upload/", {"file": broken}, follow=True).content.decode()
    assert "не загружен" in html


def test_delete_removes_package(enter, mo_admin_a, package):
    client = enter(mo_admin_a)
    html = client.post(f"/identification/{package.pk}/delete/", NOV, follow=True).content.decode()
    assert "удалён" in html and not IdentificationPackage.objects.exists()


def test_other_mo_gets_404_everywhere(enter, mo_admin_b, package):
    client = enter(mo_admin_b)
    assert "590001_26112026_1" not in page(client)
    assert client.get("/identification/", {"package": package.pk}).status_code == 404
    assert client.get(f"/identification/{package.pk}/request/").status_code == 404
    assert client.post(f"/identification/{package.pk}/delete/").status_code == 404
    assert IdentificationPackage.objects.exists()


def test_mo_admin_b_cannot_upload_a_response_of_mo_a(enter, mo_admin_b, package, smo):
    rows = request_rows(package)
    upload = io.BytesIO(response_dbf([identified(r) for r in rows]))
    upload.name = package.file_name
    html = enter(mo_admin_b).post("/identification/upload/", {"file": upload}, follow=True).content.decode()
    assert "относится к другой МО" in html


def test_dc_admin_sees_all_and_statistician_none(enter, dc_admin, statistician_a, mo_b, package):
    assert "590001_26112026_1" in page(enter(dc_admin))
    response = enter(statistician_a).get("/identification/", follow=True)
    assert "недоступна в вашем АРМ" in response.content.decode()


def test_identify_button_queues_the_person(enter, mo_admin_a, package):
    person = package.records.first().person
    client = enter(mo_admin_a)
    html = client.get(f"/persons/{person.pk}/").content.decode()
    assert 'data-testid="identify"' in html and 'data-testid="identification-history"' in html
    assert package.name in html  # the history (B7)
    html = client.post(f"/persons/{person.pk}/identify/", follow=True).content.decode()
    word = "поставлена" if person.sex == 2 else "поставлен"  # the form of the person's sex (issue 15)
    assert f"{person.full_name} {word} в очередь на идентификацию" in html and "(а)" not in html
    person.refresh_from_db()
    assert person.identification_request_reason == Person.IdentificationReason.MANUAL
    assert person.identification_request_mo == mo_admin_a.mo
    assert AuditEvent.objects.filter(action=AuditAction.IDENTIFY_REQUEST, object_id=str(person.pk)).exists()


def test_identify_and_case_of_another_mo_are_404(enter, mo_admin_b, mo_a, package):
    person = package.records.first().person
    case = CaseFactory(person=person, mo=mo_a)
    client = enter(mo_admin_b)
    assert client.post(f"/persons/{person.pk}/identify/").status_code == 404
    assert client.get(f"/cases/{case.pk}/").status_code == 404


def test_case_view_is_read_only(enter, mo_admin_a, mo_a, package):
    person = package.records.first().person
    case = CaseFactory(person=person, mo=mo_a, number="777")
    html = enter(mo_admin_a).get(f"/cases/{case.pk}/").content.decode()
    assert "№ 777" in html and "только для чтения" in html and "<form" not in html.split("<main>")[1]


def test_delete_requeues_the_waiting_and_the_next_name_does_not_collide(
    enter, mo_admin_a, package, mo_a, django_capture_on_commit_callbacks
):
    from identification.services import ident_packages_form
    from identification.services import out_dir as request_folder

    client = enter(mo_admin_a)
    assert (request_folder() / package.file_name).exists()
    with django_capture_on_commit_callbacks(execute=True):
        html = client.post(f"/identification/{package.pk}/delete/", NOV, follow=True).content.decode()
    assert "снова в очереди на идентификацию: 3" in html
    assert (
        Person.objects.filter(
            identification_requested_at__isnull=False, identification_request_mo=mo_a
        ).count()
        == 3
    )
    assert not (request_folder() / package.file_name).exists()
    IdentificationPackage.objects.create(name="590001_26112026_2", mo=mo_a, formed_at=timezone.now())
    (again,) = ident_packages_form(run=None, mo=mo_a, today=dt.date(2026, 11, 26))
    assert again.name == "590001_26112026_3" and again.records.count() == 3


def test_cyrillic_error_codes_are_found_as_shown(enter, mo_admin_a, package):
    """Issue 15 item 4: "Ошибки" finds Р02 (a Cyrillic Р, as the column shows it)."""
    client = enter(mo_admin_a)
    rows = request_rows(package)
    upload = io.BytesIO(response_dbf([refused(rows[0], "Р02")]))
    upload.name = package.file_name
    client.post("/identification/upload/", {"file": upload, **NOV})
    html = page(client, package=package.pk, q_errors="р02")
    records = html[html.index('data-testid="records"') :]
    assert records.count("<tr data-status=") == 1 and "Р02" in records


def test_the_result_speaks_words_smo_by_name_dates_and_old_policies(enter, mo_admin_a, package, smo):
    """Issue 15 item 4: "Результат запроса" names the СМО, writes dates as ДД.ММ.ГГГГ and gives the
    series and number of an old-style policy."""
    from registry.models import NsiEntry

    NsiEntry.objects.get_or_create(directory="F008", code="1", defaults={"name": "Полис ОМС старого образца"})
    client = enter(mo_admin_a)
    rows = request_rows(package)
    old_style = {**identified(rows[0], ropdoc=1, enp=""), "RSPOL": "59АБ", "RNPOL": "123456"}
    upload = io.BytesIO(response_dbf([old_style, identified(rows[1])]))
    upload.name = package.file_name
    client.post("/identification/upload/", {"file": upload, **NOV})
    records = page(client, package=package.pk)
    records = records[records.index('data-testid="records"') :]
    assert "СМО: СОГАЗ-Мед (59021)" in records and "действует с 01.01.2026" in records
    assert "серия 59АБ № 123456" in records and "Полис ОМС старого образца" in records
    assert "ЕНП 5956410834000014" in records and "2026-01-01" not in records


def test_selection_searches_and_show_survive_upload_filter_and_delete(enter, mo_admin_a, package, smo):
    """Issue 15 item 4: every action comes back to the form as the user left it."""
    client = enter(mo_admin_a)
    state = {**NOV, "show": "unanswered", "package": package.pk, "q_patient": "Ив", "q_status": "waiting"}
    html = page(client, **state)
    for form_field in (
        'name="package" value="',
        'name="q_patient" value="Ив"',
        'name="show" value="unanswered"',
    ):
        assert form_field in html  # carried by the upload, delete, "Показать" and period forms
    rows = request_rows(package)
    upload = io.BytesIO(response_dbf([identified(rows[0])]))
    upload.name = package.file_name
    response = client.post("/identification/upload/", {"file": upload, **state})
    assert "q_patient=%D0%98%D0%B2" in response.url and "show=unanswered" in response.url
    assert f"package={package.pk}" in response.url and "q_status=waiting" in response.url
    response = client.post(f"/identification/{package.pk}/delete/", state)
    assert "q_patient=%D0%98%D0%B2" in response.url and "package=" not in response.url


def test_day_shows_today_when_today_is_in_the_shown_period(enter, mo_admin_a, package):
    """ "День" in the current month means today, not the month's first day (issue 15, the run-through)."""
    from django.utils import timezone

    today = timezone.localdate()
    month = {"mode": "month", "date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat()}
    html = enter(mo_admin_a).get("/identification/", {**month, "go": "day"}).content.decode()
    assert f'name="date_from" value="{today.isoformat()}"' in html
