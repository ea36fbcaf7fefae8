"""Workplaces (АРМ), roles, the sidebar, and the one function that scopes МО-owned data (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.middleware import HtmxDetails
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .models import Person, Role, UserProfile, Workplace

SESSION_WORKPLACE = "workplace_id"
SESSION_MO = "chosen_mo_id"

M = TypeVar("M", bound=Model)


# --- scoping ---------------------------------------------------------------------------------


def mo_scope_paths(model: type[Model]) -> tuple[str, ...]:
    """Lookups from a model to its owning МО: `MO_SCOPE` on the model, else its `mo` field."""
    paths: tuple[str, ...] | None = getattr(model, "MO_SCOPE", None)
    if paths is None:
        model._meta.get_field("mo")  # raises FieldDoesNotExist: the model is not МО-owned
        paths = ("mo",)
    return paths


def scope(queryset: QuerySet[M], workplace: Workplace | None) -> QuerySet[M]:
    """Every МО-owned queryset goes through here: the ЦОД admin sees all, others their own МО only.

    A model with `REGION_WIDE_WHEN_NULL` (runs, log lines) shows its region-wide rows, those without
    an МО, to everyone. A model owned through several paths (a person: attachments or treatment
    cases) is filtered by subqueries of primary keys, so no duplicates and no DISTINCT leak into the
    caller's query.
    """
    if workplace is None:
        return queryset.none()
    if workplace.sees_all_mo:
        return queryset
    paths = mo_scope_paths(queryset.model)
    model = queryset.model
    if len(paths) == 1 and "__" not in paths[0]:
        condition = Q(**{paths[0]: workplace.mo_id})
    else:
        # Through joins: one primary-key subquery per path, so no duplicate rows and no OR across
        # two one-to-many joins (which would multiply rows on a real region).
        condition = Q()
        for path in paths:
            condition |= Q(pk__in=model._default_manager.filter(**{path: workplace.mo_id}).values("pk"))
    if getattr(model, "REGION_WIDE_WHEN_NULL", False):
        condition |= Q(**{f"{paths[0]}__isnull": True})  # region-wide rows (a scheduled run) belong to all
    return queryset.filter(condition)


MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """An object id from a URL or form: ASCII digits within the 64-bit range, else None (never a 500)."""
    text = str(value or "")
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def get_scoped_or_404(queryset: QuerySet[M], workplace: Workplace | None, **lookup: Any) -> M:
    """An object by id within the viewer's scope; another МО's object is simply not found."""
    try:
        return scope(queryset, workplace).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404("Объект не найден") from exc


# --- workplaces ------------------------------------------------------------------------------


def user_workplaces(user: Any) -> QuerySet[Workplace]:
    return Workplace.objects.filter(user=user, is_active=True, mo__is_active=True).select_related("mo")


def default_workplace(user: Any) -> Workplace | None:
    profile = UserProfile.objects.filter(user=user).select_related("default_workplace__mo").first()
    workplace = profile.default_workplace if profile else None
    if workplace is None or not workplace.is_active or not workplace.mo.is_active:
        return None
    return workplace


def activate_workplace(request: HttpRequest, workplace: Workplace) -> None:
    """Work in this workplace from now on and remember it as the default (A2)."""
    request.session[SESSION_WORKPLACE] = workplace.pk
    request.session[SESSION_MO] = workplace.mo_id
    user = request.user
    if not user.is_authenticated:
        raise PermissionError("a workplace is activated only for a signed-in user")
    UserProfile.objects.update_or_create(user=user, defaults={"default_workplace": workplace})
    request.workplace = workplace  # type: ignore[attr-defined]


def session_workplace(request: HttpRequest) -> Workplace | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    workplace_id = request.session.get(SESSION_WORKPLACE)
    if workplace_id is None:
        return None
    return user_workplaces(user).filter(pk=workplace_id).first()


class WorkplaceRequest(HttpRequest):
    """The request as pages see it: the middleware has set the active workplace."""

    workplace: Workplace | None
    htmx: HtmxDetails  # django-htmx: falsy unless the request came from htmx


class WorkplaceMiddleware:
    """Sets `request.workplace` (the active АРМ of the session, checked against the database)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.workplace = session_workplace(request)  # type: ignore[attr-defined]
        return self.get_response(request)


