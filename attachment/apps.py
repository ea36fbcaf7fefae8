"""The attachment service and the attachment file (SPEC C4, D1); DISTRICT flows through the engine."""

from django.apps import AppConfig


class AttachmentConfig(AppConfig):
    name = "attachment"
    verbose_name = "Прикрепление"

    def ready(self) -> None:
        from servicelog.registry import PackageType, register_package_type, register_service_job

        from .formats import DISTRICT_XSD, district_build, district_check
        from .services import district_job

        register_package_type(
            PackageType(
                code="DISTRICT",
                family="attach",
                rank=1,
                xsd=DISTRICT_XSD,
                builder=district_build,
                check=district_check,
            )
        )
        register_service_job("tfoms_auto")(district_job)
