"""Pages of the registry: login → МО → АРМ (A1, A2), the home page, person search and card (A6)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AuditAction
from audit.services import audit_record
from registry.access import (
    SESSION_MO,
    SESSION_WORKPLACE,
    WorkplaceRequest,
    activate_workplace,
    default_workplace,
    get_scoped_or_404,
    parse_id,
    user_workplaces,
    workplace_required,
)

from .auth import login_check
from .cards import card_sections
from .forms import LoginForm, PersonSearchForm
from .models import Mo, Person, Role, TreatmentCase, Workplace
from .selectors import PersonQuery, person_card, person_search
from .services import person_identification_request

IDENTIFY_ROLES = (Role.DC_ADMIN, Role.MO_ADMIN)
NO_WORKPLACE = "У пользователя нет ни одного действующего места работы (АРМ). Обратитесь к администратору МО."
SESSION_RETURN = "workplace_return_id"  # the workplace "Сменить МО / АРМ" was pressed in
SESSION_RETURN_PAGE = "workplace_return_page"  # and the page
SESSION_EXPIRED = "Сеанс работы истёк. Войдите в систему снова."


def _safe_next(request: HttpRequest, candidate: str) -> str:
    ok = url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure())
    return candidate if candidate and ok else ""


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect("home")
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = login_check(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if result.user is not None:
            login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
            audit_record(action=AuditAction.LOGIN, request=request, user=result.user)
            if next_url:
                request.session["after_workplace"] = next_url
            return redirect("workplace")
        error = result.error
    elif request.method == "POST":
        error = "Введите имя пользователя и пароль."
    return render(request, "registry/login.html", {"form": form, "error": error, "next": next_url})


@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """Logout is a POST (the header button); a typed-in GET only leads back to the portal."""
    if request.method == "GET":
        return redirect("home")
    if request.user.is_authenticated:
        audit_record(action=AuditAction.LOGOUT, request=request)
    logout(request)
    messages.info(request, "Вы вышли из системы.")
    return redirect("login")


def _enter(request: HttpRequest, workplace: Workplace) -> HttpResponse:
    activate_workplace(request, workplace)
    audit_record(action=AuditAction.WORKPLACE_CHOSEN, request=request, obj=workplace)
    return redirect(request.session.pop("after_workplace", "") or "home")


@require_http_methods(["GET", "POST"])
def workplace_view(request: HttpRequest) -> HttpResponse:
    """Step 1: the МО (when the user works in several); step 2: the АРМ, remembered as default (A2).

    The workplace form is skipped when the default workplace is in the chosen МО or the МО offers
    exactly one workplace; `?change=1` (the header link) always shows both steps.
    """
    if not request.user.is_authenticated:
        messages.warning(request, SESSION_EXPIRED)
        return redirect("login")
    workplaces = list(user_workplaces(request.user).order_by("mo__code", "role"))
    if not workplaces:
        audit_record(action=AuditAction.LOGIN_REFUSED, request=request, outcome="нет места работы")
        logout(request)
        messages.error(request, NO_WORKPLACE)
        return redirect("login")
    change = request.GET.get("change") == "1" or request.POST.get("change") == "1"
    if change and request.method == "GET":
        current = request.session.pop(SESSION_WORKPLACE, None)
        if current is not None:  # "Отмена" goes back to it, on the page it was pressed on
            request.session[SESSION_RETURN] = current
            came_from = request.META.get("HTTP_REFERER", "")
            if url_has_allowed_host_and_scheme(came_from, allowed_hosts={request.get_host()}):
                parts = urlsplit(came_from)
                if not parts.path.startswith("/workplace/"):
                    request.session[SESSION_RETURN_PAGE] = parts.path + (
                        f"?{parts.query}" if parts.query else ""
                    )
        request.session.pop(SESSION_MO, None)
    mos: dict[int, Mo] = {w.mo_id: w.mo for w in workplaces}
    default = default_workplace(request.user)

    if request.method == "POST" and "mo" in request.POST:
        chosen = request.POST.get("mo", "")
        if parse_id(chosen) not in mos:
            messages.error(request, "Выбранная МО недоступна пользователю.")
            return render(
                request, "registry/choose_mo.html", {"mos": mos.values(), "change": change}, status=400
            )
        request.session[SESSION_MO] = int(chosen)
        request.session.pop(SESSION_WORKPLACE, None)
    elif request.method == "POST" and "workplace" in request.POST:
        chosen = request.POST.get("workplace", "")
        mo_id = request.session.get(SESSION_MO)
        picked = next((w for w in workplaces if str(w.pk) == chosen and w.mo_id == mo_id), None)
        if picked is None:
            messages.error(request, "Выбранное место работы недоступно пользователю.")
            offered = [w for w in workplaces if w.mo_id == mo_id]
            if not offered:
                return redirect("workplace")
            return render(request, "registry/choose_workplace.html", {"workplaces": offered}, status=400)
        return _enter(request, picked)

    mo_id = request.session.get(SESSION_MO)
    if mo_id not in mos:
        if len(mos) > 1:
            selected = default.mo_id if default else None
            return render(
                request,
                "registry/choose_mo.html",
                {"mos": mos.values(), "selected": selected, "change": change},
            )
        mo_id = next(iter(mos))
        request.session[SESSION_MO] = mo_id
    offered = [w for w in workplaces if w.mo_id == mo_id]
    if not change and default is not None and default.mo_id == mo_id:
        return _enter(request, default)
    if not change and len(offered) == 1:
        return _enter(request, offered[0])
    return render(
        request, "registry/choose_workplace.html", {"workplaces": offered, "mo": mos[mo_id], "change": change}
    )


@require_POST
def workplace_cancel_view(request: HttpRequest) -> HttpResponse:
    """ "Отмена" on the МО and АРМ forms: back to the workplace the user was in when they pressed
    "Сменить МО / АРМ"; at login, when there is none yet, it ends the session (manual §3.2)."""
    back = request.session.pop(SESSION_RETURN, None)
    page = request.session.pop(SESSION_RETURN_PAGE, "")
    if request.user.is_authenticated and back is not None:
        workplace = user_workplaces(request.user).filter(pk=back).first()
        if workplace is not None:
            activate_workplace(request, workplace)
            return redirect(page or "home")
    return logout_view(request)


@workplace_required()
def home_view(request: WorkplaceRequest) -> HttpResponse:
    return render(request, "registry/home.html")


@workplace_required()
def person_list_view(request: WorkplaceRequest) -> HttpResponse:
    form = PersonSearchForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "page": None}
    if form.is_bound and form.is_valid():
        query = PersonQuery(**form.cleaned_data)
        if query.is_empty:
            context["hint"] = "Укажите хотя бы одно условие поиска."
        else:
            persons = person_search(workplace=request.workplace, query=query).prefetch_related("policies")
            context["page"] = Paginator(persons, 50).get_page(request.GET.get("page"))
            params = request.GET.copy()
            params.pop("page", None)
            context["query_string"] = params.urlencode()
    return render(request, "registry/person_list.html", context)


@workplace_required()
def person_card_view(request: WorkplaceRequest, person_id: int) -> HttpResponse:
    card = person_card(workplace=request.workplace, person_id=person_id)
    audit_record(action=AuditAction.PERSON_VIEWED, request=request, obj=card.person)
    context = {
        "card": card,
        "person": card.person,
        "sections": card_sections(card.person, request.workplace),
        "top_sections": card_sections(card.person, request.workplace, top=True),
        "can_identify": request.workplace is not None and request.workplace.role in IDENTIFY_ROLES,
    }
    return render(request, "registry/person_card.html", context)


@require_http_methods(["POST"])
@workplace_required(*IDENTIFY_ROLES)
def person_identify_view(request: WorkplaceRequest, person_id: int) -> HttpResponse:
    """ "Идентифицировать": the person is queued for the next identification package of this МО (B2)."""
    card = person_card(workplace=request.workplace, person_id=person_id)
    workplace = request.workplace
    assert workplace is not None
    person_identification_request(
        person=card.person, reason=Person.IdentificationReason.MANUAL, mo=workplace.mo
    )
    audit_record(action=AuditAction.IDENTIFY_REQUEST, request=request, obj=card.person)
    messages.success(
        request,
        f"{card.person.full_name} {card.person.by_sex('поставлен', 'поставлена')} в очередь на идентификацию "
        f"в ТФОМС: запись войдёт в ближайший "
        f"пакет МО {workplace.mo.code} (сервис «Пакетная идентификация ТФОМС: формирование пакетов»).",
    )
    return redirect("person_card", person_id=card.person.pk)


@workplace_required()
def case_view(request: WorkplaceRequest, case_id: int) -> HttpResponse:
    """A treatment case, read-only (the link from the identification records, B1)."""
    case = get_scoped_or_404(
        TreatmentCase.objects.select_related("person", "mo"), request.workplace, pk=case_id
    )
    return render(request, "registry/case.html", {"case": case})
