"""Thin Celery tasks of the engine; schedules are in settings.CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import shared_task
from django.db import InterfaceError, OperationalError, close_old_connections

from tfoms_portal.background import enqueue

from .models import RunResult, ServiceRun
from .relay import attempts_interrupted_sweep, relay_run
from .rpc import rpc_expire_due, rpc_send  # noqa: F401  (Celery tasks, registered by this import)
from .runs import RunRefused, run_execute, runs_close_dead, service_execute

logger = logging.getLogger(__name__)


@shared_task(name="servicelog.close_dead_runs")
def close_dead_runs() -> int:
    """The sweep of what dead processes left: runs still Выполняется, publishes still unconfirmed."""
    attempts_interrupted_sweep()
    return runs_close_dead()


@shared_task(name="servicelog.execute_run")
def execute_run(run_id: int) -> str:
    """Carry out a run opened by a person (the page opened it, so refusals were shown at once)."""
    run = ServiceRun.objects.select_related("service", "mo").get(pk=run_id)
    if run.result != RunResult.RUNNING:
        # A redelivery (acks_late) after the worker died and the sweep closed the run (T9): the run's
        # record stays as the sweep wrote it; the next run does the work.
        logger.warning("run %s is already closed (%s); its redelivered task does nothing", run_id, run.result)
        return str(run.result)
    return run_execute(run).result


class _DatabaseOutage:
    """The relay's view of a lost database in this worker: said once, retried after 5, 10, 20 … 60 s
    instead of a traceback on every pass of beat (issue 16), and its end said too."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.since: float | None = None
        self.next_try = 0.0
        self.pause = 5.0

    def waiting(self) -> bool:
        return self.since is not None and self.clock() < self.next_try

    def failed(self, exc: Exception) -> None:
        now = self.clock()
        if self.since is None:
            self.since, self.pause = now, 5.0
            logger.error(
                "relay: база данных недоступна (%s: %s); проходы повторяются реже", type(exc).__name__, exc
            )
        else:
            self.pause = min(self.pause * 2, 60.0)
        self.next_try = now + self.pause
        close_old_connections()

    def passed(self) -> None:
        if self.since is not None:
            logger.warning("relay: база данных снова доступна (через %.0f с)", self.clock() - self.since)
            self.since = None


OUTAGE = _DatabaseOutage()


@shared_task(name="servicelog.relay", ignore_result=True)
def relay() -> dict[str, int]:
    """Publish what is due; beat runs it every few seconds and forming kicks it after commit."""
    if OUTAGE.waiting():
        return {"sent": 0, "failed": 0, "keys": 0}
    try:
        stats = relay_run()
    except (OperationalError, InterfaceError) as exc:
        OUTAGE.failed(exc)
        return {"sent": 0, "failed": 0, "keys": 0}
    OUTAGE.passed()
    return {"sent": stats.sent, "failed": stats.failed, "keys": stats.keys}


def relay_soon() -> None:
    """The kick after a forming commit: one relay pass soon, outside the request (coalesced)."""
    enqueue(relay, coalesce="relay")


@shared_task(name="servicelog.run_scheduled", ignore_result=True)
def run_scheduled(code: str) -> str:
    """A scheduled run of a service for the whole region; a run already in progress is left alone."""
    try:
        return service_execute(code).result
    except RunRefused as exc:
        logger.info("scheduled run of %s skipped: %s", code, exc)
        return "skipped"


@shared_task(name="servicelog.purge_bodies", ignore_result=True)
def purge_bodies() -> int:
    from .services import packages_purge_bodies

    return packages_purge_bodies()


@shared_task(name="servicelog.notify_overdue", ignore_result=True)
def notify_overdue() -> int:
    from .notify import notify_overdue as send

    return send()
