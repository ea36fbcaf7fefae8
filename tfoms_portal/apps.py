"""App config of the project package: registers the deployment checks."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class TfomsPortalConfig(AppConfig):
    default = True
    name = "tfoms_portal"
    verbose_name = "Портал ТФОМС"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401  (registers the checks)
        from .search import register_sqlite_fold

        connection_created.connect(register_sqlite_fold)


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django admin on the portal's own site (ЦОД admin only, portal login)."""

    default = False
    default_site = "tfoms_portal.admin_site.PortalAdminSite"
