"""Person search and card (A6), scoped by МО (A4), in pages and the API; viewing is audited (A5)."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from servicelog.models import AuditAction, AuditEvent
from tests.factories import AttachmentFactory, CaseFactory, DocumentFactory, PersonFactory, PolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ivanov(mo_a):
    person = PersonFactory(last_name="Иванов", first_name="Иван", middle_name="Петрович", snils="11223344595")
    AttachmentFactory(person=person, mo=mo_a)
    DocumentFactory(person=person)
    PolicyFactory(person=person, enp="5956410834000014", valid_to=dt.date(2030, 1, 1))
    CaseFactory(person=person, mo=mo_a, number="A-1")
    return person


@pytest.fixture
def decoy(mo_a):
    """Same МО as Иванов, matching none of the search criteria: filters must exclude him."""
    person = PersonFactory(
        last_name="Смирнов",
        first_name="Олег",
        middle_name="",
        birth_date=dt.date(1970, 1, 2),
        snils="12345678964",
    )
    AttachmentFactory(person=person, mo=mo_a)
    PolicyFactory(person=person, enp="5956410884000013")
    return person


@pytest.fixture
def petrova(mo_b):
    person = PersonFactory(last_name="Петрова", first_name="Мария", sex=2, birth_date=dt.date(1990, 5, 1))
    CaseFactory(person=person, mo=mo_b, number="B-1")  # belongs to МО B by a treatment case only
    return person


def search(client, **params):
    return client.get("/persons/", params).content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"fio": "иванов ив"},
        {"birth_date": "15.03.1985"},
        {"enp": "5956410834000014"},
        {"snils": "112-233-445 95"},
        {"fio": "Иванов", "snils": "11223344595"},
    ],
)
def test_search_finds_by_each_criterion(enter, mo_admin_a, ivanov, decoy, params):
    page = search(enter(mo_admin_a), **params)
    assert "Найдено: 1" in page and "Иванов Иван Петрович" in page
    assert "Смирнов" not in page


def test_search_does_not_show_another_mo(enter, mo_admin_a, mo_admin_b, ivanov, petrova):
    assert "Петрова Мария" not in search(enter(mo_admin_a), fio="Петрова")
    assert "Никого не найдено" in search(enter(mo_admin_a), fio="Петрова")
    assert "Петрова Мария" in search(enter(mo_admin_b), fio="Петрова")


def test_dc_admin_finds_every_mo(enter, dc_admin, ivanov, petrova):
    page = search(enter(dc_admin), birth_date="1990-05-01")
    assert "Петрова Мария" in page


def test_bad_search_input_gets_messages(enter, mo_admin_a):
    page = search(enter(mo_admin_a), enp="123", snils="12", birth_date="31.02.2020")
    assert "ЕНП состоит из 16 цифр" in page and "СНИЛС состоит из 11 цифр" in page
    assert "Введите дату" in page
    assert "Укажите хотя бы одно условие" in search(enter(mo_admin_a), fio="")


def test_card_shows_documents_policies_attachments_identification(enter, mo_admin_a, ivanov):
    page = enter(mo_admin_a).get(f"/persons/{ivanov.pk}/").content.decode()
    assert "Иванов Иван Петрович" in page
    assert "112-233-445 95" in page
    assert "5956410834000014" in page and "5704" in page
    attachments = page[page.index('data-testid="attachments"') :]
    assert "<td>590001</td>" in attachments and "A-1" in page
    assert "Идентификация в ТФОМС" in page
    assert "<title>Иванов Иван Петрович — Портал ТФОМС</title>" in page
    assert AuditEvent.objects.filter(action=AuditAction.PERSON_VIEWED, object_id=str(ivanov.pk)).count() == 1


def test_card_of_another_mo_is_404(enter, mo_admin_a, mo_admin_b, ivanov, petrova):
    assert enter(mo_admin_a).get(f"/persons/{petrova.pk}/").status_code == 404
    assert enter(mo_admin_b).get(f"/persons/{ivanov.pk}/").status_code == 404
    assert enter(mo_admin_a).get("/persons/999999/").status_code == 404


def test_card_hides_cases_and_attachments_of_other_mo(enter, mo_admin_a, mo_b, ivanov, dc_admin):
    CaseFactory(person=ivanov, mo=mo_b, number="FOREIGN-7")
    AttachmentFactory(person=ivanov, mo=mo_b, site__number="777", date_from=dt.date(2010, 1, 1))
    page = enter(mo_admin_a).get(f"/persons/{ivanov.pk}/").content.decode()
    assert "A-1" in page and "FOREIGN-7" not in page
    assert "<td>590002</td>" not in page and "<td>777</td>" not in page
    everything = enter(dc_admin).get(f"/persons/{ivanov.pk}/").content.decode()
    assert "FOREIGN-7" in everything and "<td>777</td>" in everything


def test_enp_facet_mismatch_is_a_warning_only(enter, mo_admin_a, ivanov):
    ivanov.sex = 2
    ivanov.save()
    response = enter(mo_admin_a).get(f"/persons/{ivanov.pk}/")
    assert response.status_code == 200
    assert "не соответствует дате рождения и полу" in response.content.decode()


def test_statistician_reads_own_mo(enter, statistician_a, ivanov, petrova):
    client = enter(statistician_a)
    assert client.get(f"/persons/{ivanov.pk}/").status_code == 200
    assert client.get(f"/persons/{petrova.pk}/").status_code == 404


# --- API ------------------------------------------------------------------------------------


def api_for(workplace, enter):
    enter(workplace)  # remembers the default workplace, which token clients act in
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/",
        {"username": workplace.user.username, "password": "secret-pass-1"},
        format="json",
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def test_api_token_and_scoped_list(enter, mo_admin_a, ivanov, petrova):
    client = api_for(mo_admin_a, enter)
    data = client.get("/api/v1/persons/", {"fio": ""}).json()
    assert [row["last_name"] for row in data["results"]] == ["Иванов"]
    assert data["results"][0]["enp"] == "5956410834000014"
    assert client.get("/api/v1/persons/", {"enp": "5956410834000014"}).json()["count"] == 1


def test_api_card_and_another_mo_404(enter, mo_admin_a, ivanov, petrova):
    client = api_for(mo_admin_a, enter)
    card = client.get(f"/api/v1/persons/{ivanov.pk}/").json()
    assert card["person"]["snils"] == "11223344595" and card["policies"][0]["enp"] == "5956410834000014"
    assert client.get(f"/api/v1/persons/{petrova.pk}/").status_code == 404


def test_api_token_refused_for_wrong_password(mo_admin_a):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "mo_admin_a", "password": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Неверное имя пользователя или пароль."
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, username="mo_admin_a").exists()


def test_api_without_credentials_is_refused(ivanov):
    assert APIClient().get("/api/v1/persons/").status_code in (401, 403)


def test_api_token_straight_after_setup_without_a_browser_login(mo_admin_a):
    """Issue 15 item 12: one workplace is enough; no default chosen in the browser is needed."""
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "mo_admin_a", "password": "secret-pass-1"}, format="json"
    )
    assert response.status_code == 200 and response.json()["workplace"]["id"] == mo_admin_a.pk


def test_openapi_schema_and_docs(enter, mo_admin_a):
    client = enter(mo_admin_a)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/persons/" in schema.content
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.parametrize(
    "params",
    [{"birth_date": "garbage"}, {"fio": "a\x00b"}, {"enp": "12"}, {"snils": "1\x00"}],
)
def test_api_bad_query_is_a_400_with_the_message(enter, mo_admin_a, ivanov, params):
    client = api_for(mo_admin_a, enter)
    response = client.get("/api/v1/persons/", params)
    assert response.status_code == 400
    html = client.get("/api/v1/persons/", params, HTTP_ACCEPT="text/html")
    assert html.status_code == 400


@pytest.mark.parametrize("body", [{"username": "a\x00", "password": "x"}, {"username": ["x"]}, "[]"])
def test_api_token_junk_is_a_400(body):
    response = APIClient().post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400


def test_card_names_document_and_policy_types_from_nsi(enter, mo_admin_a, ivanov):
    from registry.models import NsiEntry

    NsiEntry.objects.create(directory="F011", code="14", name="Паспорт гражданина Российской Федерации")
    NsiEntry.objects.create(directory="F008", code="3", name="Полис ОМС единого образца")
    page = enter(mo_admin_a).get(f"/persons/{ivanov.pk}/").content.decode()
    assert "14 — Паспорт гражданина Российской Федерации" in page
    assert "3 — Полис ОМС единого образца" in page


def test_search_results_show_formatted_snils_and_one_enp(enter, mo_admin_a, ivanov):
    PolicyFactory(person=ivanov, enp="5956410834000022", valid_from=dt.date(2010, 1, 1))
    page = search(enter(mo_admin_a), fio="Иванов")
    assert "112-233-445 95" in page
    assert "5956410834000014" in page and "5956410834000022" not in page


def test_a_wrong_token_is_refused_even_with_a_session(enter, dc_admin):
    """Issue 16: with a valid session cookie, a wrong `Authorization: Token` was ignored."""
    client = enter(dc_admin)
    assert client.get("/api/v1/servicelog/services/").status_code == 200
    answer = client.get("/api/v1/servicelog/services/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert answer.status_code == 401
