"""CSRF on every state-changing address (issue 16 item 5): a request that carries the user's session
cookie but not the CSRF token — what another site can make the user's browser send — is refused with
403 on every page, the admin and the API alike, in Russian, and changes nothing. The walk covers every
route of the portal, so a view added later with @csrf_exempt fails here."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from servicelog.models import ServiceRun
from tfoms_portal.errors import CSRF_REFUSED

pytestmark = pytest.mark.django_db

# Addresses that need no CSRF token, each with the reason it is safe.
EXEMPT = {
    # The token endpoint takes a user name and password, no cookie: another site cannot use the
    # user's session through it, and cannot read the token it answers (no CORS).
    "/api/v1/auth/token/",
}
SAMPLE = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": str(uuid.uuid4())}


def every_route() -> list[str]:
    """Every address of the portal (admin and API included), its parameters filled with samples;
    the CSRF check comes before the view, so the objects need not exist."""
    found: list[str] = []

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            if not isinstance(pattern.pattern, RoutePattern):
                continue  # a regex route (the admin's app index, a format suffix) has a route twin
            route = prefix + str(pattern.pattern)
            for name, converter in pattern.pattern.converters.items():
                kind = type(converter).__name__.removesuffix("Converter").lower()
                route = route.replace(f"<{kind}:{name}>", SAMPLE.get(kind, "1")).replace(f"<{name}>", "x")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif "<" not in route:  # a converter of DRF's own (format suffixes) has a plain twin
                found.append("/" + route)

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


def refused_for_csrf(response) -> bool:
    """403 with the portal's CSRF words: its page, or the API's refusal in whatever the address
    renders (JSON, the schema's YAML, the docs' HTML)."""
    body = response.content.decode()
    return response.status_code == 403 and ('data-testid="csrf-failure"' in body or "CSRF-токена" in body)


@pytest.fixture
def forged(dc_admin) -> Client:
    """The ЦОД admin's browser, logged in, sending what another site's form would: no token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(dc_admin.user)
    session = client.session
    session["workplace_id"] = dc_admin.pk
    session.save()
    return client


def test_every_address_refuses_a_state_change_without_the_csrf_token(forged):
    routes = [route for route in every_route() if route not in EXEMPT]
    assert len(routes) >= 80, len(routes)  # the walk reached the pages, the admin and the API
    accepted = []
    for route in routes:
        for method in ("post", "put", "patch", "delete") if route.startswith("/api/") else ("post",):
            response = getattr(forged, method)(route, {})
            if not refused_for_csrf(response):
                accepted.append(f"{method.upper()} {route} → {response.status_code}")
    assert accepted == [], "\n".join(accepted)


def test_a_forged_start_of_a_service_changes_nothing_and_says_so_in_russian(forged, dc_admin):
    response = forged.post("/journal/tfoms_auto/start/", {})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Страница устарела" in html and "Ничего не изменено" in html and "CSRF verification" not in html
    assert 'data-testid="sidebar-title"' in html  # in the portal's layout, with a way back
    assert not ServiceRun.objects.exists()


def test_the_same_request_with_the_token_is_not_refused(forged):
    """The control: what the walk calls a CSRF refusal is that, not any 403."""
    client = forged
    client.get("/journal/")  # a page with a form: it sets the token's cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/logout/", {"csrfmiddlewaretoken": token})
    assert not refused_for_csrf(response) and response.status_code in (200, 302)


def test_the_api_refuses_a_cookie_without_the_token_in_russian_and_changes_nothing(forged, dc_admin):
    from registry.models import ApiToken

    Client().post("/api/v1/auth/token/", {"username": dc_admin.user.username, "password": "secret-pass-1"})
    key = ApiToken.objects.get().token_key
    response = forged.delete(f"/api/v1/auth/tokens/{key}/")
    assert response.status_code == 403 and response.json() == {"detail": CSRF_REFUSED}
    assert ApiToken.objects.filter(token_key=key).exists()  # not revoked by another site's request
