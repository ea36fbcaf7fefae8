"""Thin Celery tasks of the engine; schedules are in settings.CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

from celery import shared_task

from .models import ServiceRun
from .services import run_execute, runs_close_dead


@shared_task(name="servicelog.close_dead_runs")
def close_dead_runs() -> int:
    return runs_close_dead()


@shared_task(name="servicelog.execute_run")
def execute_run(run_id: int) -> str:
    """Carry out a run opened by a person (the page opened it, so refusals were shown at once)."""
    run = ServiceRun.objects.select_related("service", "mo").get(pk=run_id)
    return run_execute(run).result
