"""The relay as its production process (a Celery worker) under real faults, C8/C9, integration.md
T1–T5, G1–G3 (issue 16 item 1 and 3, issue 19 items 7–8): killed with SIGKILL before its publish
reached the broker, between publish and confirm, and between confirm and commit; its broker link cut
mid-publish and stalled; stopped with SIGTERM with a batch in hand. Each test counts packages formed,
messages on the broker and packages marked sent: 0 lost, copies on the wire only with the same
message_id, order within the key kept."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg2
import pytest
from celery import Celery
from django.db import connection
from django.db.models import Count

from servicelog import forming
from servicelog.models import Attempt, LogEntry, Package, PackageStatus, RunResult, RunTrigger, ServiceRun
from servicelog.relay import INTERRUPTED, PUBLISHING
from servicelog.runs import run_open, runs_close_dead
from servicelog.services import service_execute
from tests.factories import AttachmentFactory, MoFactory, SiteFactory
from tests.faults import (
    Process,
    TcpProxy,
    amqp_url,
    celery_worker,
    depth,
    drain,
    own_vhost,
    portal_env,
    sessions_waiting_for_a_lock,
    until,
)
from tfoms_portal import messaging

S = PackageStatus
pytestmark = [pytest.mark.postgres, pytest.mark.amqp, pytest.mark.django_db(transaction=True)]
# The relay's wait for the broker's confirms: short where the test stalls the link on purpose (and
# SIGTERM must end within 10 s), generous elsewhere, so a slow CI machine never adds a stray resend.
STALL_CONFIRM_TIMEOUT = 4
CONFIRM_TIMEOUT = 30


@dataclass
class Broker:
    url: str  # the test's vhost, straight
    proxied: str  # the same vhost through the test's proxy (what the relay is given)
    proxy: TcpProxy
    celery: Celery

    @property
    def from_mis(self) -> str:
        return messaging.queue_name(messaging.FROM_MIS)

    def relay(self) -> None:
        """What beat does every few seconds: one relay task for the worker."""
        self.celery.send_task("servicelog.relay")

    def worker(self, name: str = "relay", confirm_timeout: int = CONFIRM_TIMEOUT, **extra: str) -> Process:
        env = portal_env(
            TFOMS_AMQP_URL=self.proxied,
            CELERY_BROKER_URL=self.url,
            TFOMS_CONFIRM_TIMEOUT_SECONDS=str(confirm_timeout),
            TFOMS_SEND_RETRY_BASE_SECONDS="1",
            TFOMS_SEND_RETRY_MAX_SECONDS="1",
            **extra,
        )
        return celery_worker(env, name)


@pytest.fixture
def broker(settings, monkeypatch) -> Iterator[Broker]:
    monkeypatch.setattr(forming, "_kickers", [])  # the test says when the relay runs
    with own_vhost() as vhost:
        url = amqp_url(vhost)
        settings.TFOMS_AMQP_URL, settings.TFOMS_QUEUE_PREFIX = url, ""
        messaging.reset_backend()
        assert messaging.get_backend().ping() == ""  # declares the portal's queues in the vhost
        proxy = TcpProxy(5672)
        app = Celery(broker=url)
        try:
            yield Broker(url, amqp_url(vhost, proxy.port), proxy, app)
        finally:
            app.close()
            proxy.close()
            messaging.reset_backend()


@pytest.fixture
def mo():
    return MoFactory(code="590001")


def form(mo, sites: int) -> list[str]:
    """`sites` more DISTRICT Inserts, formed by the service as a run would: their message_ids."""
    have = mo.sites.count()
    for number in range(have + 1, have + sites + 1):
        SiteFactory(mo=mo, number=str(number))
    service_execute("tfoms_auto", mo=mo)
    formed = Package.objects.filter(package_type="DISTRICT", status=S.FORMED).order_by("sequence")
    return [package.message_id for package in formed.only("uuid")]


def unconfirmed() -> int:
    return Attempt.objects.filter(kind="publish", ok=None, detail=PUBLISHING).count()


def sent_count() -> int:
    return Package.objects.filter(package_type="DISTRICT", status=S.SENT).count()


def warm(
    broker: Broker, mo, confirm_timeout: int = CONFIRM_TIMEOUT, **extra: str
) -> tuple[Process, list[str]]:
    """A worker that has already sent one package, so its broker connection is open through the proxy."""
    first = form(mo, 1)
    worker = broker.worker(confirm_timeout=confirm_timeout, **extra)
    broker.relay()
    until(lambda: sent_count() == 1, what="the first package sent")
    return worker, first


def finish(broker: Broker, expected: list[str]) -> list[str]:
    """A new worker (the restart) sends everything; the broker's messages taken off the queue."""
    worker = broker.worker("restarted")
    try:
        deadline = time.monotonic() + 60
        while sent_count() < len(expected) and time.monotonic() < deadline:
            broker.relay()
            time.sleep(0.5)
    finally:
        worker.stop()
    assert sent_count() == len(expected), worker.output()[-3000:]
    return drain(broker.url, broker.from_mis)


