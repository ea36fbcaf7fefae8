"""Thin Celery tasks of the engine; schedules are in settings.CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

import logging

from celery import shared_task

from tfoms_portal.background import enqueue

from .models import ServiceRun
from .relay import relay_run
from .runs import RunRefused, run_execute, runs_close_dead, service_execute

logger = logging.getLogger(__name__)


@shared_task(name="servicelog.close_dead_runs")
def close_dead_runs() -> int:
    return runs_close_dead()


@shared_task(name="servicelog.execute_run")
def execute_run(run_id: int) -> str:
    """Carry out a run opened by a person (the page opened it, so refusals were shown at once)."""
    run = ServiceRun.objects.select_related("service", "mo").get(pk=run_id)
    return run_execute(run).result


@shared_task(name="servicelog.relay", ignore_result=True)
def relay() -> dict[str, int]:
    """Publish what is due; beat runs it every few seconds and forming kicks it after commit."""
    stats = relay_run()
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
