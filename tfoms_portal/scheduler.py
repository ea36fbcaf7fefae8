"""The embedded demo's scheduler: runs CELERY_BEAT_SCHEDULE tasks in a thread instead of celery beat."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from celery.schedules import schedule as celery_schedule
from django.conf import settings
from django.utils import timezone

from .celery import app

logger = logging.getLogger(__name__)


def _as_schedule(value: Any) -> Any:
    if isinstance(value, int | float):
        return celery_schedule(timedelta(seconds=value))
    if isinstance(value, timedelta):
        return celery_schedule(value)
    return value  # already a celery schedule (crontab, schedule)


class DemoScheduler(threading.Thread):
    """Checks every `tick` seconds which entries are due and runs them in this process."""

    def __init__(self, tick: float = 1.0) -> None:
        super().__init__(name="demo-scheduler", daemon=True)
        self.tick = tick
        self.stopped = threading.Event()
        self.last_run: dict[str, Any] = {}

    def run_due(self) -> list[str]:
        ran = []
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            sched = _as_schedule(entry["schedule"])
            last = self.last_run.setdefault(name, timezone.now())
            due, _ = sched.is_due(last)
            if not due:
                continue
            self.last_run[name] = timezone.now()
            try:
                app.tasks[str(entry["task"])].apply(
                    args=entry.get("args", ()), kwargs=entry.get("kwargs", {})
                )
                ran.append(name)
            except Exception:  # one failing job must not stop the others; its run records the error
                logger.exception("scheduled job %s failed", name)
        return ran

    def run(self) -> None:
        while not self.stopped.wait(self.tick):
            self.run_due()
