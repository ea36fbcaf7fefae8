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
        self._register_online()
        from registry.fund_changes import register_online_asker

        from .online import identify_online_start
        from .online_views import online_section

        # the fund's changes that re-ask about a person (POLIS, PERSCHANGE …) ask online too (C6, B8)
        register_online_asker(lambda person, mo: identify_online_start(person=person, mo=mo, user=None))

        register_card_section(
            CardSection("identification/online_section.html", online_section, order=5, top=True)
        )

    def _register_online(self) -> None:
        """Online identification (B8): the PERS query and the RPC call that carries it."""
        from servicelog.rpc import RpcKind, register_rpc_kind
        from tfoms_portal import messaging

        from . import online

        register_rpc_kind(
            RpcKind(
                online.KIND,
                service="tfoms_auto",
                package_type=online.PACKAGE_TYPE,
                timeout_seconds=online.timeout_seconds,
                read=online.answer_read,
                apply=online.answer_apply,
                expired=online.expired,
                template="identification/online_call.html",
            ),
            request_xsd=online.PERS_XSD,
            envelope=online.PERS_ENVELOPE,
            queue=messaging.FROM_MIS,
            title="Идентификация застрахованного лица (онлайн)",
        )
