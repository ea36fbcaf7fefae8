"""Package statuses and the detailed log: the one way a package changes status (C1, DESIGN §3)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from registry.models import Mo

from .models import LogEntry, Package, PackageStatus, ServiceRun

S = PackageStatus


# The log text of each status, word for word as C1 / §4.4.5.3.1.1 has it.
STATUS_MESSAGES: dict[str, str] = {
    S.FORM_ERROR: "Пакет не сформирован: {errors}",
    S.FORMED: "Пакет сформирован",
    S.SENT: "Пакет отправлен",
    S.SEND_ERROR: "Ошибка отправки пакета: {errors}",
    S.ACCEPTED: "Принят ТФОМС",
    S.REJECTED_BY_FUND: "Получен ответ с ошибкой: {errors}",
    S.RECEIVED: "Пакет получен от ТФОМС",
    S.PROCESSED: "Пакет обработан",
    S.REJECTED: "Пакет отклонен: {errors}",
}

# Allowed transitions; "" is a package not yet saved. A resend goes back to Сформирован.
TRANSITIONS: dict[str, frozenset[str]] = {
    "": frozenset({S.FORM_ERROR, S.FORMED, S.RECEIVED}),
    # The fund may answer a package whose confirm we never saw (published, then the relay or the
    # connection died): its answer is the truth, so Сформирован/Ошибка отправки accept it too.
    S.FORMED: frozenset({S.SENT, S.SEND_ERROR, S.ACCEPTED, S.REJECTED_BY_FUND}),
    S.SEND_ERROR: frozenset({S.SENT, S.SEND_ERROR, S.FORMED, S.ACCEPTED, S.REJECTED_BY_FUND}),
    S.SENT: frozenset({S.ACCEPTED, S.REJECTED_BY_FUND}),
    S.REJECTED_BY_FUND: frozenset({S.FORMED}),
    S.RECEIVED: frozenset({S.PROCESSED, S.REJECTED}),
    S.FORM_ERROR: frozenset(),
    S.ACCEPTED: frozenset(),
    S.PROCESSED: frozenset(),
    S.REJECTED: frozenset(),
}
LOG_LEVELS: dict[str, str] = {
    S.FORM_ERROR: LogEntry.Level.ERROR,
    S.SEND_ERROR: LogEntry.Level.ERROR,
    S.REJECTED_BY_FUND: LogEntry.Level.ERROR,
    S.REJECTED: LogEntry.Level.ERROR,
}


class InvalidTransition(ValueError):
    """A programming error: the engine asked for a status change the life cycle does not have."""


# --- log and statuses ------------------------------------------------------------------------


def log_write(
    *,
    message: str,
    run: ServiceRun | None = None,
    package: Package | None = None,
    mo: Mo | None = None,
    level: str = LogEntry.Level.INFO,
) -> LogEntry:
    if mo is None and package is not None:
        mo = package.mo
    if mo is None and run is not None and run.mo_id is not None:
        mo = run.mo  # a line of an МО's own run is that МО's
    return LogEntry.objects.create(run=run, package=package, mo=mo, level=level, message=message)


def package_set_status(
    package: Package, status: str, *, errors: Sequence[str] = (), run: ServiceRun | None = None
) -> Package:
    """The one way a package changes status: checks the life cycle and writes the C1 log line."""
    packages_set_status([package], status, errors=errors, run=run)
    return package


def packages_set_status(
    packages: Sequence[Package], status: str, *, errors: Sequence[str] = (), run: ServiceRun | None = None
) -> None:
    """The same for many packages at once (the relay's confirmed batch): one UPDATE, one INSERT."""
    message = STATUS_MESSAGES[status].format(errors="; ".join(errors) or "без описания")
    now = timezone.now()
    stored = []
    for package in packages:
        current = package.status if package.pk else ""
        if status not in TRANSITIONS[current]:
            raise InvalidTransition(f"{package.package_type}: {current or 'новый'} → {status}")
        package.status, package.result, package.status_changed_at = status, message, now
        if package.pk:
            stored.append(package.pk)
        else:
            package.save()  # saved with its status: nothing to update
    if stored:
        Package.objects.filter(pk__in=stored).update(status=status, result=message, status_changed_at=now)
    level = LOG_LEVELS.get(status, LogEntry.Level.INFO)
    LogEntry.objects.bulk_create(
        LogEntry(run_id=run.pk if run else p.run_id, package=p, mo_id=p.mo_id, level=level, message=message)
        for p in packages
    )
