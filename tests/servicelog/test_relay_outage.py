"""Issue 16: the relay against a lost database says so once, tries again less and less often, and
says when it is back — instead of a traceback on every pass of beat."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError

from servicelog import tasks
from servicelog.relay import RelayStats


@pytest.mark.django_db
def test_a_lost_database_is_said_once_retried_later_and_its_return_said(monkeypatch, caplog):
    now = [0.0]
    outage = tasks._DatabaseOutage(clock=lambda: now[0])
    monkeypatch.setattr(tasks, "OUTAGE", outage)
    calls = []

    def down():
        calls.append(now[0])
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')

    monkeypatch.setattr(tasks, "relay_run", down)
    caplog.set_level(logging.WARNING, logger="servicelog.tasks")
    for second in range(0, 40):  # beat every second for 40 s
        now[0] = float(second)
        tasks.relay()
    assert calls == [0.0, 5.0, 15.0, 35.0]  # 5, 10, 20 s apart: not 40 attempts
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "база данных недоступна" in errors[0].getMessage()

    monkeypatch.setattr(tasks, "relay_run", lambda: RelayStats())
    now[0] = 80.0
    assert tasks.relay() == {"sent": 0, "failed": 0, "keys": 0}
    assert any("снова доступна" in r.getMessage() for r in caplog.records)
    assert outage.since is None and not outage.waiting()
