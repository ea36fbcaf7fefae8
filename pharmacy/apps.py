"""Information exchange with pharmacy organisations: directories for ИС Фармация (SPEC F3)."""

from django.apps import AppConfig


class PharmacyConfig(AppConfig):
    name = "pharmacy"
    verbose_name = "Обмен с аптечными организациями"

    def ready(self) -> None:
        from registry.demo import register_demo_step

        from .demo import pharmacy_demo

        register_demo_step(pharmacy_demo)
