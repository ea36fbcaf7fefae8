"""Login, МО and workplace choice (A1, A2, A3) and their audit records (A5)."""

import pytest
from django.test import Client

from registry.models import Role, UserProfile
from servicelog.models import AuditAction, AuditEvent
from tests.factories import MoFactory, UserFactory, WorkplaceFactory

pytestmark = pytest.mark.django_db


def login(client: Client, username: str, password: str = "secret-pass-1"):
    return client.post("/login/", {"username": username, "password": password})


def test_login_page_is_russian_and_offers_only_password_login(client):
    page = client.get("/login/").content.decode()
    assert "Вход в систему" in page and "Имя пользователя" in page and "Пароль" in page
    assert "ЕСИА" not in page and "токен" not in page.lower()


def test_wrong_password_and_unknown_user_get_the_same_message(client, mo_admin_a):
    wrong_password = login(client, "mo_admin_a", "nope").content.decode()
    unknown_user = login(client, "nobody", "nope").content.decode()
    message = "Неверное имя пользователя или пароль."
    assert message in wrong_password and message in unknown_user
    failures = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED)
    assert sorted(failures.values_list("username", flat=True)) == ["mo_admin_a", "nobody"]


def test_repeated_failures_are_throttled_even_with_the_right_password(client, mo_admin_a, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        login(client, "mo_admin_a", "nope")
    page = login(client, "mo_admin_a").content.decode()
    assert "Слишком много неудачных попыток входа" in page
    assert "_auth_user_id" not in client.session


def test_a_successful_login_starts_the_count_of_failures_again(client, mo_admin_a, settings):
    """Issue 16 item 5: two mistakes, a good login, two more mistakes — not locked out at three."""
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        login(client, "mo_admin_a", "nope")
    assert login(client, "mo_admin_a").url == "/workplace/"
    client.post("/logout/")
    for _ in range(2):
        login(client, "mo_admin_a", "nope")
    assert login(client, "mo_admin_a").url == "/workplace/"
    client.post("/logout/")
    login(client, "mo_admin_a", "nope")  # and three in a row after it still lock
    login(client, "mo_admin_a", "nope")
    login(client, "mo_admin_a", "nope")
    assert "Слишком много неудачных попыток входа" in login(client, "mo_admin_a").content.decode()


def test_other_users_at_the_same_address_are_not_locked_out(client, mo_admin_a, mo_admin_b, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 6
    for _ in range(3):
        login(client, "mo_admin_a", "nope")
    assert login(client, "mo_admin_b").url == "/workplace/"  # same address, another user: fine
    client.post("/logout/")
    for name in ("x1", "x2", "x3"):
        login(client, name, "nope")
    assert "Слишком много неудачных попыток" in login(client, "mo_admin_b").content.decode()


def test_disabled_user_gets_a_clear_message(client, mo_admin_a):
    mo_admin_a.user.is_active = False
    mo_admin_a.user.save()
    page = login(client, "mo_admin_a").content.decode()
    assert "Учётная запись отключена" in page
    assert "_auth_user_id" not in client.session


def test_user_without_workplace_is_told_and_logged_out(client):
    UserFactory(username="lonely")
    response = login(client, "lonely")
    assert response.url == "/workplace/"
    page = client.get("/workplace/", follow=True).content.decode()
    assert "нет ни одного действующего места работы" in page
    assert "_auth_user_id" not in client.session


def test_single_workplace_goes_straight_in_and_is_remembered(client, mo_admin_a):
    login(client, "mo_admin_a")
    response = client.get("/workplace/")
    assert response.status_code == 302 and response.url == "/"
    home = client.get("/").content.decode()
    assert "Инструментарий" in home and "АРМ администратора МО" in home
    assert UserProfile.objects.get(user=mo_admin_a.user).default_workplace == mo_admin_a
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, username="mo_admin_a").exists()


def test_several_mo_then_workplace_choice_then_default(client, mo_a, mo_b):
    user = UserFactory(username="multi")
    dc = WorkplaceFactory(user=user, mo=mo_a, role=Role.DC_ADMIN)
    WorkplaceFactory(user=user, mo=mo_a, role=Role.MO_ADMIN)
    other = WorkplaceFactory(user=user, mo=mo_b, role=Role.MO_ADMIN)
    login(client, "multi")
    page = client.get("/workplace/").content.decode()
    assert "Выбор МО" in page and "590001" in page and "590002" in page
    page = client.post("/workplace/", {"mo": mo_a.pk}).content.decode()
    assert "Выбор места работы (АРМ) по умолчанию" in page
    response = client.post("/workplace/", {"workplace": dc.pk})
    assert response.url == "/"
    assert "Действия" in client.get("/").content.decode()

    # Next login: the МО is asked again; the same МО goes straight to the default workplace ...
    client.post("/logout/")
    login(client, "multi")
    assert client.post("/workplace/", {"mo": mo_a.pk}).url == "/"
    # ... another МО asks for the workplace again (here the only one, so it is taken and remembered).
    client.post("/logout/")
    login(client, "multi")
    assert client.post("/workplace/", {"mo": mo_b.pk}).url == "/"
    assert UserProfile.objects.get(user=user).default_workplace == other


def test_forged_workplace_of_another_mo_is_refused(client, mo_admin_a, mo_admin_b):
    login(client, "mo_admin_a")
    client.get("/workplace/")
    response = client.post("/workplace/", {"workplace": mo_admin_b.pk})
    assert response.status_code in (302, 400)
    page = client.get("/workplace/", follow=True).content.decode() if response.status_code == 302 else ""
    assert "недоступно" in response.content.decode() + page
    assert client.session.get("workplace_id") == mo_admin_a.pk or "workplace_id" not in client.session


def test_forged_mo_is_refused(client, mo_a, mo_b):
    user = UserFactory(username="two")
    WorkplaceFactory(user=user, mo=mo_a)
    WorkplaceFactory(user=user, mo=MoFactory(code="590003"))
    login(client, "two")
    response = client.post("/workplace/", {"mo": mo_b.pk})
    assert response.status_code == 400
    assert "Выбранная МО недоступна" in response.content.decode()


def test_expired_session_in_the_middle_of_the_choice(client, mo_admin_a):
    response = client.post("/workplace/", {"workplace": mo_admin_a.pk}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/login/"
    assert "Сеанс работы истёк" in page


def test_pages_need_login_and_a_workplace(client, mo_admin_a):
    assert client.get("/persons/").url.startswith("/login/")
    login(client, "mo_admin_a")
    assert client.get("/persons/").url == "/workplace/"


def test_logout_is_audited_and_ends_the_session(client, mo_admin_a, enter):
    client = enter(mo_admin_a)
    client.post("/logout/")
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT, username="mo_admin_a").exists()
    assert client.get("/").status_code == 302


def test_idle_session_expires(enter, mo_admin_a, settings):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client = enter(mo_admin_a)
    assert client.get("/").status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    assert session.expire_date > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/persons/")
    assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.mark.parametrize(
    ("role", "title", "present", "absent"),
    [
        (Role.DC_ADMIN, "Действия", "Администрирование справочников", None),
        (Role.MO_ADMIN, "Инструментарий", "Пакетная идентификация ТФОМС", "Администрирование справочников"),
        (Role.STATISTICIAN, "Меню", "Журнал работы сервисов", "Пакетная идентификация ТФОМС"),
    ],
)
def test_sidebar_per_workplace(enter, mo_a, role, title, present, absent):
    client = enter(WorkplaceFactory(mo=mo_a, role=role))
    page = client.get("/").content.decode()
    assert f'data-testid="sidebar-title">{title}<' in page
    assert present in page
    if absent:
        assert absent not in page
    # every workplace reaches the plans page (manual §4.5.2.1.2; the ЦОД admin for all МО)
    assert '<a href="/plans/">Планы диспансеризации и профилактических медицинских осмотров</a>' in page


def test_admin_is_for_the_dc_admin_workplace_only(enter, dc_admin, mo_admin_a):
    assert enter(dc_admin).get("/admin/registry/person/").status_code == 200
    # the same ЦОД admin working in an МО admin workplace does not get the admin
    same_user_as_mo_admin = WorkplaceFactory(user=dc_admin.user, mo=mo_admin_a.mo, role=Role.MO_ADMIN)
    assert enter(same_user_as_mo_admin).get("/admin/registry/person/", follow=True).status_code == 403
    assert enter(mo_admin_a).get("/admin/registry/person/", follow=True).status_code == 403
    assert Client().get("/admin/", follow=True).redirect_chain[-1][0].startswith("/login/")


def test_audit_rows_cannot_be_changed_in_the_admin(enter, dc_admin):
    client = enter(dc_admin)
    event = AuditEvent.objects.create(username="x", action=AuditAction.LOGIN)
    assert client.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/audit/auditevent/add/").status_code == 403


def test_admin_refuses_wrong_check_digits_from_our_users(enter, dc_admin):
    """СНИЛС and ОГРН typed by our users are checked (F1, formats §9)."""
    client = enter(dc_admin)
    page = client.post(
        "/admin/registry/mo/add/",
        {
            "code": "590077",
            "ogrn": "1024400519331",
            "name_full": "Новая МО",
            "name_short": "Новая",
            "is_active": "on",
            "subdivisions-TOTAL_FORMS": "0",
            "subdivisions-INITIAL_FORMS": "0",
        },
    ).content.decode()
    assert "Некорректный ОГРН" in page
    page = client.post(
        "/admin/registry/staff/add/",
        {"mo": dc_admin.mo_id, "last_name": "А", "first_name": "Б", "snils": "11223344596", "post_type": "1"},
    ).content.decode()
    assert "Некорректный СНИЛС" in page


def test_cancel_on_change_returns_to_the_current_workplace(client, mo_a, mo_b):
    """Issue 15 item 7: "Сменить МО / АРМ" → "Отмена" keeps the user where they were (no logout)."""
    user = UserFactory(username="multi2")
    current = WorkplaceFactory(user=user, mo=mo_a, role=Role.MO_ADMIN, unit="Отдел ИТ", schedule="Пн–Пт")
    WorkplaceFactory(user=user, mo=mo_b, role=Role.MO_ADMIN)
    login(client, "multi2")
    client.post("/workplace/", {"mo": mo_a.pk})
    assert client.get("/").status_code == 200
    assert (
        "Выбор МО"
        in client.get(
            "/workplace/?change=1", HTTP_REFERER="http://testserver/journal/?service=tfoms_auto"
        ).content.decode()
    )
    page = client.post("/workplace/", {"mo": mo_a.pk, "change": "1"}).content.decode()
    for column in ("Подразделение / Отделение / Служба", "Должность", "Расписание", "Отдел ИТ", "Пн–Пт"):
        assert column in page  # the columns of manual §3.2
    response = client.post("/workplace/cancel/")
    assert response.url == "/journal/?service=tfoms_auto"  # back on the page it was pressed on
    home = client.get("/")
    assert home.status_code == 200 and home.wsgi_request.workplace == current


def test_cancel_at_login_ends_the_session(client, mo_a, mo_b):
    user = UserFactory(username="multi3")
    WorkplaceFactory(user=user, mo=mo_a, role=Role.MO_ADMIN)
    WorkplaceFactory(user=user, mo=mo_b, role=Role.MO_ADMIN)
    login(client, "multi3")
    assert "Выбор МО" in client.get("/workplace/").content.decode()
    assert client.post("/workplace/cancel/").url == "/login/"
    assert client.get("/").status_code == 302  # logged out
