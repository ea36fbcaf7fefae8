"""The services of the journal, registered by the apps that own them and kept present after every
migrate and flush (servicelog names no family's service)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServiceSpec:
    code: str
    name: str
    manual_start: bool = True
    carries_packages: bool = True
    note: str = ""  # where its packages come from, when not from "Запуск" (shown in the journal)
    # What a run's detailed log opens on: its packages (§4.6.3) or its lines by GUID and type (§4.6.2.4).
    detail: str = "packages"
    # The ЦОД admin's only, for the whole region (its objects belong to no МО: pharmacy); other
    # workplaces do not see it in the journal.
    region_only: bool = False


_services: dict[str, ServiceSpec] = {}


def register_service(spec: ServiceSpec) -> ServiceSpec:
    """From an app's AppConfig.ready(); several apps may share one service (the same spec)."""
    existing = _services.get(spec.code)
    if existing is not None and existing != spec:
        raise ValueError(f"service {spec.code} is registered twice with different settings")
    _services[spec.code] = spec
    return spec


def region_only_services() -> list[str]:
    return [code for code, spec in _services.items() if spec.region_only]


def service_detail(code: str) -> str:
    spec = _services.get(code)
    return spec.detail if spec is not None else "packages"


def service_note(code: str) -> str:
    spec = _services.get(code)
    return spec.note if spec is not None else ""


def registered_services() -> list[ServiceSpec]:
    return list(_services.values())


# "Сервис автоматизированного взаимодействия с ТФОМС" (§4.4.5.3–§4.4.5.5): attachment, dispensary
# observation and the fund's inbound packages all belong to it.
TFOMS_AUTO = ServiceSpec("tfoms_auto", "Сервис автоматизированного взаимодействия с ТФОМС")


def services_sync(**kwargs: Any) -> None:
    """post_migrate: create the missing services (names and flags already set are left as they are,
    an administrator may have changed them)."""
    from .models import Service

    for spec in _services.values():
        Service.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "manual_start": spec.manual_start,
                "carries_packages": spec.carries_packages,
            },
        )
