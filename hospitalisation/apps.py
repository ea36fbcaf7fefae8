"""Hospitalisation under FFOMS order 263 (SPEC C2)."""

from django.apps import AppConfig


class HospitalisationConfig(AppConfig):
    name = "hospitalisation"
    verbose_name = "Госпитализация (приказ 263)"

    def ready(self) -> None:
        from servicelog.catalog import ServiceSpec, register_service

        register_service(ServiceSpec("iszl263", "Сервис сопровождения застрахованных лиц (263 приказ)"))
