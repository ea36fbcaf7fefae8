"""Service log: the exchange journal and the audit trail."""

from django.apps import AppConfig


class ServicelogConfig(AppConfig):
    name = "servicelog"
    verbose_name = "Журнал работы сервисов"