def assert_wire(arrived: list[str], expected: list[str], *, copies: int) -> None:
    """Every package on the wire; the copies only ever with the same message_id; first arrivals in
    the key's order."""
    counts = Counter(arrived)
    assert set(counts) == set(expected)
    assert sum(counts.values()) == len(expected) + copies, counts.most_common(3)
    assert max(counts.values()) <= 2
    firsts = list(dict.fromkeys(arrived))
    assert firsts == expected  # one key: its sequence order, copies or not


def test_relay_killed_before_its_publish_reached_the_broker_sends_each_once(broker, mo):
    worker, first = warm(broker, mo)
    expected = first + form(mo, 30)
    broker.proxy.stall(upstream=True, downstream=False)  # our bytes stop on the way to the broker
    broker.relay()
    until(lambda: unconfirmed() == 30, what="the relay claimed the batch and is publishing it")
    time.sleep(0.5)  # it has written the batch into its socket
    worker.kill9()
    broker.proxy.cut()
    broker.proxy.resume()
    assert depth(broker.url, broker.from_mis) == 1  # only the first package ever reached the broker
    assert Package.objects.filter(status=S.FORMED).count() == 30  # nothing marked
    assert unconfirmed() == 30  # but the attempt is on record: the fund might have got them
    assert_wire(finish(broker, expected), expected, copies=0)
    assert Attempt.objects.filter(kind="publish", ok=True).count() == 31
    assert Attempt.objects.filter(kind="publish", ok=None, detail=INTERRUPTED).count() == 30


def test_relay_killed_between_publish_and_confirm_resends_with_the_same_message_ids(broker, mo):
    worker, first = warm(broker, mo)
    expected = first + form(mo, 30)
    broker.proxy.stall(upstream=False, downstream=True)  # the broker takes them; its confirms wait
    broker.relay()
    until(lambda: depth(broker.url, broker.from_mis) == 31, what="the broker holds the batch")
    worker.kill9()
    broker.proxy.cut()
    broker.proxy.resume()
    assert Package.objects.filter(status=S.FORMED).count() == 30  # not marked: no confirm was seen
    assert unconfirmed() == 30
    arrived = finish(broker, expected)
    assert_wire(arrived, expected, copies=30)  # the fund de-duplicates by message_id
    # The journal shows as many publishes as the fund received (issue 19 item 8).
    assert Attempt.objects.filter(kind="publish").count() == len(arrived) == 61


def test_relay_killed_between_confirm_and_commit_leaves_no_half_written_batch(broker, mo):
    expected = form(mo, 30)
    worker = broker.worker()
    blocker = psycopg2.connect(**connection.get_connection_params())
    try:
        with blocker.cursor() as cursor:  # the batch's log lines are written last, in the same statement
            cursor.execute(f"LOCK TABLE {LogEntry._meta.db_table} IN SHARE MODE")
        broker.relay()
        until(lambda: sessions_waiting_for_a_lock() == 1, what="the relay marking the batch")
        assert depth(broker.url, broker.from_mis) == 30  # confirmed by the broker
        worker.kill9()
    finally:
        blocker.rollback()
        blocker.close()
    assert Package.objects.filter(status=S.FORMED).count() == 30  # the UPDATE died uncommitted
    assert not Attempt.objects.filter(kind="publish", ok=True).exists()
    assert unconfirmed() == 30
    arrived = finish(broker, expected)
    assert_wire(arrived, expected, copies=30)
    assert Attempt.objects.filter(kind="publish", ok=True).count() == 30
    assert Attempt.objects.filter(kind="publish").count() == len(arrived)


