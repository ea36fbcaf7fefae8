"""/metrics for the engineer on call (issue 16 item 4): figures that follow the journal, access for
the ЦОД admin or a scraper's token only, /healthz failing when the relay falls behind."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from servicelog.models import Package, PackageStatus, Service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]


def _package(status: str, *, waited: dt.timedelta = dt.timedelta(0), mo=None) -> Package:
    package = Package.objects.create(
        uuid=uuid.uuid4(),
        service=Service.objects.get(code="tfoms_auto"),
        mo=mo,
        package_type="DISTRICT",
        operation="Insert",
        status=status,
        content_hash="x",
    )
    Package.objects.filter(pk=package.pk).update(status_changed_at=timezone.now() - waited)
    return package


def _value(text: str, prefix: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return float(line.rsplit(" ", 1)[1])


def test_metrics_follow_the_packages(enter, dc_admin, settings):
    _package(PackageStatus.FORMED, waited=dt.timedelta(minutes=10))
    _package(PackageStatus.FORMED)
    _package(PackageStatus.SENT, waited=dt.timedelta(hours=5))
    text = enter(dc_admin).get("/metrics").content.decode()
    assert _value(text, 'tfoms_packages{service="tfoms_auto",status="formed"}') == 2
    assert 590 < _value(text, "tfoms_relay_lag_seconds") < 700
    assert _value(text, "tfoms_answers_overdue") == 1
    assert _value(text, 'tfoms_broker_queue_messages{queue="tfoms.to_mis.answer"}') == 0


def test_metrics_are_for_the_dc_admin_or_a_token(client, enter, mo_admin_a, settings):
    assert enter(mo_admin_a).get("/metrics").status_code == 404
    assert client.get("/metrics").status_code == 404
    settings.TFOMS_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    answer = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    assert answer.status_code == 200 and b"tfoms_relay_lag_seconds" in answer.content


def test_healthz_fails_when_the_relay_falls_behind(client, settings):
    settings.TFOMS_RELAY_LAG_ALERT_SECONDS = 300
    assert client.get("/healthz").status_code == 200
    _package(PackageStatus.FORMED, waited=dt.timedelta(minutes=20))
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.json()["checks"]["relay"]["ok"] is False


def test_a_key_held_for_a_person_does_not_count_as_relay_lag(client, settings):
    settings.TFOMS_RELAY_LAG_ALERT_SECONDS = 300
    stuck = _package(PackageStatus.SEND_ERROR, waited=dt.timedelta(hours=2))
    behind = _package(PackageStatus.FORMED, waited=dt.timedelta(hours=1))
    Package.objects.filter(pk__in=[stuck.pk, behind.pk]).update(ordering_key="tfoms_auto:590001:attach")
    assert client.get("/healthz").status_code == 200  # retries over: the journal's, not the relay's
