"""Prophylaxis plans in the browser (C3, D2, D3; manual §4.5.2): the МО admin opens a plan (the
persons pane changes without a reload), sends it and watches the statuses, selects plans, exports,
downloads the archive and loads the fund's OSHIB_PR reply made by the emulator."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from registry.models import Role
from tests.browser.conftest import log_in
from tests.factories import MoFactory, UserFactory, WorkplaceFactory, make_plan
from tfoms_emulator.prof import answer_prof

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_plan_send_export_and_error_reply(page, live_server, fund_in_process, tmp_path):
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    sent, exported = make_plan(mo), make_plan(mo)
    WorkplaceFactory(user=UserFactory(username="admin_plans"), mo=mo, role=Role.MO_ADMIN)
    log_in(page, live_server, "admin_plans")
    page.click("text=Планы диспансеризации и профилактических медицинских осмотров")
    page.wait_for_selector("[data-testid=plans]")
    page.evaluate("window.notReloaded = true")
    page.click(f"tr[data-plan='{sent.pk}'] [data-testid=plan-link]")
    page.wait_for_selector("[data-testid=persons-table]")
    assert page.evaluate("window.notReloaded") is True  # the pane changed, the page stayed
    assert page.inner_text("[data-testid=plan-persons]").count("Новая") >= 3
    page.shot("plan-persons")

    page.click("[data-testid=send]")  # a form post: the page answers at once, the send goes on
    page.wait_for_selector(".messages li")
    assert f"Отправка плана «{sent}» запущена." in page.inner_text(".messages")
    page.evaluate("window.notReloaded = true")
    # the relay and the fund's answers run in the background; the pane follows them by itself
    expect(page.locator("[data-testid=person-status]", has_text="Принята ТФОМС")).to_have_count(
        3, timeout=30_000
    )
    expect(page.locator("[data-testid=in-progress]")).to_have_count(0)  # and stops asking
    assert page.evaluate("window.notReloaded") is True
    page.shot("plan-accepted")

    page.check(f"tr[data-plan='{exported.pk}'] [data-testid=plan-check]")
    page.click("[data-testid=export]")
    assert page.input_value("[data-testid=kind]") == "Дисп-ция взр. населения 1-ый этап"
    page.fill("#id_number", "12")
    page.click("[data-testid=submit]")
    assert "Некорректно заполненные поля выделены особо" in page.inner_text("[data-testid=error]")
    page.shot("export-invalid")
    page.fill("#id_number", "1")
    page.select_option("#id_quarter", "4")
    page.click("[data-testid=submit]")
    assert "Экспорт успешно завершён" in page.inner_text("[data-testid=result]")
    page.shot("export-done")
    with page.expect_download() as download_info:
        page.click("[data-testid=download]")
    download = download_info.value
    assert re.fullmatch(r"PROF_M590001T59_\d{4}1\.zip", download.suggested_filename)
    archive = tmp_path / download.suggested_filename
    download.save_as(archive)

    name, content, _ = answer_prof(archive.name, archive.read_bytes())
    reply = tmp_path / name
    reply.write_bytes(content)
    page.click("[data-testid=ok]")
    page.set_input_files("[data-testid=reply-file]", str(reply))
    page.click("[data-testid=reply-upload]")
    page.wait_for_selector("text=принято записей 3")
    page.shot("reply-loaded")
    page.click(f"tr[data-plan='{exported.pk}'] [data-testid=plan-link]")
    page.wait_for_selector("[data-testid=persons-table]")
    assert page.locator("[data-testid=person-status]").all_inner_texts() == ["Принята ТФОМС"] * 3
