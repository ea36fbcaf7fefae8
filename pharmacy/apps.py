"""Information exchange with pharmacy organisations: directories for ИС Фармация (SPEC F3)."""

from django.apps import AppConfig


class PharmacyConfig(AppConfig):
    name = "pharmacy"
    verbose_name = "Обмен с аптечными организациями"

    def ready(self) -> None:
        from registry.demo import register_demo_step
        from servicelog.catalog import ServiceSpec, register_service
        from servicelog.registry import PackageType, register_package_type, register_service_job

        from . import formats as f
        from .demo import pharmacy_demo
        from .exchange import FAMILY, SERVICE, PharmacyJob, route
        from .models import Directory

        register_service(ServiceSpec(SERVICE, "Передача справочников в ИС Фармация", region_only=True))
        for rank, directory in enumerate(Directory, start=1):
            register_package_type(
                PackageType(
                    f.package_type(directory.value),
                    FAMILY,
                    rank,
                    f.XSD,
                    builder=f.build,
                    title=f"Справочник для ИС Фармация: {directory.label}",
                    route=route,
                )
            )
        register_service_job(SERVICE)(PharmacyJob())
        register_demo_step(pharmacy_demo)
