"""Every write of the exchange engine: package statuses, forming, runs, the dead-run sweep (DESIGN §3)."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from lxml import etree

from registry.models import Mo
from tfoms_portal.formats.xml import load_schema, validate

from .models import (
    LogEntry,
    Package,
    PackageSequence,
    PackageStatus,
    RunResult,
    RunTrigger,
    Service,
    ServiceRun,
)
from .registry import get_package_type, service_jobs

S = PackageStatus
logger = logging.getLogger(__name__)

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


class RunRefused(Exception):
    """A run cannot start now; the message is Russian and meant for the person who asked."""


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
    for package in packages:
        current = package.status if package.pk else ""
        if status not in TRANSITIONS[current]:
            raise InvalidTransition(f"{package.package_type}: {current or 'новый'} → {status}")
        package.status, package.result, package.status_changed_at = status, message, now
        if not package.pk:
            package.save()
    saved = [package.pk for package in packages]
    Package.objects.filter(pk__in=saved).update(status=status, result=message, status_changed_at=now)
    level = LOG_LEVELS.get(status, LogEntry.Level.INFO)
    LogEntry.objects.bulk_create(
        LogEntry(run_id=run.pk if run else p.run_id, package=p, mo_id=p.mo_id, level=level, message=message)
        for p in packages
    )


# --- forming ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonKeys:
    """Who a package is about, for searching the journal by person (E5)."""

    enp: str = ""
    snils: str = ""
    fio: str = ""


def content_hash(package_type: str, object_id: str, payload: dict[str, Any]) -> str:
    """What the package says about its object, whatever the operation: SentObject compares it."""
    canonical = json.dumps([package_type, object_id, payload], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _next_sequence(ordering_key: str) -> int:
    """Locks the key's counter row until the business transaction commits (see PackageSequence)."""
    counter = PackageSequence.objects.select_for_update().filter(ordering_key=ordering_key).first()
    if counter is None:
        try:
            with transaction.atomic():
                counter = PackageSequence.objects.create(ordering_key=ordering_key)
        except IntegrityError:  # created concurrently: take the row lock as usual
            counter = PackageSequence.objects.select_for_update().get(ordering_key=ordering_key)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def ordering_key_for(service: Service, mo: Mo | None, family: str) -> str:
    return f"{service.code}:{mo.code if mo else 'region'}:{family}"


@transaction.atomic
def package_form(
    *,
    run: ServiceRun,
    package_type: str,
    operation: str,
    object_id: str,
    payload: dict[str, Any],
    mo: Mo | None,
    person: PersonKeys | None = None,
) -> Package | None:
    """Form one outbound package inside the caller's transaction: Сформирован, or Ошибка формирования
    with the XSD's errors. Returns None (and logs why) when the same content already failed to form."""
    kind = get_package_type(package_type)
    digest = content_hash(package_type, object_id, payload)
    last = Package.objects.filter(package_type=package_type, object_id=object_id).order_by("-id").first()
    if last is not None and last.status == S.FORM_ERROR and last.content_hash == digest:
        log_write(
            run=run,
            mo=mo,
            level=LogEntry.Level.WARNING,
            message=f"Пакет {package_type} ({object_id}) не сформирован повторно: данные не изменились "
            f"после ошибки формирования.",
        )
        return None
    key = ordering_key_for(run.service, mo, kind.family)
    person = person or PersonKeys()
    package = Package(
        uuid=uuid.uuid4(),
        service=run.service,
        run=run,
        mo=mo,
        package_type=package_type,
        operation=operation,
        object_id=object_id,
        payload=payload,
        content_hash=digest,
        ordering_key=key,
        sequence=_next_sequence(key),
        enp=person.enp,
        snils=person.snils,
        fio=person.fio[:200],
    )
    try:
        errors = kind.check(payload) if kind.check is not None else []
        if not errors:
            root = kind.builder(payload, operation, package.message_id)
            package.body = etree.tostring(root, encoding="utf-8", xml_declaration=True).decode("utf-8")
            errors = validate(root, load_schema(kind.xsd)) if kind.xsd is not None else []
    except Exception as exc:  # a builder that cannot build is a form error of this package, not of the run
        errors = [f"{type(exc).__name__}: {exc}"]
    package_set_status(package, S.FORM_ERROR if errors else S.FORMED, errors=errors, run=run)
    if not errors and not any(entry[1] is relay_kick for entry in connection.run_on_commit):
        transaction.on_commit(relay_kick)  # once per transaction, however many packages it forms
    return package


