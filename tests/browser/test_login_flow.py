"""Each demo user logs in, passes the МО and workplace choice, sees the right sidebar, searches persons
and opens a card; a wrong password shows the message (A1, A2, A3, A6; issue 2 item 11)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from registry.access import scope
from registry.models import Person, UserProfile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings):
    settings.DEMO_PASSWORD = "demo"
    call_command("seed_demo", "--persons", "60", verbosity=0)


def sign_in(page, base: str, username: str, password: str = "demo") -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.shot("login")
    page.click("button[type=submit]")


@pytest.mark.parametrize(
    ("username", "mo_choice", "workplace_choice", "sidebar"),
    [
        ("dc_admin", "590001", "АРМ администратора ЦОД", "Действия"),
        ("mo_admin", None, None, "Инструментарий"),
        ("mo_admin2", None, None, "Инструментарий"),
        ("statistician", None, None, "Меню"),
    ],
)
def test_demo_user_reaches_workplace_and_person_card(
    page, live_server, demo, username, mo_choice, workplace_choice, sidebar
):
    sign_in(page, live_server.url, username)
    if mo_choice:
        page.wait_for_selector("text=Выбор МО")
        page.shot("choose-mo")
        page.select_option(
            "select[name=mo]",
            label=next(
                o for o in page.locator("select[name=mo] option").all_inner_texts() if o.startswith(mo_choice)
            ),
        )
        page.click("button:has-text('Применить')")
    if workplace_choice:
        page.wait_for_selector("text=Выбор места работы (АРМ) по умолчанию")
        page.shot("choose-workplace")
        page.click(f"label:has-text('{workplace_choice}')")
        page.click("button:has-text('Применить')")
    page.wait_for_selector("[data-testid=sidebar-title]")
    page.shot("home")
    assert page.text_content("[data-testid=sidebar-title]") == sidebar

    workplace = UserProfile.objects.get(user__username=username).default_workplace
    person = scope(Person.objects.all(), workplace).order_by("pk").first()
    assert person is not None
    page.click("nav >> text=Поиск людей")
    page.fill("input[name=fio]", person.last_name)
    page.click("button:has-text('Найти')")
    page.wait_for_selector("[data-testid=person-results]")
    page.shot("search")
    page.click(f"[data-testid=person-results] a[href='/persons/{person.pk}/']")
    page.wait_for_selector("[data-testid=person-name]")
    page.shot("card")
    assert person.last_name in page.inner_text("[data-testid=person-name]")
    assert "Полисы ОМС" in page.content()


def test_wrong_password_shows_the_message(page, live_server, demo):
    sign_in(page, live_server.url, "mo_admin", "wrong-password")
    page.wait_for_selector("[data-testid=login-error]")
    page.shot("wrong-password")
    assert page.inner_text("[data-testid=login-error]") == "Неверное имя пользователя или пароль."


def test_cancel_on_the_workplace_form_returns_to_the_current_workplace(page, live_server, demo):
    """Issue 15 item 7: "Сменить МО / АРМ" then "Отмена" keeps the ЦОД admin in their workplace."""
    sign_in(page, live_server.url, "dc_admin")
    page.wait_for_selector("text=Выбор МО")
    page.click("button:has-text('Применить')")
    page.click("label:has-text('АРМ администратора ЦОД')")
    page.click("button:has-text('Применить')")
    page.wait_for_selector("[data-testid=sidebar-title]")
    page.click("text=Сменить МО / АРМ")
    page.wait_for_selector("text=Выбор МО")
    page.click("button:has-text('Применить')")
    page.wait_for_selector("text=Выбор места работы (АРМ) по умолчанию")
    assert "Расписание" in page.inner_text("table") and "Центр обработки данных" in page.inner_text("table")
    page.shot("change")
    page.click("[data-testid=cancel]")
    page.wait_for_selector("[data-testid=sidebar-title]")
    page.shot("back")
    assert page.text_content("[data-testid=sidebar-title]") == "Действия"
    assert "АРМ администратора ЦОД" in page.inner_text("[data-testid=current-workplace]")


def test_person_search_treats_yo_and_e_alike(page, live_server, demo):
    """Issue 15 item 5: «семенов» finds «Семёнов» and «Семенов» alike, in any case."""
    from registry.models import Attachment

    person = Person.objects.filter(attachments__mo__code="590001").order_by("pk").first()
    Person.objects.filter(pk=person.pk).update(last_name="Семёнов")
    twin = Person.objects.filter(attachments__mo__code="590001").exclude(pk=person.pk).order_by("pk").first()
    Person.objects.filter(pk=twin.pk).update(last_name="Семенов")
    assert Attachment.objects.filter(person=twin, mo__code="590001").exists()
    sign_in(page, live_server.url, "mo_admin")
    page.wait_for_selector("[data-testid=sidebar-title]")
    for typed in ("семенов", "СЕМЁНОВ"):
        page.click("nav >> text=Поиск людей")
        page.fill("input[name=fio]", typed)
        page.click("button:has-text('Найти')")
        page.wait_for_selector("[data-testid=person-results]")
        results = page.inner_text("[data-testid=person-results]")
        assert "Семёнов" in results and "Семенов" in results, typed
    page.shot("yo-search")


def test_the_api_pages_run_under_the_content_security_policy(page, live_server, demo):
    """The Swagger page and Django's admin load their scripts from files, as the portal's pages do
    (the page fixture fails the test on anything the policy blocked)."""
    sign_in(page, live_server.url, "mo_admin")
    page.wait_for_selector("[data-testid=sidebar-title]")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector("text=TFOMS portal API")
    page.wait_for_selector(".opblock")  # the operations drawn by Swagger UI's own script
    page.shot("swagger")
