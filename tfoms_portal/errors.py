"""The API's 404 in JSON, as its schema says; a refused cross-site request in words; the 500 page
in the portal's layout (header, sidebar, a way back), and plain when even that fails.

Django renders its 500 page without the request's context; ours asks for it, so the header and the
sidebar show. If the failure was the database itself, the sidebar cannot be built: the plain page
then says the same words instead of a second error."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.views.defaults import page_not_found

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


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An address under /api/ that matches no route (a non-numeric id, a typo) answers as the API
    does, in JSON; every other address gets the portal's 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Не найдено."}, status=404, json_dumps_params={"ensure_ascii": False})
    return page_not_found(request, exception)


CSRF_REFUSED = "Действие не выполнено: запрос без действующего CSRF-токена. Обновите страницу и повторите."


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid CSRF token (a page open across a new login, or a request from
    another site): nothing was changed, and the user is told so in Russian, not Django's English."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": CSRF_REFUSED}, status=403, json_dumps_params={"ensure_ascii": False})
    return render(request, "403_csrf.html", status=403)
