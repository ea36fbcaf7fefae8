"""The API's session authentication with its CSRF refusal in Russian (DRF's own says "CSRF Failed:
CSRF token missing." in English): a script of the portal's pages sends the token; a request from
another site with the user's cookie is refused, and nothing changes."""

from __future__ import annotations

from drf_spectacular.authentication import SessionScheme
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .errors import CSRF_REFUSED


class SessionAuthentication(authentication.SessionAuthentication):
    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(CSRF_REFUSED) from exc


class PortalSessionScheme(SessionScheme):
    """The schema names it as DRF's session scheme (the cookie)."""

    target_class = "tfoms_portal.api_auth.SessionAuthentication"
