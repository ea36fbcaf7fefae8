"""Writes of the pharmacy exchange settings, each change in the audit trail (SPEC F3, A5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from audit.models import AuditAction
from audit.services import audit_record
from servicelog.forming import ordering_key_for, sequence_lock
from servicelog.models import Service
from servicelog.peers import sent_objects_forget

from .exchange import FAMILY, SERVICE
from .formats import package_type
from .models import Directory, Mode, PharmacyDirectory, PharmacyOrganisation

FIELDS = ("name", "ogrn", "code", "active", "queue")
NOTHING_CHOSEN = "Не выбран ни один справочник: организации ничего не передаётся."
DC_ONLY = "Настройка обмена с аптечными организациями доступна только в АРМ администратора ЦОД."
CODE_FIXED = "Код организации не меняется после создания: под ним её система знает переданные справочники."


@dataclass(frozen=True)
class DirectoryChoice:
    enabled: bool
    mode: str = Mode.CHANGES


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "да" if value else "нет"
    return str(value)


def _label(field: str) -> str:
    return str(getattr(PharmacyOrganisation._meta.get_field(field), "verbose_name", field))


def _directory_state(choice: DirectoryChoice) -> str:
    return f"передаётся, {Mode(choice.mode).label.lower()}" if choice.enabled else "не передаётся"


def organisation_directories(organisation: PharmacyOrganisation | None) -> dict[str, DirectoryChoice]:
    """Every directory with this organisation's choice (off, by changes, for a directory never set)."""
    chosen = {}
    if organisation is not None and organisation.pk:
        chosen = {d.directory: DirectoryChoice(d.enabled, d.mode) for d in organisation.directories.all()}
    return {code: chosen.get(code, DirectoryChoice(False)) for code in Directory.values}


def organisation_warnings(organisation: PharmacyOrganisation) -> list[str]:
    """What the page warns about (nothing is refused for it)."""
    chosen = organisation_directories(organisation)
    if organisation.active and not any(choice.enabled for choice in chosen.values()):
        return [NOTHING_CHOSEN]
    return []


def _hold_forming(code: str) -> None:
    """Wait for (and hold off) a run forming this organisation's packages: the key's sequence lock,
    so no package is formed from the old settings after the forget."""
    service = Service.objects.filter(code=SERVICE).first()
    if service is not None:
        sequence_lock(ordering_key_for(service, None, FAMILY, code))


@transaction.atomic
def organisation_save(
    *,
    organisation: PharmacyOrganisation | None,
    fields: Mapping[str, Any],
    directories: Mapping[str, DirectoryChoice],
    request: HttpRequest | None,
) -> PharmacyOrganisation:
    """Create or change an organisation and its directory choices; one audit row says what changed
    (field: before → after). Invalid values raise ValidationError with Russian messages, nothing
    written."""
    unknown = set(directories) - set(Directory.values)
    if unknown:
        raise ValidationError({"directories": f"Неизвестные справочники: {', '.join(sorted(unknown))}."})
    bad_modes = [code for code, choice in directories.items() if choice.mode not in Mode.values]
    if bad_modes:
        raise ValidationError({"directories": f"Неизвестный режим передачи: {', '.join(sorted(bad_modes))}."})
    created = organisation is None
    target = (
        PharmacyOrganisation()
        if organisation is None
        else PharmacyOrganisation.objects.select_for_update().get(pk=organisation.pk)
    )
    before = {name: getattr(target, name) for name in FIELDS}
    if not created and "code" in fields and fields["code"] != target.code:
        raise ValidationError({"code": CODE_FIXED})
    old_choices = organisation_directories(None if created else target)
    for name in FIELDS:
        if name in fields:
            setattr(target, name, fields[name])
    target.full_clean()
    target.save()
    changes = [
        f"{_label(name)}: {_shown(before[name])} → {_shown(getattr(target, name))}"
        for name in FIELDS
        if created or before[name] != getattr(target, name)
    ]
    for code, choice in directories.items():
        PharmacyDirectory.objects.update_or_create(
            organisation=target, directory=code, defaults={"enabled": choice.enabled, "mode": choice.mode}
        )
        if old_choices[code].enabled and not choice.enabled:
            # switched off it stops; switched on again it goes whole, not as changes to what it had
            _hold_forming(target.code)
            sent_objects_forget(
                package_type=package_type(code),
                object_ids=[target.code],
                reason=f"справочник «{Directory(code).label}» больше не передаётся организации {target.code}",
            )
        if _directory_state(choice) != _directory_state(old_choices[code]):
            changes.append(
                f"{Directory(code).label}: {_directory_state(old_choices[code])} → {_directory_state(choice)}"
            )
    if changes:
        audit_record(
            action=AuditAction.PHARMACY_SETTINGS,
            request=request,
            obj=target,
            outcome="создана" if created else "изменена",
            details={"changes": changes},
        )
    return target
