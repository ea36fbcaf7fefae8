"""The services of the journal (issue 3 item 4), kept present after every migrate and flush."""

from __future__ import annotations

from typing import Any

# code, name, manual start allowed, carries packages
SERVICES: list[tuple[str, str, bool, bool]] = [
    ("tfoms_auto", "Сервис автоматизированного взаимодействия с ТФОМС", True, True),
    ("dispplan_exchange", "Обмен планами профилактических осмотров", True, True),
    ("iszl263", "Сервис сопровождения застрахованных лиц (263 приказ)", True, True),
    ("ident_batch", "Пакетная идентификация ТФОМС: формирование пакетов", True, False),
    ("ident_responses", "Пакетная идентификация ТФОМС: загрузка ответов", True, False),
]


def services_sync(**kwargs: Any) -> None:
    """post_migrate: create the missing services (names and flags already set are left as they are,
    an administrator may have changed them)."""
    from .models import Service

    for code, name, manual_start, carries_packages in SERVICES:
        Service.objects.get_or_create(
            code=code,
            defaults={"name": name, "manual_start": manual_start, "carries_packages": carries_packages},
        )
