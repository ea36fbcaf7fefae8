"""Batch identification in the browser: download a request, answer it with the emulator, upload it and
see statuses and counts change (B1, B4)."""

from __future__ import annotations

import pytest

from identification.services import ident_packages_form
from registry.models import Person, Role
from registry.services import person_identification_request
from tests.factories import (
    AttachmentFactory,
    DocumentFactory,
    MoFactory,
    PersonFactory,
    SmoFactory,
    UserFactory,
    WorkplaceFactory,
)
from tfoms_emulator import ident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_download_answer_upload(page, live_server, settings, tmp_path):
    settings.STORAGE_ROOT = tmp_path
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    smo = SmoFactory(code="59021", ogrn="1025900000006")
    WorkplaceFactory(user=UserFactory(username="ident_admin"), mo=mo, role=Role.MO_ADMIN)
    persons = []
    for name in ("Известнов", "Неизвестнов"):
        person = PersonFactory(last_name=name)
        AttachmentFactory(person=person, mo=mo)
        DocumentFactory(person=person)
        person_identification_request(person=person, reason=Person.IdentificationReason.MANUAL, mo=mo)
        persons.append(person)
    (package,) = ident_packages_form(run=None, mo=mo)
    known = persons[0]
    register = ident.parse_register(
        {
            "persons": [
                {
                    "bdzid": 1,
                    "fam": known.last_name,
                    "im": known.first_name,
                    "ot": known.middle_name,
                    "dr": known.birth_date.isoformat(),
                    "w": known.sex,
                    "snils": known.snils,
                    "policies": [
                        {
                            "type": 3,
                            "ser": "",
                            "num": "",
                            "enp": "5956410834000014",
                            "smo": smo.code,
                            "smo_ogrn": smo.ogrn,
                            "okato": "57000",
                            "dbeg": "2020-01-01",
                            "dend": None,
                        }
                    ],
                }
            ]
        }
    )

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "ident_admin")
    page.fill("input[name=password]", "secret-pass-1")
    page.click("button[type=submit]")
    page.click("nav >> text=Пакетная идентификация ТФОМС")
    page.click(f"[data-testid=packages] >> text={package.name}")
    page.wait_for_selector("[data-testid=records]")
    page.shot("package")
    left = page.locator("[data-testid=packages]").bounding_box()
    right = page.locator("[data-testid=records]").bounding_box()
    assert left and right and right["x"] >= left["x"] + left["width"]  # §4.3.2: left and right
    assert abs(right["y"] - left["y"]) < 5
    # a column search typed before the upload is still there after it, with the package selected
    page.fill("tr.column-search input[name=q_patient]", "Изв")
    page.click("[data-testid=records] button:has-text('Найти')")
    page.wait_for_url("**q_patient=**")
    assert "Ответ не загружен" in page.inner_text("[data-testid=packages]")
    with page.expect_download() as download_info:
        page.click("[data-testid=download]")
    download = download_info.value
    assert download.suggested_filename == package.file_name
    request_path = tmp_path / "downloaded.DBF"
    download.save_as(request_path)

    answered = ident.answer_file(request_path, tmp_path / "answers", register)
    response_path = tmp_path / "answers" / package.file_name
    answered.rename(response_path)
    page.set_input_files("[data-testid=upload] input[type=file]", str(response_path))
    page.click("[data-testid=upload] button")
    page.wait_for_selector(".messages li")
    page.shot("loaded")
    assert "идентифицировано 1, не идентифицировано 1" in page.inner_text(".messages")
    assert (
        page.input_value("tr.column-search input[name=q_patient]") == "Изв"
    )  # the search survived the upload
    assert page.locator(f"[data-testid=packages] tr.selected[data-package='{package.name}']").count() == 1
    records = page.inner_text("[data-testid=records]")
    assert "Известнов" in records and "Неизвестнов" not in records  # still filtered
    page.select_option("[data-testid=show]", "answered")  # "Показать" keeps the selection too
    page.wait_for_url("**show=answered**")
    assert page.locator(f"[data-testid=packages] tr.selected[data-package='{package.name}']").count() == 1
    packages_pane = page.inner_text("[data-testid=packages]")
    assert "Ответ загружен" in packages_pane
    assert page.input_value("tr.column-search input[name=q_patient]") == "Изв"
    page.fill("tr.column-search input[name=q_patient]", "")
    page.fill("tr.column-search input[name=q_errors]", "р01")  # Cyrillic, in lower case
    page.click("[data-testid=records] button:has-text('Найти')")
    page.wait_for_url("**q_errors=**")
    records = page.inner_text("[data-testid=records]")
    assert (
        "Не идентифицирован" in records
        and "Р01" in records
        and "Известнов" not in records.replace("Неизвестнов", "")
    )
    page.shot("searched")
    assert page.locator("[data-testid=download]").count() == 0  # only while no response is loaded
