"""The Django admin of the portal: reference data for the ЦОД admin only, through the portal login."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from registry.models import Role, Workplace


def is_dc_admin(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and Workplace.objects.filter(user=user, role=Role.DC_ADMIN, is_active=True).exists()
    )


class PortalAdminSite(admin.AdminSite):
    site_header = "Портал ТФОМС — администрирование"
    site_title = "Портал ТФОМС"
    index_title = "Справочники и данные обмена"

    def has_permission(self, request: HttpRequest) -> bool:
        """Only while working in the АРМ администратора ЦОД: the admin sees every МО's data."""
        workplace = getattr(request, "workplace", None)
        return is_dc_admin(request.user) and workplace is not None and workplace.role == Role.DC_ADMIN

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """One login page for the whole portal (throttled, audited); a signed-in non-ЦОД user gets 403."""
        if request.user.is_authenticated:
            raise PermissionDenied("Администрирование доступно только в АРМ администратора ЦОД.")
        return redirect(f"{reverse('login')}?next={request.GET.get('next', reverse('admin:index'))}")


class DcAdminPermissionBackend(BaseBackend):
    """Grants the ЦОД admin every model permission in the admin; authenticates nobody."""

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return is_dc_admin(user_obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return is_dc_admin(user_obj)
