"""GET /api/v1/hospitalisation/referrals/ and …/stays/ (C2, A4) and the person's card section: the
caller's МО's rows with the state of their last package; another МО's person gets 404."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from servicelog.inbox import inbound_handle
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.factories import MoFactory, PersonFactory, WorkplaceFactory
from tests.hospitalisation.conftest import make_movements, make_referral, make_stay
from tfoms_portal import messaging

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]


def cycle(mo):
    service_execute("iszl263", mo=mo)
    relay_run()
    messaging.get_backend().drain([messaging.queue_name(messaging.ISZL_REPLY)], inbound_handle)


@pytest.fixture
def exchanged(region):
    referral = make_referral(region)
    stay = make_stay(region, referral=referral)
    make_movements(stay, region)
    for mo in (region.hospital, region.hospital, region.hospital, region.polyclinic_mo):
        cycle(mo)
    return referral, stay


def test_the_polyclinic_sees_its_referral_with_its_last_package(enter, mo_admin_b, exchanged):
    referral, _stay = exchanged
    client = enter(mo_admin_b)
    (data,) = client.get("/api/v1/hospitalisation/referrals/").json()["results"]
    assert data["id"] == referral.pk and data["number"] == "5900022026000001"
    assert data["last_package"]["status_display"] == "Принят ТФОМС"
    assert data["fund_result"] == "принято: Принято" and data["cancel_package"] is None
    assert client.get("/api/v1/hospitalisation/stays/").json()["results"] == []  # the stay is the hospital's


def test_the_hospital_sees_its_stay_and_movements(enter, mo_admin_a, exchanged):
    _referral, stay = exchanged
    client = enter(mo_admin_a)
    (data,) = client.get("/api/v1/hospitalisation/stays/", {"person": stay.person_id}).json()["results"]
    assert data["card_number"] == "2026-00001" and data["referral"] == "5900022026000001"
    assert data["last_package"]["package_type"] == "HOSPITALISATION"
    assert [m["last_package"]["status_display"] for m in data["movements"]] == ["Принят ТФОМС"] * 2
    assert client.get("/api/v1/hospitalisation/referrals/").json()["results"] == []
    assert client.get("/api/v1/hospitalisation/stays/", {"person": "x"}).status_code == 400


def test_another_mo_gets_404_for_the_person(enter, region, exchanged):
    stranger = PersonFactory()
    other = WorkplaceFactory(user__username="other", mo=MoFactory(code="590009"))
    client = enter(other)
    assert client.get("/api/v1/hospitalisation/referrals/").json()["results"] == []
    assert client.get("/api/v1/hospitalisation/stays/").json()["results"] == []
    for url in ("/api/v1/hospitalisation/referrals/", "/api/v1/hospitalisation/stays/"):
        assert client.get(url, {"person": region.person.pk}).status_code == 404
        assert client.get(url, {"person": stranger.pk}).status_code == 404
    assert client.get(f"/persons/{region.person.pk}/").status_code == 404


def test_the_dc_admin_sees_every_mo(enter, dc_admin, exchanged):
    client = enter(dc_admin)
    assert client.get("/api/v1/hospitalisation/referrals/").json()["count"] == 1
    stays = client.get("/api/v1/hospitalisation/stays/").json()
    assert (stays["count"], len(stays["results"])) == (1, 1)


def test_the_lists_come_a_page_at_a_time_with_a_fixed_number_of_queries(enter, dc_admin, region, exchanged):
    for n in range(30):
        make_movements(make_stay(region, card_number=f"2026-1{n:04d}"), region)
    client = enter(dc_admin)
    page = client.get("/api/v1/hospitalisation/stays/", {"limit": 10, "offset": 10}).json()
    assert page["count"] == 31 and len(page["results"]) == 10
    assert "offset=20" in page["next"] and page["previous"] is not None
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/hospitalisation/stays/", {"limit": 1})
    with CaptureQueriesContext(connection) as thirty:
        client.get("/api/v1/hospitalisation/stays/", {"limit": 30})
    assert len(thirty) == len(one)  # not a query per stay or movement
    assert len(client.get("/api/v1/hospitalisation/stays/", {"limit": 10**7}).json()["results"]) == 31
    far = client.get("/api/v1/hospitalisation/referrals/", {"offset": 10**20})
    assert far.status_code == 200 and far.json()["results"] == []  # an empty page, not a 500


def test_the_card_shows_the_exchange_state(enter, mo_admin_a, region, exchanged):
    html = enter(mo_admin_a).get(f"/persons/{region.person.pk}/").content.decode()
    assert "Госпитализация (приказ 263)" in html and "2026-00001" in html
    assert "Информация о госпитализации, добавление" in html
    assert "Приёмное отделение с 25.11.2026 — принят тфомс" in html


def test_the_card_says_what_a_stay_and_a_referral_wait_for(enter, mo_admin_a, region):
    make_referral(region, mo=region.hospital, from_subdivision=region.outpatient)
    make_stay(region)
    html = enter(mo_admin_a).get(f"/persons/{region.person.pk}/").content.decode()
    assert "ждёт, пока ТФОМС примет отделение «Терапевтическое отделение» МО госпитализации" in html
    assert html.count("ждёт, пока ТФОМС примет отделение «Терапевтическое отделение»") == 2
    for _ in range(2):
        cycle(region.hospital)
    html = enter(mo_admin_a).get(f"/persons/{region.person.pk}/").content.decode()
    assert "ждёт, пока ТФОМС примет отделение" not in html and "Принят ТФОМС" in html
