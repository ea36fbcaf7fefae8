"""Registry: the shared domain of persons, МО and reference data."""

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Реестр"

    def ready(self) -> None:
        from servicelog.catalog import TFOMS_AUTO, register_service

        from .cards import CardSection, register_card_section
        from .consumers import register
        from .fund_views import person_fund_packages

        register_service(TFOMS_AUTO)  # the fund's packages about persons belong to it (§4.4.5.5.1)
        register()
        register_card_section(CardSection("registry/_fund_packages.html", person_fund_packages, order=900))
