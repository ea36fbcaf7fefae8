"""POLIS from the fund (issue 14): consumed, applied and answered (our ANSWER formed in the outbox, in
the message's own transaction) by `consume_forever` in one and in two separate OS processes, beside a
bare pika consume + ack loop over the same messages with the same prefetch, in the same run.
Targets: ≥ 500 messages/s per process, ≥ 1.7× that with two.

Run with `make bench` and DATABASE_URL (PostgreSQL) and TFOMS_AMQP_URL set; BENCH_POLIS overrides N."""

from __future__ import annotations

import datetime as dt
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

from registry import checkdigits
from registry.models import Person, Policy
from servicelog.models import Package, PackageStatus
from tests.factories import SmoFactory
from tests.registry.fund_samples import person_xml, polis_xml
from tfoms_portal import messaging

ROOT = Path(__file__).resolve().parents[2]
N = int(os.environ.get("BENCH_POLIS", "20000"))
BASE_ID = 50_000_000
pytestmark = [pytest.mark.amqp, pytest.mark.postgres]
CONSUMER = """
import os, time, django
django.setup()
print("ready", flush=True)
from servicelog.inbox import consume_forever
from servicelog.models import Package
target = int(os.environ["BENCH_TARGET"])
checked = [0.0]
def stop():
    if time.monotonic() - checked[0] < 1.0:
        return False
    checked[0] = time.monotonic()
    return Package.objects.filter(direction="in").count() >= target
consume_forever(should_stop=stop)
"""


def make_persons(start: int, n: int, smo) -> None:
    """n persons known to the fund (BDZID), each with one open policy of `smo`."""
    persons = [
        Person(
            last_name="Бенчев",
            first_name="Иван",
            middle_name="Петрович",
            birth_date=dt.date(1980, 1, 1) + dt.timedelta(days=i % 7000),
            sex=1,
            fund_person_id=BASE_ID + i,
            soc_status="5",
        )
        for i in range(start, start + n)
    ]
    Person.objects.bulk_create(persons, batch_size=5000)
    created = Person.objects.filter(
        fund_person_id__gte=BASE_ID + start, fund_person_id__lt=BASE_ID + start + n
    )
    Policy.objects.bulk_create(
        [
            Policy(
                person_id=pk,
                policy_type=3,
                form=Policy.Form.PAPER,
                enp=checkdigits.make_enp("59", birth, 1, (bdzid - BASE_ID) % 90_000 + 1),
                smo=smo,
                valid_from=dt.date(2015, 1, 1),
            )
            for pk, birth, bdzid in created.values_list("pk", "birth_date", "fund_person_id")
        ],
        batch_size=5000,
    )


def messages(start: int, n: int) -> list[bytes]:
    """An СМО change for each person: the old policy closed, the new one saved (the main path)."""
    bodies = []
    for i in range(start, start + n):
        birth = dt.date(1980, 1, 1) + dt.timedelta(days=i % 7000)
        enp = checkdigits.make_enp("59", birth, 1, i % 90_000 + 1)
        xml = polis_xml(
            bdzid=BASE_ID + i,
            person=person_xml(fam="Бенчев", im="Иван", ot="Петрович", dr=birth, w=1),
            enp=enp,
            smo="59051",
            begin=dt.date(2026, 6, 1),
        )
        bodies.append(('<?xml version="1.0" encoding="utf-8"?>' + xml).encode())
    return bodies


def publish(url: str, queue: str, bodies: list[bytes]) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    channel = conn.channel()
    channel.queue_declare(queue, durable=True)
    channel.confirm_delivery()
    for body in bodies:
        channel.basic_publish(
            "",
            queue,
            body,
            pika.BasicProperties(delivery_mode=2, message_id=str(uuid.uuid4()).upper(), type="POLIS"),
        )
    conn.close()


