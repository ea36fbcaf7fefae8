"""RPC round trips (issue 13): online identification calls through the portal's whole path — record
the call and its Query package, publish (as the background task does), the emulator process answers,
the consumer process writes the reply to the row, the caller polls the row — beside a bare pika RPC
client against the same emulator process in the same run (the real limit: the fund's own speed and
the broker's). Both keep the same number of calls in flight. Target ≥ 0.3 of the bare rate; p95
latency printed for both.

Run with `make bench` and DATABASE_URL (PostgreSQL) and TFOMS_AMQP_URL set; BENCH_RPC_CALLS, BENCH_RPC_WINDOW
override the size."""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
import uuid
from pathlib import Path

import pika
import pytest
from django.conf import settings
from django.db import close_old_connections, connection

from identification.online import identify_online_start, pers_payload
from registry.models import Person
from servicelog.envelope import envelope_build
from servicelog.models import RpcCall, RpcState
from servicelog.registry import get_package_type
from tests.attachment.test_district_amqp import Emulator
from tests.factories import MoFactory, PersonFactory, SmoFactory
from tests.faults import amqp_url, consumer, own_vhost, portal_env
from tests.servicelog.test_rpc_amqp import register_of
from tfoms_portal import messaging

N = int(os.environ.get("BENCH_RPC_CALLS", "1000"))
WINDOW = int(os.environ.get("BENCH_RPC_WINDOW", "8"))
pytestmark = [pytest.mark.amqp, pytest.mark.postgres]


def _p95(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=20)[-1] * 1000


def bare_rpc(url: str, queue: str, bodies: list[bytes], window: int) -> tuple[float, float]:
    """A pika RPC client: an exclusive reply queue, `window` requests in flight, the next one sent
    the moment a reply comes. Returns (seconds, p95 ms)."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    channel = conn.channel()
    reply_queue = channel.queue_declare("", exclusive=True).method.queue
    sent: dict[str, float] = {}
    latencies: list[float] = []
    todo = list(bodies)

    def send() -> None:
        body = todo.pop()
        correlation = str(uuid.uuid4())
        sent[correlation] = time.perf_counter()
        channel.basic_publish(
            "",
            queue,
            body,
            pika.BasicProperties(
                type="PERS",
                message_id=str(uuid.uuid4()).upper(),
                reply_to=reply_queue,
                correlation_id=correlation,
            ),
        )

    def on_reply(ch, method, props, body) -> None:
        latencies.append(time.perf_counter() - sent.pop(props.correlation_id))
        if todo:
            send()

    channel.basic_consume(reply_queue, on_reply, auto_ack=True)
    started = time.perf_counter()
    for _ in range(min(window, len(todo))):
        send()
    while len(latencies) < len(bodies):
        conn.process_data_events(time_limit=1)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, _p95(latencies)


def portal_rpc(persons: list[Person], mo, window: int) -> tuple[float, float]:
    """`window` callers, each: start a call, publish it, poll its row every 2 ms until answered."""
    todo = list(persons)
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[str] = []
    stages: dict[str, list[float]] = {"record and publish": []}

    def caller() -> None:
        close_old_connections()
        while True:
            with lock:
                if not todo:
                    break
                person = todo.pop()
            started = time.perf_counter()
            # recorded, and published after its commit (the background task, inline in the suite)
            call = identify_online_start(person=person, mo=mo, user=None)
            stages["record and publish"].append(time.perf_counter() - started)
            give_up = time.perf_counter() + 60
            while not RpcCall.objects.filter(pk=call.pk).exclude(state__in=("sending", "waiting")).exists():
                assert time.perf_counter() < give_up, f"call {call.pk} not answered in 60 s"
                time.sleep(0.002)
            state = RpcCall.objects.filter(pk=call.pk).values_list("state", flat=True).get()
            if state != RpcState.ANSWERED:
                failures.append(state)
            latencies.append(time.perf_counter() - started)
        connection.close()

    started = time.perf_counter()
    if window == 1:
        caller()  # in this thread (a profile sees it)
    else:
        threads = [threading.Thread(target=caller) for _ in range(window)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - started
    assert not failures, failures[:5]
    print(
        "\n  portal stages (mean ms): "
        + ", ".join(f"{k} {statistics.mean(v) * 1000:.1f}" for k, v in stages.items())
    )
    return elapsed, _p95(latencies)


@pytest.mark.django_db(transaction=True)
def test_rpc_round_trips_against_bare_pika(tmp_path: Path):
    mo = MoFactory(code="599901")
    smo = SmoFactory(code="59021", ogrn="1025900000006")  # every answer's policy is saved (the B5 path)
    persons = [PersonFactory(last_name=f"Бенчев{n}", first_name="Иван", sex=1) for n in range(2 * N)]
    register = register_of(persons, smo)
    path = tmp_path / "register.json"
    path.write_text(json.dumps(register, ensure_ascii=False), encoding="utf-8")
    kind = get_package_type("PERS")
    assert kind.envelope is not None
    with own_vhost() as vhost:
        url = amqp_url(vhost)
        settings.TFOMS_AMQP_URL, settings.TFOMS_QUEUE_PREFIX = url, ""
        messaging.reset_backend()
        assert messaging.get_backend().ping() == ""
        fund = Emulator(url, "", "--register", str(path))
        reader = consumer(portal_env(TFOMS_AMQP_URL=url))
        try:
            today = persons[0].created_at.date()
            from lxml import etree

            bodies = [
                etree.tostring(envelope_build(kind.envelope, pers_payload(p, today), "Query"))
                for p in persons[N:]
            ]
            bare, bare_p95 = bare_rpc(url, messaging.queue_name(messaging.FROM_MIS), bodies, WINDOW)
            if os.environ.get("BENCH_PROFILE"):  # where a round trip's time goes (issue 18's "profile first")
                import cProfile
                import pstats

                profile = cProfile.Profile()
                profile.enable()
                portal, portal_p95 = portal_rpc(persons[:N], mo, 1)
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
            else:
                portal, portal_p95 = portal_rpc(persons[:N], mo, WINDOW)
        finally:
            reader.stop()
            fund.stop()
            messaging.reset_backend()
    bare_rate, portal_rate = N / bare, N / portal
    print(
        f"\nRPC BENCH ({connection.vendor}, {N} PERS calls, {WINDOW} in flight, emulator process, consumer process):\n"
        f"  bare pika RPC client   : {bare_rate:,.0f} calls/s, p95 {bare_p95:.0f} ms\n"
        f"  portal (record, publish, consumer, row, poll): {portal_rate:,.0f} calls/s, p95 {portal_p95:.0f} ms "
        f"= {portal_rate / bare_rate:.2f} of bare (target ≥ 0.3)"
    )
