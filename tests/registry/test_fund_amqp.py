"""The fund's packages about persons over the real RabbitMQ (C6, C7, C8): the emulator pushes them
as a separate process, our consumer applies each once and our ANSWERs reach the emulator through the
outbox; a consumer process killed with SIGKILL mid-stream loses nothing and applies nothing twice."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pika
import pytest
from django.core.management import call_command
from django.db import connection

from registry.models import Mo, Policy
from servicelog.models import InboundMessage, Package, PackageStatus
from servicelog.relay import relay_run
from tests.attachment.test_district_amqp import amqp, consume_until, emulator  # noqa: F401 (fixtures)
from tfoms_portal import messaging

from .fund_samples import persons_with_policies, polis_messages

S = PackageStatus
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.amqp


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def inbound() -> int:
    return Package.objects.filter(direction="in").count()


@pytest.mark.django_db
def test_push_changes_are_consumed_applied_and_answered(settings, tmp_path, amqp, emulator):  # noqa: F811
    settings.STORAGE_ROOT = str(tmp_path)
    call_command("seed_demo", persons=150, stdout=StringIO())
    codes = list(Mo.objects.values_list("code", flat=True)[:3])
    pushed = subprocess.run(
        [sys.executable, "-m", "tfoms_emulator", "push-changes", "--count", "60", "--seed", "5"]
        + [arg for code in codes for arg in ("--mo", code)]
        + ["--register", str(Path(tmp_path) / "emulator" / "register.json")]
        + ["--amqp", os.environ["TFOMS_AMQP_URL"], "--queue-prefix", f"{amqp}tfoms."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pushed.returncode == 0, pushed.stderr
    assert "POLIS" in pushed.stdout

    consume_until(lambda: inbound() >= 60, timeout=60)
    assert inbound() == 60
    assert not Package.objects.filter(direction="in", status=S.RECEIVED).exists()
    assert Package.objects.filter(direction="in", status=S.REJECTED).exists()  # the bad ones of the stream
    assert Package.objects.filter(direction="in", status=S.PROCESSED).count() >= 45

    while Package.objects.filter(package_type="ANSWER", status=S.FORMED).exists():
        relay_run()
    assert Package.objects.filter(package_type="ANSWER", status=S.SENT).count() == 60
    for _ in range(60):
        emulator.wait_for("записан ответ МО")  # each of our ANSWERs reached the fund, valid


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_consumer_killed_mid_stream_loses_nothing_and_applies_nothing_twice(amqp):  # noqa: F811
    n = 150
    persons_with_policies(n)
    messages = polis_messages(n)
    url = os.environ["TFOMS_AMQP_URL"]
    queue = messaging.queue_name(messaging.TO_MIS)
    broker = pika.BlockingConnection(pika.URLParameters(url))
    channel = broker.channel()
    channel.confirm_delivery()
    for index, (message_id, body) in enumerate(messages):
        copies = 2 if index % 10 == 0 else 1  # the fund's own duplicates: the same message_id twice
        for _ in range(copies):
            channel.basic_publish(
                "", queue, body, pika.BasicProperties(delivery_mode=2, message_id=message_id, type="POLIS")
            )
    broker.close()

    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "true",
        "TFOMS_QUEUE_PREFIX": amqp,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "manage.py", "runconsumer"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    first = start()
    deadline = time.monotonic() + 120
    while InboundMessage.objects.count() < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)  # mid-stream: unacked deliveries go back to the queue
    first.wait(timeout=10)
    killed_at = InboundMessage.objects.count()
    assert 20 <= killed_at < n, killed_at

    second = start()
    try:
        while inbound() < n and time.monotonic() < deadline + 120:
            time.sleep(0.1)
        time.sleep(1.5)  # the fund's duplicates and the redeliveries, if any were still coming
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    assert inbound() == n  # one package per message_id: duplicates and redeliveries had no effect
    assert not Package.objects.filter(direction="in").exclude(status=S.PROCESSED).exists()
    assert Package.objects.filter(package_type="ANSWER").count() == n
    assert Policy.objects.filter(smo__code="59051").count() == n  # each new policy saved once
    assert Policy.objects.filter(smo__code="59050", valid_to=dt.date(2026, 5, 31)).count() == n