def test_connections_cut_mid_publish_retry_until_everything_is_sent_in_order(broker, mo):
    worker, first = warm(broker, mo, TFOMS_CONFIRM_WINDOW="5")
    expected = first + form(mo, 40)
    broker.proxy.stall(upstream=False, downstream=True)  # a window of 5 goes out, then waits
    broker.relay()
    until(lambda: depth(broker.url, broker.from_mis) == 6, what="the first window on the broker")
    assert broker.proxy.cut() >= 1  # T2: the link drops while the relay waits for its confirms
    broker.proxy.resume()
    until(lambda: Package.objects.filter(status=S.SEND_ERROR).count() == 40, what="Ошибка отправки")
    failed = Package.objects.filter(status=S.SEND_ERROR).order_by("sequence").first()
    assert "соединение с брокером потеряно" in failed.result
    assert failed.next_attempt_at is not None  # retried by itself, no one has to press anything
    worker.stop()
    assert_wire(finish(broker, expected), expected, copies=5)
    assert Attempt.objects.filter(kind="publish", ok=False).count() == 40
    assert Attempt.objects.filter(kind="publish", ok=True).count() == 41


def test_a_stalled_broker_link_is_given_up_within_the_confirm_timeout_and_sent_after(broker, mo):
    worker, first = warm(broker, mo, STALL_CONFIRM_TIMEOUT)
    expected = first + form(mo, 20)
    broker.proxy.stall()  # T5: the broker stops reading and answering (as when it blocks publishers)
    started = time.monotonic()
    broker.relay()
    until(lambda: Package.objects.filter(status=S.SEND_ERROR).count() == 20, timeout=30, what="given up")
    assert time.monotonic() - started < STALL_CONFIRM_TIMEOUT + 6
    failed = Package.objects.filter(status=S.SEND_ERROR).first()
    assert f"не подтвердил приём за {STALL_CONFIRM_TIMEOUT} с" in failed.result
    broker.proxy.resume()
    try:
        deadline = time.monotonic() + 60
        while sent_count() < 21 and time.monotonic() < deadline:  # the same worker recovers
            broker.relay()
            time.sleep(0.5)
        assert sent_count() == 21, worker.output()[-3000:]
    finally:
        worker.stop()
    arrived = drain(broker.url, broker.from_mis)
    assert set(arrived) == set(expected) and list(dict.fromkeys(arrived)) == expected


def test_a_broker_refusing_connections_is_a_send_error_in_words_retried_until_everything_is_sent(broker, mo):
    broker.proxy.refusing = True  # the broker's port answers, and drops every new connection (T2 at connect)
    expected = form(mo, 10)
    worker = broker.worker(TFOMS_AMQP_CONNECT_ATTEMPTS="2")
    try:
        broker.relay()
        until(lambda: Package.objects.filter(status=S.SEND_ERROR).count() == 10, what="Ошибка отправки")
        failed = Package.objects.filter(status=S.SEND_ERROR).order_by("sequence").first()
        assert failed.result.startswith("Ошибка отправки пакета: Брокер RabbitMQ недоступен")
        assert failed.next_attempt_at is not None  # a retry of its own, nothing to press
        assert depth(broker.url, broker.from_mis) == 0
        broker.proxy.refusing = False
        deadline = time.monotonic() + 60
        while sent_count() < 10 and time.monotonic() < deadline:  # the same worker, on its retries
            broker.relay()
            time.sleep(0.5)
        assert sent_count() == 10, worker.output()[-3000:]
    finally:
        worker.stop()
    assert_wire(drain(broker.url, broker.from_mis), expected, copies=0)
    assert Attempt.objects.filter(kind="publish", ok=False).count() == 10
    assert not Attempt.objects.filter(kind="publish", ok=None).exists()


def test_sigterm_with_a_batch_in_hand_finishes_it_and_exits_within_10_s(broker, mo):
    worker, _ = warm(broker, mo, STALL_CONFIRM_TIMEOUT)
    form(mo, 20)
    broker.proxy.stall(upstream=False, downstream=True)  # the batch is out, its confirms held
    broker.relay()
    until(lambda: depth(broker.url, broker.from_mis) == 21, what="the batch on the broker")
    took = worker.terminate(timeout=10)
    assert took < 10
    broker.proxy.resume()
    assert "Warm shutdown" in worker.output()  # Celery's own stop: the task in hand ran to its end
    # Nothing is left in between: the batch whose confirms never came is due for a retry, in words.
    left = list(Package.objects.filter(package_type="DISTRICT").exclude(status=S.SENT))
    assert len(left) == 20
    assert all(p.status == S.SEND_ERROR and p.next_attempt_at for p in left)
    assert Attempt.objects.filter(kind="publish", ok=False).count() == 20