def relay_kick() -> None:
    """After a forming commit: let the relay publish now rather than at its next scheduled pass."""
    from .tasks import relay

    try:
        relay.delay()
    except Exception:  # the broker of Celery is down: the scheduled pass will publish instead
        logger.warning("relay kick failed; the scheduled relay will publish", exc_info=True)


# --- runs ------------------------------------------------------------------------------------


def _in_business_transaction() -> bool:
    """True inside an atomic block opened by application code (a test case's own block is not one)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _scope_label(mo: Mo | None, scope: str = "") -> str:
    label = f"МО {mo.code}" if mo else "всего региона"
    return f"{label} (отдельный запуск «{scope}»)" if scope else label


def run_open(
    code: str,
    *,
    mo: Mo | None = None,
    trigger: str = RunTrigger.SCHEDULE,
    user: User | None = None,
    scope: str = "",
) -> ServiceRun:
    """Start a run, committed at once so it is visible (and single-flight) while it works. `scope`
    narrows the single flight and the manual timeout below the МО (e.g. one patient's send)."""
    if _in_business_transaction():
        raise RuntimeError("a service run is opened outside the business transaction (DESIGN §3)")
    service = Service.objects.filter(code=code).first()
    if service is None:
        raise RunRefused(f"Сервис с кодом «{code}» не найден.")
    if not service.enabled:
        raise RunRefused(f"Сервис «{service.name}» не действует в регионе.")
    scope_key = (mo.code if mo else "") + (f":{scope}" if scope else "")
    now = timezone.now()
    if trigger == RunTrigger.MANUAL:
        timeout = timedelta(seconds=service.manual_send_timeout_seconds)
        last_manual = (
            ServiceRun.objects.filter(
                service=service, scope_key=scope_key, trigger=RunTrigger.MANUAL, started_at__gt=now - timeout
            )
            .order_by("-started_at")
            .first()
        )
        if last_manual is not None:
            next_at = timezone.localtime(last_manual.started_at + timeout)
            raise RunRefused(
                f"Ручной запуск сервиса «{service.name}» для {_scope_label(mo, scope)} возможен "
                f"не чаще одного раза "
                f"в {service.manual_send_timeout_seconds // 60} мин.: последний ручной запуск в "
                f"{timezone.localtime(last_manual.started_at):%H:%M}, "
                f"следующий возможен после {next_at:%H:%M}."
            )
    try:
        with transaction.atomic():
            run = ServiceRun.objects.create(
                service=service,
                mo=mo,
                scope_key=scope_key,
                trigger=trigger,
                started_by=user,
                started_at=now,
                heartbeat_at=now,
            )
    except IntegrityError:
        running = ServiceRun.objects.filter(
            service=service, scope_key=scope_key, result=RunResult.RUNNING
        ).first()
        since = f" с {timezone.localtime(running.started_at):%d.%m.%Y %H:%M}" if running else ""
        raise RunRefused(
            f"Сервис «{service.name}» уже выполняется для {_scope_label(mo, scope)}{since}. "
            f"Дождитесь завершения."
        ) from None
    who = f" ({user.get_username()})" if user else ""
    log_write(run=run, mo=mo, message=f"Запуск сервиса: {RunTrigger(trigger).label.lower()}{who}")
    return run


def run_beat(run: ServiceRun) -> None:
    """A sign of life: long steps call it so the sweep does not take the run for dead."""
    now = timezone.now()
    ServiceRun.objects.filter(pk=run.pk, result=RunResult.RUNNING).update(heartbeat_at=now)
    run.heartbeat_at = now


def run_finish(run: ServiceRun, *, error: str = "") -> ServiceRun:
    """Close the run: an error given here or any error line in its log makes it Завершено с ошибкой."""
    if error:
        log_write(run=run, mo=run.mo, level=LogEntry.Level.ERROR, message=error)
    failed = bool(error) or run.log.filter(level=LogEntry.Level.ERROR).exists()
    run.result = RunResult.ERROR if failed else RunResult.SUCCESS
    run.finished_at = timezone.now()
    run.heartbeat_at = run.finished_at
    ServiceRun.objects.filter(pk=run.pk, result=RunResult.RUNNING).update(
        result=run.result, finished_at=run.finished_at, heartbeat_at=run.finished_at
    )
    log_write(run=run, mo=run.mo, message=f"Запуск завершён: {run.get_result_display()}")
    if run.result == RunResult.ERROR:
        from .notify import notify_run_failed

        notify_run_failed(run)
    return run


def run_execute(run: ServiceRun) -> ServiceRun:
    """Run the service's registered jobs, each in its own transaction (or, when the job says
    `own_transactions`, in the transactions it opens itself), and close the run."""
    jobs = service_jobs(run.service.code)
    if not jobs:
        log_write(
            run=run,
            mo=run.mo,
            level=LogEntry.Level.WARNING,
            message="У сервиса пока нет заданий в этой версии портала: запуск ничего не передаёт.",
        )
    try:
        for job in jobs:
            run_beat(run)
            if getattr(job, "own_transactions", False):  # e.g. one transaction per loaded file
                job(run=run, mo=run.mo)
                continue
            with transaction.atomic():
                job(run=run, mo=run.mo)
    except Exception as exc:  # recorded on the run, then the run is closed; nothing half-applied
        return run_finish(run, error=f"Запуск прерван ошибкой: {type(exc).__name__}: {exc}")
    return run_finish(run)


@contextmanager
def run(
    code: str,
    *,
    mo: Mo | None = None,
    trigger: str = RunTrigger.SCHEDULE,
    user: User | None = None,
    scope: str = "",
) -> Iterator[ServiceRun]:
    """`with servicelog.run("tfoms_auto", mo=mo) as run:` — opened outside the business transaction,
    so a failure inside is still recorded; the exception goes on to the caller."""
    opened = run_open(code, mo=mo, trigger=trigger, user=user, scope=scope)
    try:
        yield opened
    except Exception as exc:
        run_finish(opened, error=f"Запуск прерван ошибкой: {type(exc).__name__}: {exc}")
        raise
    run_finish(opened)


def service_execute(
    code: str, *, mo: Mo | None = None, trigger: str = RunTrigger.SCHEDULE, user: User | None = None
) -> ServiceRun:
    return run_execute(run_open(code, mo=mo, trigger=trigger, user=user))


def runs_close_dead(*, silent_for: timedelta | None = None) -> int:
    """Close runs with no sign of life as Завершено с ошибкой, so none stays Выполняется forever (E3)."""
    silent_for = silent_for or timedelta(seconds=settings.TFOMS_RUN_DEAD_AFTER_SECONDS)
    cutoff = timezone.now() - silent_for
    closed = 0
    running = ServiceRun.objects.filter(result=RunResult.RUNNING).select_related("mo")
    for dead in running.filter(heartbeat_at__lt=cutoff).exclude(trigger=RunTrigger.CONSUMER):
        last = timezone.localtime(dead.heartbeat_at)
        run_finish(dead, error=f"Запуск прерван: нет признаков работы с {last:%d.%m.%Y %H:%M:%S}.")
        closed += 1
    # The consumer's standing "Приём пакетов" runs live for a day; yesterday's are closed now.
    today_key = f"in:{timezone.localdate().isoformat()}"
    for finished_day in running.filter(trigger=RunTrigger.CONSUMER).exclude(scope_key=today_key):
        run_finish(finished_day)
        closed += 1
    return closed


# --- retention (C9) -------------------------------------------------------------------------------

FINAL_STATUSES = (S.ACCEPTED, S.REJECTED_BY_FUND, S.PROCESSED, S.REJECTED, S.FORM_ERROR)


def packages_purge_bodies(*, older_than_days: int | None = None) -> int:
    """Remove the personal data of old finished packages (body, data, the person keys, the person in
    the answer) after the retention period; type, operation, status, dates and result stay."""
    days = older_than_days if older_than_days is not None else settings.TFOMS_PACKAGE_BODY_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    old = Package.objects.filter(created_at__lt=cutoff, status__in=FINAL_STATUSES).exclude(
        body="", payload={}
    )
    purged = 0
    for package in old.iterator(chunk_size=1000):
        reply = dict(package.reply or {})
        reply.pop("PERSON", None)
        Package.objects.filter(pk=package.pk).update(
            body="", payload={}, enp="", snils="", fio="", reply=reply if package.reply is not None else None
        )
        purged += 1
    return purged


# --- a person's decisions on packages (E4, E5) ----------------------------------------------------

DO_NOT_SEND_APPLIES = (S.FORMED, S.SEND_ERROR, S.REJECTED_BY_FUND)
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
        if package.direction != "out" or package.status not in DO_NOT_SEND_APPLIES:
            raise PackageActionRefused(
                f"Запрет отправки ставится только на неотправленный или отклонённый пакет, "
                f"а этот пакет в статусе «{package.get_status_display()}»."
            )
        package.do_not_send, package.do_not_send_by, package.do_not_send_at = True, user, timezone.now()
        package.do_not_send_reason = reason[:500]
        message = f"Установлен запрет отправки ({_who(user)})" + (f": {reason}" if reason else "")
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
