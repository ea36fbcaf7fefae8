"""The demo scheduler runs beat-schedule tasks in-process (DESIGN §4, embedded demo)."""

from datetime import timedelta

from tfoms_portal.celery import app
from tfoms_portal.scheduler import DemoScheduler

calls: list[int] = []


@app.task(name="tests.record_call")
def record_call(value: int) -> None:
    calls.append(value)


def test_due_entries_run_and_others_wait(settings):
    settings.CELERY_BEAT_SCHEDULE = {
        "often": {"task": "tests.record_call", "schedule": 0.0, "args": (1,)},
        "daily": {"task": "tests.record_call", "schedule": timedelta(days=1), "args": (2,)},
    }
    scheduler = DemoScheduler()
    calls.clear()
    assert scheduler.run_due() == ["often"]
    assert calls == [1]
