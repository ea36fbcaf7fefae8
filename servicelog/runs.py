"""Service runs: open, beat, finish, execute the registered jobs, close dead runs (DESIGN §3, E3)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from registry.models import Mo

from .models import STANDING_TRIGGERS, LogEntry, Package, RunResult, RunTrigger, Service, ServiceRun
from .registry import service_jobs
from .statuses import log_write

logger = logging.getLogger(__name__)


class RunRefused(Exception):
    """A run cannot start now; the message is Russian and meant for the person who asked."""


def _in_business_transaction() -> bool:
    """True inside an atomic block opened by application code (a test case's own block is not one)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def run_scope_key(mo: Mo | None, scope: str = "") -> str:
    """The key of a run's single flight and manual timeout: its МО (or the region) and its scope."""
    return (mo.code if mo else "") + (f":{scope}" if scope else "")


def scope_label(mo: Mo | None, scope_title: str = "") -> str:
    """Whom a run is for, in words: "МО 590001 ГКБ № 1", "всего региона", "пациента … (МО …)". No
    quotes around the МО: its own name often has them (ГБУЗ ПК «…»)."""
    label = f"МО {mo.code} {mo.name_short}" if mo else "всего региона"
    return f"{scope_title} ({label})" if scope_title else label


def run_open(
    code: str,
    *,
    mo: Mo | None = None,
    trigger: str = RunTrigger.SCHEDULE,
    user: User | None = None,
    scope: str = "",
    scope_title: str = "",
) -> ServiceRun:
    """Start a run, committed at once so it is visible (and single-flight) while it works. `scope`
    narrows the single flight and the manual timeout below the МО (e.g. one patient's send);
    `scope_title` says it in words for the refusals ("пациента Иванов И. И.")."""
    if _in_business_transaction():
        raise RuntimeError("a service run is opened outside the business transaction (DESIGN §3)")
    service = Service.objects.filter(code=code).first()
    if service is None:
        raise RunRefused(f"Сервис с кодом «{code}» не найден.")
    if not service.enabled:
        raise RunRefused(f"Сервис «{service.name}» не действует в регионе.")
    scope_key = run_scope_key(mo, scope)
    now = timezone.now()
    if trigger == RunTrigger.MANUAL:
        timeout = timedelta(seconds=service.manual_send_timeout_seconds)
        manual = ServiceRun.objects.filter(
            service=service, scope_key=scope_key, trigger=RunTrigger.MANUAL, started_at__gt=now - timeout
        )
        if service.carries_packages:  # a start that had nothing to send does not use up the interval
            manual = manual.filter(Exists(Package.objects.filter(run=OuterRef("pk"))))
        last_manual = manual.order_by("-started_at").first()
        if last_manual is not None:
            next_at = timezone.localtime(last_manual.started_at + timeout)
            raise RunRefused(
                f"Ручной запуск сервиса «{service.name}» для {scope_label(mo, scope_title)} возможен "
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
            f"Сервис «{service.name}» уже выполняется для {scope_label(mo, scope_title)}{since}. "
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
    scope_title: str = "",
) -> Iterator[ServiceRun]:
    """`with servicelog.run("tfoms_auto", mo=mo) as run:` — opened outside the business transaction,
    so a failure inside is still recorded; the exception goes on to the caller."""
    opened = run_open(code, mo=mo, trigger=trigger, user=user, scope=scope, scope_title=scope_title)
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


def run_start(
    code: str,
    *,
    mo: Mo | None,
    user: User | None,
    opened_hook: Callable[[ServiceRun], object] | None = None,
    trigger: str = RunTrigger.MANUAL,
) -> ServiceRun:
    """A start by a person ("Запуск"): the run is opened now, so a refusal is said at once, and
    carried out in the background (tfoms_portal/background.py); the page answers without waiting.
    A task queue that refuses it closes the run with that error instead of leaving it running.
    `trigger` EVENT: a record saved in the portal goes at once, not bound by the manual interval.
    `opened_hook` (the audit entry) writes before the run's work begins: on SQLite, with its one
    writer, it would otherwise wait for the run's first transaction."""
    from tfoms_portal.background import enqueue

    from .tasks import execute_run

    opened = run_open(code, mo=mo, trigger=trigger, user=user)
    if opened_hook is not None:
        opened_hook(opened)
    try:
        enqueue(execute_run, opened.pk)
    except Exception as exc:
        logger.exception("run %s not queued", opened.pk)
        run_finish(opened, error=f"Запуск не поставлен в очередь задач: {type(exc).__name__}: {exc}")
    opened.refresh_from_db()
    return opened


# A standing run's scope key prefix and its first log line, by trigger.
STANDING: dict[str, tuple[str, str]] = {
    RunTrigger.CONSUMER: ("in", "Приём пакетов от ТФОМС"),
    RunTrigger.ONLINE: ("rpc", "Онлайн-запросы к ТФОМС"),
}
STANDING_PREFIXES = tuple(prefix for prefix, _ in STANDING.values())
HEARTBEAT_EVERY = timedelta(seconds=30)


def standing_run(service_code: str, trigger: str = RunTrigger.CONSUMER) -> ServiceRun:
    """The service's run of today where what is not a run's work belongs: the fund's packages
    ("Приём пакетов") or our online requests ("Онлайн-запросы"). Its heartbeat moves at most every
    HEARTBEAT_EVERY (a write per message would cost more than the rest)."""
    prefix, title = STANDING[trigger]
    key = f"{prefix}:{timezone.localdate().isoformat()}"
    now = timezone.now()
    run = (
        ServiceRun.objects.select_related("service").filter(service__code=service_code, scope_key=key).first()
    )
    if run is not None:
        if run.result == RunResult.RUNNING and (
            run.heartbeat_at is None or now - run.heartbeat_at > HEARTBEAT_EVERY
        ):
            ServiceRun.objects.filter(pk=run.pk, result=RunResult.RUNNING).update(heartbeat_at=now)
        return run
    service = Service.objects.get(code=service_code)
    try:
        with transaction.atomic():
            run = ServiceRun.objects.create(
                service=service, scope_key=key, trigger=trigger, started_at=now, heartbeat_at=now
            )
            log_write(run=run, message=title)
    except IntegrityError:  # another process opened it a moment ago
        run = ServiceRun.objects.get(service=service, scope_key=key)
    return run


def runs_close_dead(*, silent_for: timedelta | None = None) -> int:
    """Close runs with no sign of life as Завершено с ошибкой, so none stays Выполняется forever (E3)."""
    if silent_for is None:  # not `or`: a zero timedelta is falsy and would mean the default
        silent_for = timedelta(seconds=settings.TFOMS_RUN_DEAD_AFTER_SECONDS)
    cutoff = timezone.now() - silent_for
    closed = 0
    running = ServiceRun.objects.filter(result=RunResult.RUNNING).select_related("mo")
    for dead in running.filter(heartbeat_at__lt=cutoff).exclude(trigger__in=STANDING_TRIGGERS):
        last = timezone.localtime(dead.heartbeat_at)
        run_finish(dead, error=f"Запуск прерван: нет признаков работы с {last:%d.%m.%Y %H:%M:%S}.")
        closed += 1
    # The standing runs ("Приём пакетов", "Онлайн-запросы") live for a day; yesterday's are closed now.
    today = timezone.localdate().isoformat()
    today_keys = [f"{prefix}:{today}" for prefix in STANDING_PREFIXES]
    for finished_day in running.filter(trigger__in=STANDING_TRIGGERS).exclude(scope_key__in=today_keys):
        run_finish(finished_day)
        closed += 1
    return closed
