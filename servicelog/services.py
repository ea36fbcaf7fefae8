"""Retention of old bodies and a person's decisions on packages (C9, E4, E5).

The engine's other writes live by concern: statuses and the log (`statuses`), forming and the
outbox (`forming`), runs (`runs`); their names are re-exported here for the callers of old."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .forming import PersonKeys, content_hash, ordering_key_for, package_form, packages_form, relay_kick
from .models import LogEntry, Operation, Package, PackageStatus, SentObject
from .runs import (
    RunRefused,
    run,
    run_beat,
    run_execute,
    run_finish,
    run_open,
    run_start,
    runs_close_dead,
    service_execute,
)
from .statuses import (
    LOG_LEVELS,
    STATUS_MESSAGES,
    TRANSITIONS,
    InvalidTransition,
    log_write,
    package_set_status,
    packages_set_status,
)

__all__ = [
    "LOG_LEVELS",
    "STATUS_MESSAGES",
    "TRANSITIONS",
    "InvalidTransition",
    "PersonKeys",
    "RunRefused",
    "content_hash",
    "log_write",
    "ordering_key_for",
    "package_form",
    "package_set_status",
    "packages_form",
    "packages_set_status",
    "relay_kick",
    "run",
    "run_beat",
    "run_execute",
    "run_finish",
    "run_open",
    "run_start",
    "runs_close_dead",
    "service_execute",
]
S = PackageStatus


# --- retention (C9) -------------------------------------------------------------------------------

FINAL_STATUSES = (S.ACCEPTED, S.REJECTED_BY_FUND, S.PROCESSED, S.REJECTED, S.FORM_ERROR)


def packages_purge_bodies(*, older_than_days: int | None = None) -> int:
    """Remove the personal data of old finished packages (body, data, the person keys, the person in
    the answer) after the retention period; type, operation, status, dates and result stay. The
    package a peer last accepted keeps its payload's `state` (item codes and digests of the items,
    not their text): what a family sending by changes compares with (a pharmacy directory)."""
    days = older_than_days if older_than_days is not None else settings.TFOMS_PACKAGE_BODY_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    old = (
        Package.objects.filter(created_at__lt=cutoff, status__in=FINAL_STATUSES)
        .exclude(body="", payload={})
        .annotate(last_accepted=Exists(SentObject.objects.filter(last_package=OuterRef("pk"))))
    )
    purged = 0
    for package in old.iterator(chunk_size=1000):
        payload = package.payload if isinstance(package.payload, dict) else {}
        kept = {"state": payload["state"]} if "state" in payload and package.last_accepted else {}
        if package.body == "" and payload == kept:
            continue  # purged before: only its state is left
        reply = dict(package.reply or {})
        reply.pop("PERSON", None)
        Package.objects.filter(pk=package.pk).update(
            body="",
            payload=kept,
            enp="",
            snils="",
            fio="",
            reply=reply if package.reply is not None else None,
        )
        purged += 1
    return purged


# --- a person's decisions on packages (E4, E5) ----------------------------------------------------

NOT_YET_SENT = (S.FORMED, S.SEND_ERROR, S.FORM_ERROR)
RESENDABLE = (S.SEND_ERROR, S.REJECTED_BY_FUND)


class PackageActionRefused(ValueError):
    """The action does not apply to the package now; the message says why."""


def _who(user: User | None) -> str:
    return user.get_username() if user is not None else "система"


@transaction.atomic
def package_do_not_send(*, package: Package, value: bool, user: User | None, reason: str = "") -> Package:
    """ "Не отправлять повторно" / "Снять запрет отправки" (E4); a flagged package is never published."""
    package = Package.objects.select_for_update().get(pk=package.pk)
    if value:
        if package.do_not_send:
            raise PackageActionRefused("Запрет отправки уже установлен.")
        if package.direction != "out":
            raise PackageActionRefused(
                "Запрет отправки ставится только на пакет МО, а этот пакет получен от ТФОМС."
            )
        package.do_not_send, package.do_not_send_by, package.do_not_send_at = True, user, timezone.now()
        package.do_not_send_reason = reason[:500]
        message = f"Установлен запрет отправки ({_who(user)})" + (f": {reason}" if reason else "")
        if package.status not in NOT_YET_SENT:  # it only ever stops a future send (§4.6.3)
            message += ". Пакет уже передан в ТФОМС: запрет действует на повторные отправки"
    else:
        if not package.do_not_send:
            raise PackageActionRefused("Запрета отправки у пакета нет.")
        package.do_not_send, package.do_not_send_by, package.do_not_send_at = False, None, None
        package.do_not_send_reason = ""
        message = f"Снят запрет отправки ({_who(user)})"
    package.save(update_fields=["do_not_send", "do_not_send_by", "do_not_send_at", "do_not_send_reason"])
    log_write(
        package=package, run=package.run, message=message, level=LogEntry.Level.WARNING if value else "info"
    )
    return package


@transaction.atomic
def package_resend(*, package: Package, user: User | None) -> Package:
    """Send a failed package again as a new attempt (the same message_id: the fund de-duplicates)."""
    package = Package.objects.select_for_update().get(pk=package.pk)
    if package.do_not_send:
        raise PackageActionRefused("У пакета установлен запрет отправки: сначала снимите его.")
    if package.operation == Operation.QUERY:
        raise PackageActionRefused(
            "Онлайн-запрос не отправляется повторно: его ответа ждала страница. Задайте запрос заново."
        )
    if package.direction != "out" or package.status not in RESENDABLE:
        raise PackageActionRefused(
            f"Повторно отправляется пакет с ошибкой отправки или отклонённый ТФОМС, а этот пакет в статусе "
            f"«{package.get_status_display()}»."
        )
    package.send_attempts, package.next_attempt_at = 0, None
    package.save(update_fields=["send_attempts", "next_attempt_at"])
    package_set_status(package, S.FORMED)
    log_write(package=package, run=package.run, message=f"Повторная отправка ({_who(user)})")
    transaction.on_commit(relay_kick)
    return package
