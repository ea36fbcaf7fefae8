"""The form "Выгрузка прикреплений" in the browser: the period, the file downloaded with its progress
shown on the page, the error report beside it (D1)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from registry import checkdigits
from registry.models import Role
from tests.factories import (
    AttachmentFactory,
    MoFactory,
    PersonFactory,
    PolicyFactory,
    SiteFactory,
    StaffFactory,
    UserFactory,
    WorkplaceFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_export_form_downloads_the_file_and_shows_the_error_report(page, live_server, tmp_path):
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    WorkplaceFactory(user=UserFactory(username="attach_admin"), mo=mo, role=Role.MO_ADMIN)
    site = SiteFactory(
        mo=mo, number="12", doctor=StaffFactory(mo=mo, snils=checkdigits.make_snils(223_344_000))
    )
    bare = SiteFactory(mo=mo, number="40", doctor=StaffFactory(mo=mo, snils=""))
    for name, district in (("Прикреплённый", site), ("Второй", site), ("Безснилсовый", bare)):
        person = PersonFactory(last_name=name)
        PolicyFactory(person=person)
        AttachmentFactory(person=person, mo=mo, site=district, date_from=dt.date(2020, 1, 1))

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "attach_admin")
    page.fill("input[name=password]", "secret-pass-1")
    page.click("button[type=submit]")
    page.click("nav >> text=Выгрузка прикреплений")
    page.wait_for_selector("[data-testid=export-form]")
    page.shot("form")

    page.fill("input[name=date_from]", "2026-10-31")
    page.fill("input[name=date_to]", "2026-10-01")
    page.click("[data-testid=submit]")
    assert "позже его окончания" in page.inner_text("[data-testid=error]")
    page.shot("reversed")

    page.fill("input[name=date_from]", "2026-10-01")
    page.fill("input[name=date_to]", "2026-10-31")
    with page.expect_download() as download_info:
        page.click("[data-testid=submit]")
    download = download_info.value
    assert download.suggested_filename == "MO259000120261031.csv"
    saved = Path(tmp_path) / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith('"И";"П";;"'.encode("cp1251"))
    assert data.count(b"\r\n") == 1 and not data.endswith(b"\r\n")
    page.wait_for_selector("[data-testid=progress] >> text=сформирован и сохранён: строк 2")
    assert "Строк в файле: 2." in page.inner_text("[data-testid=counts]")
    # the server's streamed marks (no inline script) reached the page's own script
    assert page.inner_text("[data-testid=check-progress]") == "Проверка данных завершена."
    errors = page.inner_text("[data-testid=errors]")
    assert "Безснилсовый" in errors and "у врача участка № 40 нет СНИЛС — не выгружен" in errors
    assert page.locator("[data-testid=report]").is_visible()
    page.shot("downloaded")

    # "Скачать файл" saves the same file again: no second generation, no second audit entry (item 11)
    from servicelog.models import AuditAction, AuditEvent

    exports = AuditEvent.objects.filter(action=AuditAction.EXPORT).count()
    with page.expect_download() as again_info:
        page.click("[data-testid=download]")
    again = Path(tmp_path) / "again.csv"
    again_info.value.save_as(again)
    assert again.read_bytes() == data and again_info.value.suggested_filename == download.suggested_filename
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == exports == 1
    assert "сохранён ещё раз" in page.inner_text("[data-testid=progress]")
