"""Issue 15 item 1: a page's long work never runs inside the request (tfoms_portal/background.py)."""

from __future__ import annotations

import threading
import time

import pytest

from servicelog.models import RunResult, ServiceRun
from tfoms_portal import background


class _Task:
    name = "test.task"

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.calls: list[tuple[object, ...]] = []
        self.threads: list[str] = []

    def apply(self, args=(), throw=False):
        time.sleep(self.seconds)
        self.calls.append(tuple(args))
        self.threads.append(threading.current_thread().name)


@pytest.mark.django_db(transaction=True)
def test_in_thread_mode_the_work_runs_in_a_worker_thread_not_in_the_caller(settings):
    settings.TFOMS_BACKGROUND = "thread"
    task = _Task(seconds=0.3)
    started = time.monotonic()
    background.enqueue(task, 7)
    assert time.monotonic() - started < 0.2 and task.calls == []
    background.wait_idle()
    assert task.calls == [(7,)] and task.threads[0].startswith("task")


@pytest.mark.django_db(transaction=True)
def test_kicks_waiting_in_the_pool_are_coalesced(settings):
    settings.TFOMS_BACKGROUND = "thread"
    blocker, relay = _Task(seconds=0.3), _Task()
    for _ in range(4):  # every worker thread busy (2 by default)
        background.enqueue(blocker)
    for _ in range(5):
        background.enqueue(relay, coalesce="relay")
    background.wait_idle()
    assert relay.calls == [()]  # five kicks while one waited: one pass


def test_inline_mode_runs_at_once(settings):
    task = _Task()
    background.enqueue(task, 1)  # the tests' default
    assert task.calls == [(1,)]


@pytest.mark.django_db(transaction=True)
def test_start_answers_while_the_run_is_still_running(enter, mo_admin_a, settings, monkeypatch):
    from servicelog import runs

    settings.TFOMS_BACKGROUND = "thread"
    beat = runs.run_beat

    def slow(run):
        time.sleep(1.0)
        beat(run)

    monkeypatch.setattr(runs, "run_beat", slow)
    client = enter(mo_admin_a)
    started = time.monotonic()
    response = client.post("/journal/tfoms_auto/start/", headers={"HX-Request": "true"})
    assert time.monotonic() - started < 1.0
    html = response.content.decode()
    assert "запущен. Ход запуска виден в списке запусков" in html and "Выполняется" in html
    assert 'data-polling="1"' in html  # the panes will ask for themselves
    run = ServiceRun.objects.get()
    assert run.result == RunResult.RUNNING
    background.wait_idle()
    run.refresh_from_db()
    assert run.result == RunResult.SUCCESS
    page = client.get("/journal/", {"service": "tfoms_auto", "pane": "right"}, headers={"HX-Request": "true"})
    assert "<html" not in page.content.decode() and 'data-polling="1"' not in page.content.decode()
