"""Pharmacy exchange settings (SPEC F3, manual §4.1.3; issue 17 items 1 and 4): the ЦОД admin's page,
the Django admin and the API, each change in the audit trail; bad input refused in Russian; every
other workplace gets 403."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditAction, AuditEvent
from pharmacy.models import Directory, PharmacyDirectory, PharmacyOrganisation
from pharmacy.services import NOTHING_CHOSEN, DirectoryChoice, organisation_save
from registry.checkdigits import make_ogrn

pytestmark = pytest.mark.django_db
OGRN = make_ogrn("102590000001")
BAD_OGRN = OGRN[:-1] + str((int(OGRN[-1]) + 1) % 10)


def form_data(**extra: str) -> dict[str, str]:
    data = {"name": "Аптека № 1", "ogrn": OGRN, "code": "APT01", "active": "on", "queue": "pharmacy.apt01"}
    for code in Directory.values:
        data[f"mode_{code}"] = "changes"
    return data | extra


@pytest.fixture
def pharmacy() -> PharmacyOrganisation:
    return organisation_save(
        organisation=None,
        fields={
            "name": "Аптека № 1",
            "ogrn": OGRN,
            "code": "APT01",
            "active": True,
            "queue": "pharmacy.apt01",
        },
        directories={"F002": DirectoryChoice(True, "full")},
        request=None,
    )


def test_the_dc_admin_creates_an_organisation_with_its_directories_and_it_is_audited(enter, dc_admin):
    client = enter(dc_admin)
    page = client.get("/pharmacy/?new=1")
    assert page.status_code == 200 and "Новая аптечная организация" in page.content.decode()
    response = client.post("/pharmacy/", form_data(send_F002="on", send_staff="on", mode_F002="full"))
    organisation = PharmacyOrganisation.objects.get()
    assert response.status_code == 302 and response.url == f"/pharmacy/?org={organisation.pk}"
    chosen = {d.directory: (d.enabled, d.mode) for d in organisation.directories.all()}
    assert chosen["F002"] == (True, "full") and chosen["staff"] == (True, "changes")
    assert chosen["V005"] == (False, "changes") and len(chosen) == len(Directory.values)
    event = AuditEvent.objects.get(action=AuditAction.PHARMACY_SETTINGS)
    assert event.username == "dc" and event.outcome == "создана"
    assert (
        "Страховые медицинские организации (F002): не передаётся → передаётся, полностью"
        in event.details["changes"]
    )
    shown = client.get(response.url).content.decode()
    assert "Настройки сохранены: Аптека № 1." in shown and 'data-organisation="APT01"' in shown


def test_a_change_is_audited_with_before_and_after_and_an_unchanged_save_is_not(enter, dc_admin, pharmacy):
    client = enter(dc_admin)
    client.post(
        "/pharmacy/",
        form_data(organisation=str(pharmacy.pk), queue="pharmacy.new", send_F002="on", mode_F002="full"),
    )
    client.post(
        "/pharmacy/",
        form_data(organisation=str(pharmacy.pk), queue="pharmacy.new", send_F002="on", mode_F002="full"),
    )
    events = AuditEvent.objects.filter(action=AuditAction.PHARMACY_SETTINGS, outcome="изменена").order_by(
        "pk"
    )
    assert [e.details["changes"] for e in events] == [["очередь обмена: pharmacy.apt01 → pharmacy.new"]]
    client.post("/pharmacy/", form_data(organisation=str(pharmacy.pk), queue="pharmacy.new"))  # F002 off
    assert AuditEvent.objects.filter(outcome="изменена").order_by("pk").last().details["changes"] == [
        "Страховые медицинские организации (F002): передаётся, полностью → не передаётся"
    ]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("ogrn", BAD_OGRN, "Некорректный ОГРН: не сходится контрольная цифра."),
        ("code", "APT01", "уже существует"),
        ("name", "", "Обязательное поле."),
    ],
)
def test_bad_input_is_refused_in_russian_and_nothing_changes(enter, dc_admin, pharmacy, field, value, words):
    before = AuditEvent.objects.count()
    page = enter(dc_admin).post("/pharmacy/", form_data(**{field: value}))  # a new one
    assert page.status_code == 200
    assert words in page.content.decode() and f'data-testid="error-{field}"' in page.content.decode()
    assert PharmacyOrganisation.objects.count() == 1 and AuditEvent.objects.count() == before


def test_an_active_organisation_without_a_directory_is_warned_about_and_saved(enter, dc_admin):
    client = enter(dc_admin)
    response = client.post("/pharmacy/", form_data())
    page = client.get(response.url).content.decode()
    assert NOTHING_CHOSEN in page and "⚠" in page
    assert not PharmacyDirectory.objects.filter(enabled=True).exists()


@pytest.mark.parametrize("who", ["mo_admin_a", "statistician_a"])
def test_other_workplaces_get_403_on_the_page_and_the_api_and_see_no_menu_entry(
    enter, request, who, pharmacy
):
    client = enter(request.getfixturevalue(who))
    page = client.get("/pharmacy/")
    assert page.status_code == 403
    assert "доступна только в АРМ администратора ЦОД" in page.content.decode()
    assert client.post("/pharmacy/", form_data()).status_code == 403
    assert client.get("/api/v1/pharmacy/organisations/").status_code == 403
    assert client.get(f"/api/v1/pharmacy/organisations/{pharmacy.pk}/").status_code == 403
    assert (
        client.put(
            f"/api/v1/pharmacy/organisations/{pharmacy.pk}/", {}, content_type="application/json"
        ).status_code
        == 403
    )
    assert "Настройка обмена с аптечными организациями" not in client.get("/").content.decode()
    assert PharmacyOrganisation.objects.get().queue == "pharmacy.apt01"


def test_the_menu_of_the_dc_admin_leads_to_the_page(enter, dc_admin):
    home = enter(dc_admin).get("/").content.decode()
    assert 'href="/pharmacy/"' in home


def test_the_api_reads_and_replaces_an_organisation_and_audits_it(enter, dc_admin, pharmacy):
    client = enter(dc_admin)
    got = client.get(f"/api/v1/pharmacy/organisations/{pharmacy.pk}/").json()
    assert got["code"] == "APT01" and got["warnings"] == []
    assert {d["directory"]: d["enabled"] for d in got["directories"]}["F002"] is True
    body = got | {
        "queue": "pharmacy.q2",
        "directories": [{"directory": "V005", "enabled": True, "mode": "full"}],
    }
    answer = client.put(
        f"/api/v1/pharmacy/organisations/{pharmacy.pk}/", body, content_type="application/json"
    )
    assert answer.status_code == 200, answer.json()
    states = {d["directory"]: (d["enabled"], d["mode"]) for d in answer.json()["directories"]}
    assert states["V005"] == (True, "full") and states["F002"] == (True, "full")  # not named: kept
    changes = (
        AuditEvent.objects.filter(action=AuditAction.PHARMACY_SETTINGS)
        .order_by("pk")
        .last()
        .details["changes"]
    )
    assert changes == [
        "очередь обмена: pharmacy.apt01 → pharmacy.q2",
        "Пол пациента (V005): не передаётся → передаётся, полностью",
    ]


def test_the_api_refuses_a_bad_ogrn_and_an_unknown_directory_with_400_and_changes_nothing(
    enter, dc_admin, pharmacy
):
    client = enter(dc_admin)
    url = f"/api/v1/pharmacy/organisations/{pharmacy.pk}/"
    body = client.get(url).json()
    bad = client.put(url, body | {"ogrn": BAD_OGRN}, content_type="application/json")
    assert bad.status_code == 400 and "контрольная цифра" in str(bad.json()["ogrn"])
    unknown = client.put(
        url, body | {"directories": [{"directory": "X999", "enabled": True}]}, content_type="application/json"
    )
    assert unknown.status_code == 400 and "directories" in unknown.json()
    renamed = client.put(url, body | {"code": "APT99"}, content_type="application/json")
    assert renamed.status_code == 400 and "не меняется после создания" in str(renamed.json()["code"])
    no_mode = client.put(
        url, body | {"directories": [{"directory": "V005", "enabled": True}]}, content_type="application/json"
    )
    assert no_mode.status_code == 400  # a mode is said, never assumed
    assert client.get("/api/v1/pharmacy/organisations/999/").status_code == 404
    assert (
        PharmacyOrganisation.objects.get().ogrn == OGRN and PharmacyOrganisation.objects.get().code == "APT01"
    )


def test_a_change_in_the_django_admin_goes_through_the_same_audit_and_deletes_are_refused(dc_admin, pharmacy):
    client = Client()
    dc_admin.user.is_staff = True
    dc_admin.user.save()
    client.force_login(dc_admin.user)
    session = client.session
    session["workplace_id"] = dc_admin.pk
    session.save()
    url = f"/admin/pharmacy/pharmacyorganisation/{pharmacy.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    rows = list(PharmacyDirectory.objects.filter(organisation=pharmacy).order_by("directory"))
    form = {
        "name": "Аптека № 1 (новое имя)",
        "ogrn": OGRN,
        "active": "on",
        "queue": "pharmacy.apt01",
        "directories-TOTAL_FORMS": str(len(rows)),
        "directories-INITIAL_FORMS": str(len(rows)),
        "directories-MIN_NUM_FORMS": "0",
        "directories-MAX_NUM_FORMS": "0",
    }
    for index, row in enumerate(rows):
        form[f"directories-{index}-id"] = str(row.pk)
        form[f"directories-{index}-organisation"] = str(pharmacy.pk)
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.filter(action=AuditAction.PHARMACY_SETTINGS).order_by("pk").last()
    assert event.outcome == "изменена"
    assert event.details["changes"] == ["наименование: Аптека № 1 → Аптека № 1 (новое имя)"]
    deleting = client.post(f"/admin/pharmacy/pharmacyorganisation/{pharmacy.pk}/delete/", {"post": "yes"})
    assert deleting.status_code == 403
    assert PharmacyOrganisation.objects.filter(pk=pharmacy.pk).exists()  # switched off, never deleted
