"""Issue 15 item 9: 403, 404 and 500 in the portal's layout with the header, the sidebar and a way back."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from tfoms_portal import urls as portal_urls

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a bug")


urlpatterns = [*portal_urls.urlpatterns, path("boom/", _boom)]
handler500 = portal_urls.handler500


def test_404_has_the_layout_and_a_way_back(enter, mo_admin_a, settings):
    settings.DEBUG = False
    page = enter(mo_admin_a).get("/persons/999999/")
    html = page.content.decode()
    assert page.status_code == 404
    assert "Страница или объект не найдены" in html and 'data-testid="sidebar-title"' in html
    assert "Сменить МО / АРМ" in html and "На главную" in html and "Назад" in html


def test_403_has_the_layout(enter, statistician_a, settings):
    settings.DEBUG = False
    page = enter(statistician_a).get("/admin/registry/person/", follow=True)
    assert page.status_code == 403
    html = page.content.decode()
    assert "Доступ запрещён" in html and 'data-testid="sidebar-title"' in html
    assert "Администрирование доступно только в АРМ администратора ЦОД." in html


@pytest.mark.urls("tests.portal.test_error_pages")
def test_500_has_the_layout_and_never_the_traceback(mo_admin_a, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(mo_admin_a.user)
    page = client.get("/boom/")
    html = page.content.decode()
    assert page.status_code == 500
    assert "Внутренняя ошибка сервера" in html and "a bug" not in html and "Traceback" not in html
    assert "На главную" in html and "Портал ТФОМС" in html
