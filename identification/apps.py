"""Batch identification by DBF files (SPEC B): jobs of the ident_batch and ident_responses services."""

from django.apps import AppConfig


class IdentificationConfig(AppConfig):
    name = "identification"
    verbose_name = "Пакетная идентификация ТФОМС"

    def ready(self) -> None:
        from registry.cards import CardSection, register_card_section
        from servicelog.catalog import ServiceSpec, register_service
        from servicelog.registry import register_service_job

        from .selectors import person_history_section
        from .services import ident_batch_job, ident_responses_job

        register_card_section(
            CardSection("identification/person_history.html", person_history_section, order=10)
        )
        register_service(
            ServiceSpec("ident_batch", "Пакетная идентификация ТФОМС: формирование пакетов", True, False)
        )
        register_service(
            ServiceSpec("ident_responses", "Пакетная идентификация ТФОМС: загрузка ответов", True, False)
        )
        register_service_job("ident_batch")(ident_batch_job)
        register_service_job("ident_responses")(ident_responses_job)