def workplace_required(
    *roles: str,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """A page for users with a chosen workplace of one of `roles` (all roles when none given)."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
            workplace: Workplace | None = getattr(request, "workplace", None)
            if workplace is None:
                return redirect("workplace")
            if roles and workplace.role not in roles:
                messages.error(request, "Эта форма недоступна в вашем АРМ.")
                return redirect("home")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class HasWorkplace(BasePermission):
    """API: the session's workplace, else the user's default one (token clients act in it)."""

    message = "Не выбрано место работы (АРМ) по умолчанию: войдите в портал и выберите его."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        bound = getattr(request.auth, "workplace", None)  # an API token acts in its own workplace
        if bound is not None:
            usable = bound.is_active and bound.mo.is_active and bound.user_id == request.user.pk
            workplace = bound if usable else None  # closed, or since given to someone else
        else:
            workplace = session_workplace(request._request) or default_workplace(request.user)
        request._request.workplace = workplace  # type: ignore[attr-defined]
        return workplace is not None


def api_workplace(request: Request) -> Workplace | None:
    return getattr(request._request, "workplace", None)


def api_person_param(request: Request) -> int | None:
    """`?person=` of a domain API: None when absent, 400 when it is not an id."""
    if "person" not in request.query_params:
        return None
    person_id = parse_id(request.query_params["person"])
    if person_id is None:
        raise ValidationError({"person": ["Укажите числовой идентификатор человека."]})
    return person_id


def api_person_found(person_id: int | None, found: bool, workplace: Workplace | None) -> None:
    """A domain API asked about one person and found nothing: 404 when the person is not the
    viewer's (another МО's, or none) — the same answer either way (A4)."""

    if (
        person_id is not None
        and not found
        and not scope(Person.objects.filter(pk=person_id), workplace).exists()
    ):
        raise Http404


# --- the sidebar -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuEntry:
    title: str
    url_name: str | None  # None: the page is built by a later issue and is not offered yet
    later: str = ""


_PERSONS = MenuEntry("Поиск людей", "person_list")
_IDENT = MenuEntry("Пакетная идентификация ТФОМС", "identification")
_ATTACH_FILE = MenuEntry("Выгрузка прикреплений", "attachment_export")
_JOURNAL = MenuEntry("Журнал работы сервисов", "journal")
_SEARCH = MenuEntry("Поиск пакетов", "journal_search")
_DASHBOARD = MenuEntry("Пакеты по дням", "journal_dashboard")
_PLANS = MenuEntry("Планы диспансеризации и профилактических медицинских осмотров", "plans")

SIDEBAR: dict[str, tuple[str, list[MenuEntry]]] = {
    Role.DC_ADMIN: (
        "Действия",
        [
            _PERSONS,
            _IDENT,
            _ATTACH_FILE,
            _JOURNAL,
            _SEARCH,
            _DASHBOARD,
            _PLANS,
            MenuEntry("Объединённые записи ТФОМС", "fund_merges"),
            MenuEntry("Настройка обмена с аптечными организациями", "pharmacy_settings"),
            MenuEntry("Журнал аудита", "audit"),
            MenuEntry("Администрирование справочников", "admin:index"),
            MenuEntry("API (документация)", "api_docs"),
        ],
    ),
    Role.MO_ADMIN: (
        "Инструментарий",
        [_PERSONS, _IDENT, _ATTACH_FILE, _JOURNAL, _SEARCH, _DASHBOARD, _PLANS],
    ),
    Role.STATISTICIAN: ("Меню", [_PERSONS, _JOURNAL, _SEARCH, _PLANS]),
}


def workplace_context(request: HttpRequest) -> dict[str, Any]:
    workplace: Workplace | None = getattr(request, "workplace", None)
    if workplace is None:
        return {"workplace": None}
    title, entries = SIDEBAR[workplace.role]
    return {"workplace": workplace, "sidebar_title": title, "sidebar_entries": entries}
