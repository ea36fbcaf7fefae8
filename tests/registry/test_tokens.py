"""Issue 15 item 12: API tokens without a browser first — workplace choice, hashing, expiry, revocation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from registry.models import ApiToken, Role, Workplace
from servicelog.models import AuditAction, AuditEvent
from tests.factories import UserFactory, WorkplaceFactory

pytestmark = pytest.mark.django_db
PASSWORD = "secret-pass-1"


def token(username: str, password: str = PASSWORD, **extra) -> tuple[int, dict]:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password, **extra}, format="json"
    )
    return response.status_code, response.json()


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_each_demo_user_gets_a_token_straight_after_seed_demo(settings):
    settings.DEMO_PASSWORD = "demo"
    call_command("seed_demo", "--persons", "30", verbosity=0)
    for username in ("mo_admin", "mo_admin2", "statistician"):  # one workplace each
        status, body = token(username, "demo")
        assert status == 200, (username, body)
        me = client_with(body["token"]).get("/api/v1/me/").json()
        assert me["username"] == username and me["workplace"]["id"] == body["workplace"]["id"]
        assert client_with(body["token"]).get("/api/v1/persons/").status_code == 200
    # dc_admin works in three: the 400 lists them, and the one named is taken
    status, body = token("dc_admin", "demo")
    assert status == 400 and "укажите нужное в поле «workplace»" in body["detail"]
    roles = {w["role_title"]: w["id"] for w in body["workplaces"]}
    assert set(roles) >= {"АРМ администратора ЦОД", "АРМ медицинского статистика"}
    status, body = token("dc_admin", "demo", workplace=roles["АРМ администратора ЦОД"])
    assert status == 200
    me = client_with(body["token"]).get("/api/v1/me/").json()
    assert me["workplace"]["role"] == Role.DC_ADMIN and me["token_expiry"]


def test_a_workplace_of_someone_else_is_refused(mo_admin_a, mo_admin_b):
    status, body = token("mo_admin_a", workplace=mo_admin_b.pk)
    assert status == 400 and "недоступно" in body["detail"]
    assert [w["id"] for w in body["workplaces"]] == [mo_admin_a.pk]


def test_the_token_acts_in_its_own_workplace_not_the_default(mo_a, mo_b):
    user = UserFactory(username="two")
    first = WorkplaceFactory(user=user, mo=mo_a, role=Role.MO_ADMIN)
    second = WorkplaceFactory(user=user, mo=mo_b, role=Role.MO_ADMIN)
    _, body_a = token("two", workplace=first.pk)
    _, body_b = token("two", workplace=second.pk)
    assert client_with(body_a["token"]).get("/api/v1/me/").json()["workplace"]["mo"] == mo_a.code
    assert client_with(body_b["token"]).get("/api/v1/me/").json()["workplace"]["mo"] == mo_b.code
    Workplace.objects.filter(pk=first.pk).update(is_active=False)  # a closed workplace stops its token
    assert client_with(body_a["token"]).get("/api/v1/me/").status_code == 403
    # a workplace given to another user in the admin no longer serves the old user's token
    Workplace.objects.filter(pk=second.pk).update(user=UserFactory(username="successor"))
    assert client_with(body_b["token"]).get("/api/v1/me/").status_code == 403


def test_data_is_scoped_by_the_tokens_workplace(mo_a, mo_b):
    """A token for МО Б lists МО Б's persons even when the user's default is МО А."""
    from registry.models import UserProfile
    from tests.factories import AttachmentFactory, PersonFactory

    user = UserFactory(username="three")
    in_a = WorkplaceFactory(user=user, mo=mo_a, role=Role.MO_ADMIN)
    in_b = WorkplaceFactory(user=user, mo=mo_b, role=Role.MO_ADMIN)
    UserProfile.objects.update_or_create(user=user, defaults={"default_workplace": in_a})
    AttachmentFactory(person=PersonFactory(last_name="Авдеев"), mo=mo_a)
    AttachmentFactory(person=PersonFactory(last_name="Бобров"), mo=mo_b)
    _, body = token("three", workplace=in_b.pk)
    names = [p["last_name"] for p in client_with(body["token"]).get("/api/v1/persons/").json()["results"]]
    assert names == ["Бобров"]


def test_tokens_are_stored_hashed_and_expire(mo_admin_a, settings):
    _, body = token("mo_admin_a")
    stored = ApiToken.objects.get()
    assert body["token"] not in (stored.digest, stored.token_key) and len(stored.digest) == 128
    assert client_with(body["token"]).get("/api/v1/me/").status_code == 200
    ApiToken.objects.update(expiry=timezone.now() - dt.timedelta(seconds=1))
    assert client_with(body["token"]).get("/api/v1/me/").status_code == 401


def test_expiry_follows_the_setting(mo_admin_a, settings):
    settings.REST_KNOX = {"TOKEN_TTL": dt.timedelta(hours=2), "AUTH_HEADER_PREFIX": "Token"}
    token("mo_admin_a")
    left = ApiToken.objects.get().expiry - timezone.now()
    assert dt.timedelta(hours=1, minutes=59) < left <= dt.timedelta(hours=2)


def test_a_user_revokes_their_own_token_and_not_anothers(mo_admin_a, mo_admin_b):
    _, mine = token("mo_admin_a")
    _, theirs = token("mo_admin_b")
    client = client_with(mine["token"])
    listed = client.get("/api/v1/auth/tokens/").json()
    assert [t["username"] for t in listed] == ["mo_admin_a"]
    their_id = client_with(theirs["token"]).get("/api/v1/auth/tokens/").json()[0]["id"]
    assert client.delete(f"/api/v1/auth/tokens/{their_id}/").status_code == 404
    assert client.delete(f"/api/v1/auth/tokens/{listed[0]['id']}/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401
    assert client_with(theirs["token"]).get("/api/v1/me/").status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED, username="mo_admin_a").exists()


def test_the_dc_admin_revokes_anyones_token_and_logout_revokes_ones_own(dc_admin, mo_admin_b):
    _, admin = token("dc")
    _, theirs = token("mo_admin_b")
    client = client_with(admin["token"])
    listed = client.get("/api/v1/auth/tokens/", {"user": "mo_admin_b"}).json()
    assert [t["username"] for t in listed] == ["mo_admin_b"]
    assert client.delete(f"/api/v1/auth/tokens/{listed[0]['id']}/").status_code == 204
    assert client_with(theirs["token"]).get("/api/v1/me/").status_code == 401
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_a_wrong_token_beside_a_valid_session_is_refused(enter, mo_admin_a):
    client = enter(mo_admin_a)
    assert client.get("/api/v1/me/").status_code == 200  # the session alone
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401


def test_the_dc_admin_revokes_a_token_in_the_admin(enter, dc_admin, mo_admin_b):
    token("mo_admin_b")
    stored = ApiToken.objects.get()
    client = enter(dc_admin)
    listing = client.get("/admin/registry/apitoken/").content.decode()
    assert f"{stored.token_key}…" in listing and "Начало токена" in listing and "Действует до" in listing
    client.post(f"/admin/registry/apitoken/{stored.pk}/delete/", {"post": "yes"})
    assert not ApiToken.objects.exists()
