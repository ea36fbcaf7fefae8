"""The 500 page in the portal's layout (header, sidebar, a way back), and plain when even that fails.

Django renders its 500 page without the request's context; ours asks for it, so the header and the
sidebar show. If the failure was the database itself, the sidebar cannot be built: the plain page
then says the same words instead of a second error."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render

PLAIN = (
    '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Внутренняя ошибка сервера</title>'
    "</head><body><h1>Внутренняя ошибка сервера</h1>"
    "<p>Администратор уже может увидеть её в журнале сервера. Повторите действие позже.</p>"
    '<p><a href="/">На главную</a></p></body></html>'
)


def server_error(request: HttpRequest) -> HttpResponse:
    try:
        return render(request, "500.html", status=500)
    except Exception:
        return HttpResponseServerError(PLAIN)