def bare_consume(url: str, queue: str, n: int, prefetch: int) -> float:
    """The real limit: a pika consumer acking each message, the same prefetch, nothing else."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    channel = conn.channel()
    channel.basic_qos(prefetch_count=prefetch)
    state = {"count": 0}

    def on_message(ch, method, props, body) -> None:
        ch.basic_ack(method.delivery_tag)
        state["count"] += 1
        if state["count"] >= n:
            ch.stop_consuming()

    channel.basic_consume(queue, on_message_callback=on_message)
    started = time.perf_counter()
    channel.start_consuming()
    elapsed = time.perf_counter() - started
    channel.queue_delete(queue)
    conn.close()
    return elapsed


def consumers(count: int, prefix: str, target: int) -> float:
    """Seconds from every consumer ready (Django loaded) until `target` packages are stored."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "false",  # as in production: no query log kept in memory
        "SECRET_KEY": "bench-" + "k" * 50,
        "TFOMS_QUEUE_PREFIX": prefix,
        "BENCH_TARGET": str(target),
        # As in production: the consumer's kick of the relay after each commit is a Celery message
        # (the relay publishes our ANSWERs on its own); eager, it would publish inside the consumer.
        "CELERY_BROKER_URL": os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15"),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CONSUMER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    while Package.objects.filter(direction="in").count() < target:
        time.sleep(0.25)  # a count is a scan: asked too often, it would slow the consumers down
    elapsed = time.perf_counter() - started
    for worker in workers:
        assert worker.wait(timeout=600) == 0
    return elapsed


@pytest.mark.django_db(transaction=True)
def test_polis_consumer_throughput_against_bare_pika():
    url = os.environ["TFOMS_AMQP_URL"]
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    settings.TFOMS_AMQP_URL = url
    settings.TFOMS_QUEUE_PREFIX = prefix
    messaging.reset_backend()
    assert messaging.get_backend().ping() == ""  # declares the bench's queues
    to_mis = messaging.queue_name(messaging.TO_MIS)
    smo = SmoFactory(code="59050")
    SmoFactory(code="59051")
    make_persons(0, 2 * N, smo)
    first, second = messages(0, N), messages(N, N)
    try:
        publish(url, f"{prefix}bare", first)
        bare = bare_consume(url, f"{prefix}bare", N, settings.TFOMS_CONSUMER_PREFETCH)

        publish(url, to_mis, first)
        one = consumers(1, prefix, N)
        publish(url, to_mis, second)
        two = consumers(2, prefix, 2 * N)
    finally:
        messaging.reset_backend()
        purge = pika.BlockingConnection(pika.URLParameters(url))
        for name in messaging.all_queues():
            purge.channel().queue_delete(name)
        purge.close()
    processed = Package.objects.filter(direction="in", status=PackageStatus.PROCESSED).count()
    answers = Package.objects.filter(package_type="ANSWER").count()
    assert processed == answers == 2 * N, (processed, answers)
    assert Policy.objects.filter(smo__code="59051").count() == 2 * N

    bare_rate, one_rate, two_rate = N / bare, N / one, N / two

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    print(
        f"\nPOLIS CONSUMER BENCH ({connection.vendor}, {N} messages per run, batch "
        f"{settings.TFOMS_CONSUMER_BATCH}, prefetch {settings.TFOMS_CONSUMER_PREFETCH}; from the consumers "
        f"ready to the last package stored):\n"
        f"  bare pika consume + ack : {bare_rate:,.0f} msg/s ({bare:.1f} s)\n"
        f"  ours, one process       : {one_rate:,.0f} msg/s ({one:.1f} s) = {one_rate / bare_rate:.2f} of bare "
        f"(target ≥ 500: {verdict(one_rate >= 500)})\n"
        f"  ours, two processes     : {two_rate:,.0f} msg/s ({two:.1f} s) = {two_rate / one_rate:.2f}× one "
        f"(target ≥ 1.7×: {verdict(two_rate >= 1.7 * one_rate)})"
    )
