"""Batch identification by DBF files (SPEC B)."""

from django.apps import AppConfig


class IdentificationConfig(AppConfig):
    name = "identification"
    verbose_name = "Пакетная идентификация ТФОМС"
