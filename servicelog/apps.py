"""Service log: the exchange journal and the audit trail."""

from django.apps import AppConfig


class ServicelogConfig(AppConfig):
    name = "servicelog"
    verbose_name = "Журнал работы сервисов"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from tfoms_portal import messaging

        from .catalog import TFOMS_AUTO, register_service, services_sync

        register_service(TFOMS_AUTO)  # the inbox's default service: inbound packages of unknown type

        post_migrate.connect(services_sync, sender=self)

        from .forming import register_relay_kick
        from .tasks import relay_soon

        register_relay_kick(relay_soon)

        from .formats import ANSWER_XSD, answer_build
        from .registry import PackageType, register_package_type

        # Our answers to the fund's packages travel through the outbox like any package.
        register_package_type(
            PackageType(
                code="ANSWER",
                family="answer",
                rank=0,
                xsd=ANSWER_XSD,
                builder=answer_build,
                queue=messaging.FROM_MIS_ANSWER,
                title="Ответ МО на пакет ТФОМС",
                ordered=False,
            )
        )
