"""Registry: the shared domain of persons, МО and reference data."""

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Реестр"