def run_in_worker(broker: Broker, mo) -> tuple[Process, int]:
    """«Запуск» as the page does it: the run opened, its work a Celery task; the worker is killed with
    SIGKILL while the run forms (integration.md T9), blocked on its first package write."""
    sites = [SiteFactory(mo=mo, number=str(n)) for n in range(1, 31)]
    for n in range(300):
        AttachmentFactory(mo=mo, site=sites[n % len(sites)])
    worker = broker.worker()
    blocker = psycopg2.connect(**connection.get_connection_params())
    try:
        with blocker.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Package._meta.db_table} IN SHARE MODE")
        opened = run_open("tfoms_auto", mo=mo, trigger=RunTrigger.MANUAL)
        broker.celery.send_task("servicelog.execute_run", args=[opened.pk])
        until(lambda: sessions_waiting_for_a_lock() == 1, what="the run forming its packages")
    finally:
        worker.kill9()
        blocker.rollback()
        blocker.close()
    assert not Package.objects.exists()  # the МО's forming is one transaction: nothing half-formed
    assert ServiceRun.objects.get(pk=opened.pk).result == RunResult.RUNNING
    return worker, opened.pk


def formed_once() -> dict[str, int]:
    twice = Package.objects.values("package_type", "object_id").annotate(n=Count("pk")).filter(n__gt=1)
    assert not twice.exists(), list(twice[:5])
    return dict(Package.objects.values_list("package_type").annotate(n=Count("pk")).order_by())


def test_worker_killed_while_forming_the_redelivered_task_finishes_the_run_once(broker, mo):
    _, run_id = run_in_worker(broker, mo)
    restarted = broker.worker("restarted")  # acks_late: the killed task comes back to a live worker
    try:
        until(lambda: ServiceRun.objects.get(pk=run_id).result != RunResult.RUNNING, what="the run closed")
    finally:
        restarted.stop()
    assert ServiceRun.objects.get(pk=run_id).result == RunResult.SUCCESS
    assert formed_once() == {"DISTRICT": 30, "PERSONATTACHDISTRICT": 300}


def test_worker_killed_while_forming_the_sweep_closes_the_run_and_a_late_redelivery_does_nothing(broker, mo):
    _, run_id = run_in_worker(broker, mo)
    assert runs_close_dead(silent_for=timedelta(0)) == 1  # the periodic sweep, when no worker came back
    closed = ServiceRun.objects.get(pk=run_id)
    assert closed.result == RunResult.ERROR
    assert closed.log.filter(message__contains="нет признаков работы").exists()
    lines = closed.log.count()
    restarted = broker.worker("restarted")
    try:
        restarted.wait_for("servicelog.execute_run")  # the redelivery reaches the new worker …
        restarted.wait_for("its redelivered task does nothing")
    finally:
        restarted.stop()
    again = ServiceRun.objects.get(pk=run_id)
    assert (again.result, again.finished_at) == (closed.result, closed.finished_at)  # … leaves it be
    assert again.log.count() == lines
    assert not Package.objects.exists()
    service_execute("tfoms_auto", mo=mo)  # the next run forms everything, each object once
    assert formed_once() == {"DISTRICT": 30, "PERSONATTACHDISTRICT": 300}


def test_two_relay_workers_at_once_keep_each_keys_order_and_send_each_package_once(broker):
    expected: dict[str, list[str]] = {}
    for code in ("590001", "590002", "590003"):
        mo = MoFactory(code=code)
        form(mo, 40)
        expected[code] = [
            p.message_id for p in Package.objects.filter(mo=mo).order_by("sequence").only("uuid")
        ]
    workers = [
        broker.worker("relay 1", TFOMS_RELAY_BATCH="7"),
        broker.worker("relay 2", TFOMS_RELAY_BATCH="7"),
    ]
    try:
        deadline = time.monotonic() + 90
        while sent_count() < 120 and time.monotonic() < deadline:
            broker.relay()  # two tasks in flight most of the time: both workers busy at once
            broker.relay()
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.stop()
    assert sent_count() == 120
    assert all("servicelog.relay" in worker.output() for worker in workers)  # both did passes
    arrived = drain(broker.url, broker.from_mis)
    assert len(arrived) == len(set(arrived)) == 120  # no double publish: one relay per key at a time
    for ids in expected.values():
        assert [i for i in arrived if i in set(ids)] == ids  # each МО's key in its sequence order
