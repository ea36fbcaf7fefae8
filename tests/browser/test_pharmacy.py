"""«Настройка обмена с аптечными организациями» in the browser (SPEC F3, manual §4.1.3): the ЦОД admin
adds an organisation, is told in Russian about a wrong ОГРН, saves it with its directories, sees the
warning for an organisation with nothing chosen, and finds the entry in the sidebar."""

from __future__ import annotations

import pytest

from registry.checkdigits import make_ogrn
from registry.models import Role
from tests.browser.conftest import log_in
from tests.factories import MoFactory, UserFactory, WorkplaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_dc_admin_sets_up_a_pharmacy_organisation(page, live_server):
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    WorkplaceFactory(user=UserFactory(username="dc_pharm"), mo=mo, role=Role.DC_ADMIN)
    log_in(page, live_server, "dc_pharm")
    page.click("text=Настройка обмена с аптечными организациями")
    page.wait_for_selector("[data-testid=pharmacy-layout]")
    page.click("[data-testid=new-organisation]")
    page.fill("#id_name", "ГУП ПК «Фармация»")
    good = make_ogrn("102590010001")
    page.fill("#id_ogrn", good[:-1] + str((int(good[-1]) + 1) % 10))
    page.fill("#id_code", "FARM59")
    page.fill("#id_queue", "pharmacy.farm59")
    page.check("#id_send_F002")
    page.select_option("#id_mode_F002", "full")
    page.click("[data-testid=save]")
    assert "Некорректный ОГРН: не сходится контрольная цифра." in page.inner_text("[data-testid=error-ogrn]")
    page.shot("wrong-ogrn")
    page.fill("#id_ogrn", good)
    page.click("[data-testid=save]")
    page.wait_for_selector(".messages li")
    assert "Настройки сохранены: ГУП ПК «Фармация»." in page.inner_text(".messages")
    assert page.is_checked("#id_send_F002") and page.input_value("#id_mode_F002") == "full"
    page.uncheck("#id_send_F002")
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=warning]")
    assert "Не выбран ни один справочник" in page.inner_text("[data-testid=warning]")
    assert "⚠" in page.inner_text("tr[data-organisation=FARM59]")
    page.shot("nothing-chosen")
