"""Relay throughput (issues 4, 10): N Сформирован packages of ~1 KB through the relay to the local
RabbitMQ, beside an asynchronous pika publisher with the same confirm window in the same run (the
real limit; targets ≥ 0.5 of it in one process, ≥ 0.8 with two); then two relay processes.

Run with `make bench` and DATABASE_URL (PostgreSQL) and TFOMS_AMQP_URL set; BENCH_PACKAGES overrides N."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pika
import pytest
from django.conf import settings
from django.db import connection

from registry.models import Mo
from servicelog.models import Package, PackageStatus, Service
from servicelog.relay import relay_run
from tests.factories import MoFactory
from tfoms_portal import messaging

ROOT = Path(__file__).resolve().parents[2]
N = int(os.environ.get("BENCH_PACKAGES", "100000"))
BODY = "<PKG><HEADER><OPERATIONTYPE>Insert</OPERATIONTYPE></HEADER><BODY>" + "Ж" * 440 + "</BODY></PKG>"

pytestmark = [pytest.mark.amqp, pytest.mark.postgres]


def make_packages(n: int, mos: list[Mo]) -> None:
    service = Service.objects.get(code="tfoms_auto")
    per_key = n // len(mos)
    batch = []
    for mo in mos:
        for i in range(per_key):
            batch.append(
                Package(
                    uuid=uuid.uuid4(),
                    service=service,
                    mo=mo,
                    package_type="DISTRICT",
                    operation="Insert",
                    status=PackageStatus.FORMED,
                    body=BODY,
                    content_hash="x",
                    object_id=str(i),
                    ordering_key=f"tfoms_auto:{mo.code}:attach",
                    sequence=i + 1,
                )
            )
            if len(batch) >= 5000:
                Package.objects.bulk_create(batch)
                batch = []
    Package.objects.bulk_create(batch)


def bare_publish(url: str, queue: str, n: int, window: int) -> float:
    """The real limit: an asynchronous pika publisher (SelectConnection), persistent + mandatory, the
    same window of unconfirmed messages, publishing the next message the moment a confirm frees a
    place (no polling)."""
    setup = pika.BlockingConnection(pika.URLParameters(url))
    setup.channel().queue_declare(queue, durable=True)
    setup.close()
    body = BODY.encode()
    state = {"sent": 0, "confirmed": 0, "started": 0.0, "elapsed": 0.0}
    pending: set[int] = set()

    def publish_more(channel) -> None:
        while len(pending) < window and state["sent"] < n:
            state["sent"] += 1
            pending.add(state["sent"])
            channel.basic_publish(
                "",
                queue,
                body,
                pika.BasicProperties(
                    delivery_mode=2, message_id=str(uuid.uuid4()).upper(), type="DISTRICT", content_type="Xml"
                ),
                mandatory=True,
            )

    def on_confirm(frame, channel) -> None:
        tag = frame.method.delivery_tag
        done = {t for t in pending if t <= tag} if frame.method.multiple else {tag}
        pending.difference_update(done)
        state["confirmed"] += len(done)
        if state["confirmed"] >= n:
            state["elapsed"] = time.perf_counter() - state["started"]
            channel.connection.close()
            return
        publish_more(channel)

    def on_channel(channel) -> None:
        channel.confirm_delivery(ack_nack_callback=lambda frame: on_confirm(frame, channel))
        state["started"] = time.perf_counter()
        publish_more(channel)

    connection = pika.SelectConnection(
        pika.URLParameters(url),
        on_open_callback=lambda conn: conn.channel(on_open_callback=on_channel),
        on_close_callback=lambda conn, reason: conn.ioloop.stop(),
    )
    connection.ioloop.start()
    cleanup = pika.BlockingConnection(pika.URLParameters(url))
    cleanup.channel().queue_delete(queue)
    cleanup.close()
    assert state["confirmed"] == n
    return state["elapsed"]


def purge(url: str, names: list[str]) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    channel = conn.channel()
    for name in names:
        channel.queue_delete(name)
    conn.close()


@pytest.mark.django_db(transaction=True)
def test_relay_throughput_against_bare_pika():
    url = os.environ["TFOMS_AMQP_URL"]
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    settings.TFOMS_AMQP_URL = url
    settings.TFOMS_QUEUE_PREFIX = prefix
    messaging.reset_backend()
    mos = [MoFactory(code=f"59{9000 + i}", oid=f"1.2.643.5.1.13.13.12.2.59.{9000 + i}") for i in range(10)]
    try:
        bare = bare_publish(url, f"{prefix}bare", N, settings.TFOMS_CONFIRM_WINDOW)

        make_packages(N, mos)
        started = time.perf_counter()
        while Package.objects.filter(status=PackageStatus.FORMED).exists():
            relay_run()
        relayed = time.perf_counter() - started
        assert Package.objects.filter(status=PackageStatus.SENT).count() == N

        Package.objects.all().delete()
        make_packages(N, mos)
        db = connection.settings_dict
        env = {
            **os.environ,
            "DEBUG": "true",
            "TFOMS_QUEUE_PREFIX": prefix,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        }
        code = (
            "import django; django.setup(); from servicelog.models import Package; "
            "from servicelog.relay import relay_run\n"
            "while Package.objects.filter(status='formed').exists(): relay_run()"
        )
        started = time.perf_counter()
        workers = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env) for _ in range(2)]
        for worker in workers:
            assert worker.wait(timeout=3600) == 0
        two = time.perf_counter() - started
        assert Package.objects.filter(status=PackageStatus.SENT).count() == N
    finally:
        messaging.reset_backend()
        purge(url, messaging.all_queues())

    bare_rate, relay_rate, two_rate = N / bare, N / relayed, N / two
    print(
        f"\nRELAY BENCH ({connection.vendor}, {N} packages of ~1 KB, window {settings.TFOMS_CONFIRM_WINDOW}, "
        f"batch {settings.TFOMS_RELAY_BATCH}):\n"
        f"  asynchronous pika publisher: {bare_rate:,.0f} msg/s ({bare:.1f} s)\n"
        f"  relay, one process : {relay_rate:,.0f} msg/s ({relayed:.1f} s) "
        f"= {relay_rate / bare_rate:.2f} of bare\n"
        f"  relay, two processes: {two_rate:,.0f} msg/s ({two:.1f} s) = {two_rate / bare_rate:.2f} of bare"
    )
