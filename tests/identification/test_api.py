"""The identification API (issue 5 item 7): the same rules and scoping as the page."""

from __future__ import annotations

import io

import pytest
from rest_framework.test import APIClient

from .conftest import identified, refused, request_rows, response_dbf

pytestmark = pytest.mark.django_db


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


def upload(client, name, data):
    file = io.BytesIO(data)
    file.name = name
    return client.post("/api/v1/identification/responses/", {"file": file}, format="multipart")


def test_packages_request_file_and_response(enter, mo_admin_a, package, smo):
    client = api(mo_admin_a, enter)
    listed = client.get("/api/v1/identification/packages/", {"answered": "false"}).json()
    assert [p["name"] for p in listed] == [package.name] and listed[0]["records"] == 3
    file = client.get(f"/api/v1/identification/packages/{package.pk}/request-file/")
    assert file.status_code == 200 and file.content == bytes(package.request_file)
    rows = request_rows(package)
    result = upload(
        client, package.file_name, response_dbf([identified(rows[0]), refused(rows[1], "Р01=Не найден")])
    )
    assert result.status_code == 200, result.content
    body = result.json()
    assert (
        body["package"],
        body["matched"],
        body["identified"],
        body["not_identified"],
        body["no_data"],
    ) == (package.name, 2, 1, 1, 1)
    assert "Р01=Не найден" in body["errors"] and "Данные от ТФОМС не получены" in body["errors"]
    assert client.get(f"/api/v1/identification/packages/{package.pk}/request-file/").status_code == 409
    assert client.get("/api/v1/identification/packages/", {"answered": "true"}).json()[0]["identified"] == 1


def test_refusals_are_4xx_with_the_message(enter, mo_admin_a, package):
    client = api(mo_admin_a, enter)
    response = upload(client, "nope.DBF", b"x")
    assert response.status_code == 400 and "не найден" in response.json()["detail"]
    assert client.post("/api/v1/identification/responses/", {}, format="multipart").status_code == 400
    assert client.get("/api/v1/identification/packages/", {"date_from": "вчера"}).status_code == 400


def test_another_mo_gets_404_and_the_statistician_403(enter, mo_admin_b, statistician_a, package, smo):
    client = api(mo_admin_b, enter)
    assert client.get(f"/api/v1/identification/packages/{package.pk}/request-file/").status_code == 404
    assert client.get("/api/v1/identification/packages/").json() == []
    rows = request_rows(package)
    response = upload(client, package.file_name, response_dbf([identified(r) for r in rows]))
    assert response.status_code == 400 and "другой МО" in response.json()["detail"]
    assert api(statistician_a, enter).get("/api/v1/identification/packages/").status_code == 403


def test_the_default_window_is_the_regions_today_not_utc(enter, mo_admin_a, package, monkeypatch):
    """Issue 15 item 13: at 02:00 local time (21:00 UTC the day before) the default window of
    `GET …/packages/` still holds a package formed at 01:30 local time today."""
    import datetime as dt

    from django.utils import timezone

    from identification.models import IdentificationPackage

    local = timezone.get_current_timezone()
    formed = dt.datetime(2027, 3, 10, 1, 30, tzinfo=local)
    IdentificationPackage.objects.filter(pk=package.pk).update(formed_at=formed)
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2027, 3, 10, 2, 0, tzinfo=local))
    client = api(mo_admin_a, enter)
    assert [p["name"] for p in client.get("/api/v1/identification/packages/").json()] == [package.name]
