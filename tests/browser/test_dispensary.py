"""Dispensary observation in the browser (C5): the МО admin starts the TFOMS service, the journal
shows the packages by their Russian titles, the person's card shows the card accepted by the fund."""

from __future__ import annotations

import pytest

from registry.models import Role
from tests.browser.conftest import log_in
from tests.factories import DispensaryCardFactory, MoFactory, UserFactory, WorkplaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dispensary_card_goes_to_the_fund_and_shows_on_the_person(page, live_server, fund_in_process):
    mo = MoFactory(code="590001", name_short="ГКБ № 1")
    card = DispensaryCardFactory(mo=mo, diagnosis="C50.9")
    WorkplaceFactory(user=UserFactory(username="admin_dn"), mo=mo, role=Role.MO_ADMIN)
    log_in(page, live_server, "admin_dn")
    page.goto(f"{live_server.url}/journal/?service=tfoms_auto")
    page.click("[data-testid=start]")
    page.wait_for_selector("[data-testid=run-result]")
    # The consumer takes the fund's answers in the background; watched through the pages only (the
    # test's own reads of the in-memory SQLite would hold its shared-cache locks against the writers).
    for _ in range(100):
        page.goto(f"{live_server.url}/persons/{card.person_id}/")
        section = page.inner_text("[data-testid=dispensary-cards]")
        if section.count("Принят ТФОМС") >= 4:  # DISP and PERSCANCER: status and result of each
            break
        page.wait_for_timeout(300)
    page.shot("dispensary-card")
    assert "C50.9" in section and "Принят ТФОМС" in section

    page.goto(f"{live_server.url}/journal/?service=tfoms_auto")
    packages = page.inner_text("[data-testid=packages]")
    assert "Диспансерное наблюдение" in packages and "Пациенты с ЗНО" in packages
    assert "DISP" not in packages  # codes only in the tooltips
    page.shot("dispensary-journal")
