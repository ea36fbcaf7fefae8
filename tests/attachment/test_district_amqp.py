"""DISTRICT over the real RabbitMQ with the emulator as a separate process: the guarantees G1–G7
(C8, C9) in one process; the faults with real process kills and a TCP proxy are in
tests/servicelog/test_relay_faults.py and test_consumer_faults.py. Each test has its own queues
(TFOMS_QUEUE_PREFIX)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import pytest
from django.db import connection as db_connection
from django.utils import timezone

from servicelog.inbox import inbound_handle
from servicelog.models import Attempt, InboundMessage, Package, PackageStatus, SentObject
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.factories import SiteFactory
from tfoms_portal import messaging

S = PackageStatus
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.amqp


class Emulator:
    """`python -m tfoms_emulator serve` on this test's queues; its stdout lines are collected."""

    def __init__(self, url: str, prefix: str, *extra: str) -> None:
        self.popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tfoms_emulator",
                "serve",
                "--amqp",
                url,
                "--queue-prefix",
                f"{prefix}tfoms.",
                "--iszl-request",
                f"{prefix}iszl.request",
                "--iszl-reply",
                f"{prefix}iszl.reply",
                "--iszl-rpc",
                f"{prefix}iszl.rpc",
                *extra,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for("ready")

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, needle: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.popen.poll() is None, f"the emulator exited: {self.seen}"
                continue
            self.seen.append(line)
            if needle in line:
                return
        raise AssertionError(f"{needle!r} not printed by the emulator: {self.seen}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()


@pytest.fixture
def amqp(settings) -> Iterator[str]:
    url = os.environ["TFOMS_AMQP_URL"]
    prefix = f"test{uuid.uuid4().hex[:8]}."
    settings.TFOMS_AMQP_URL = url
    settings.TFOMS_QUEUE_PREFIX = prefix
    settings.TFOMS_CONFIRM_TIMEOUT_SECONDS = 10
    messaging.reset_backend()
    assert messaging.get_backend().ping() == ""  # declares this test's queues
    names = messaging.all_queues()  # taken now: a test may change the settings
    yield prefix
    messaging.reset_backend()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    for name in names:
        channel.queue_delete(name)
    connection.close()


@pytest.fixture
def emulator(amqp) -> Iterator[Emulator]:
    fund = Emulator(os.environ["TFOMS_AMQP_URL"], amqp)
    yield fund
    fund.stop()


@pytest.fixture
def sites(mo_a):
    return [SiteFactory(mo=mo_a, number=str(n)) for n in range(1, 6)]


def consume_until(
    done: Callable[[], bool],
    handler: Callable[[messaging.InMessage], None] = inbound_handle,
    timeout: float = 30.0,
) -> None:
    deadline = time.monotonic() + timeout
    queues = [
        messaging.queue_name(messaging.TO_MIS_ANSWER),
        messaging.queue_name(messaging.ISZL_REPLY),
        messaging.queue_name(messaging.TO_MIS),
    ]
    messaging.get_backend().consume(
        queues, handler, should_stop=lambda: done() or time.monotonic() > deadline
    )
    assert done(), "timed out waiting for the fund"


def answered(n: int) -> Callable[[], bool]:
    return lambda: InboundMessage.objects.count() >= n


def district_statuses() -> list[str]:
    return list(Package.objects.filter(package_type="DISTRICT").values_list("status", flat=True))


def queue_depth(name: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(os.environ["TFOMS_AMQP_URL"]))
    try:
        return connection.channel().queue_declare(name, passive=True).method.message_count
    finally:
        connection.close()


@pytest.mark.django_db
def test_district_flow_over_rabbitmq(mo_a, sites, emulator):
    service_execute("tfoms_auto", mo=mo_a)
    stats = relay_run()
    assert stats.sent == 5 and stats.failed == 0
    consume_until(answered(5))
    assert district_statuses() == [S.ACCEPTED] * 5
    assert SentObject.objects.filter(package_type="DISTRICT").count() == 5
    emulator.wait_for("→ OK")


@pytest.mark.django_db
def test_unroutable_publish_is_a_send_error_never_sent(mo_a, sites, amqp, settings):
    service_execute("tfoms_auto", mo=mo_a)
    settings.TFOMS_QUEUES = {**settings.TFOMS_QUEUES, "from_mis": "no.such.queue"}
    stats = relay_run()
    assert stats.sent == 0 and stats.failed == 5
    package = Package.objects.filter(package_type="DISTRICT").order_by("sequence").first()
    assert package.status == S.SEND_ERROR
    assert "не доставлено в очередь" in package.result and "NO_ROUTE" in package.result
    assert not Package.objects.filter(status=S.SENT).exists()


@pytest.mark.django_db
def test_duplicate_answers_change_nothing(mo_a, sites, amqp):
    fund = Emulator(os.environ["TFOMS_AMQP_URL"], amqp, "--duplicate-ratio", "1")
    try:
        service_execute("tfoms_auto", mo=mo_a)
        relay_run()
        consume_until(answered(10))
    finally:
        fund.stop()
    assert district_statuses() == [S.ACCEPTED] * 5
    assert Attempt.objects.filter(kind="reply").count() == 5
    assert (
        sum(
            p.log.filter(message__startswith="Повторный ответ ТФОМС").count()
            for p in Package.objects.filter(package_type="DISTRICT")
        )
        == 5
    )


@pytest.mark.django_db
def test_poison_message_is_stored_acked_answered_and_never_looped(amqp, emulator):
    connection = pika.BlockingConnection(pika.URLParameters(os.environ["TFOMS_AMQP_URL"]))
    channel = connection.channel()
    to_mis = messaging.queue_name(messaging.TO_MIS)
    channel.basic_publish(
        "", to_mis, b"<POLIS><unclosed>", pika.BasicProperties(type="POLIS", message_id="POISON-1")
    )
    connection.close()
    consume_until(answered(1))
    time.sleep(1)
    assert queue_depth(to_mis) == 0  # acked, not requeued
    stored = Package.objects.get(direction="in")
    assert stored.status == S.REJECTED and "корректным XML" in stored.result
    answer = Package.objects.get(package_type="ANSWER")
    assert answer.payload["RESULT"] == "ERROR" and answer.payload["MESSAGE_ID"] == "POISON-1"
    assert relay_run().sent == 1
    assert answer.__class__.objects.get(pk=answer.pk).status == S.SENT
    emulator.wait_for("ANSWER")  # the fund got our answer on its answer queue


def relays_in_parallel(count: int) -> None:
    """`count` relays in threads of their own (each its connections) until nothing is Сформирован."""
    errors: list[BaseException] = []

    def relay_until_empty() -> None:
        try:
            while Package.objects.filter(status=S.FORMED).exists():
                relay_run()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            messaging.get_backend().close()
            db_connection.close()

    threads = [threading.Thread(target=relay_until_empty) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_relays_in_parallel_never_reorder_a_key(mo_a, amqp, settings):
    settings.TFOMS_RELAY_BATCH = 20
    for n in range(1, 121):
        SiteFactory(mo=mo_a, number=str(n))
    service_execute("tfoms_auto", mo=mo_a)
    expected = list(
        Package.objects.filter(package_type="DISTRICT").order_by("sequence").values_list("uuid", flat=True)
    )
    relays_in_parallel(2)
    connection = pika.BlockingConnection(pika.URLParameters(os.environ["TFOMS_AMQP_URL"]))
    channel = connection.channel()
    arrived = []
    while True:
        method, properties, _ = channel.basic_get(messaging.queue_name(messaging.FROM_MIS), auto_ack=True)
        if method is None:
            break
        arrived.append(uuid.UUID(properties.message_id))
    connection.close()
    assert arrived == expected


@pytest.mark.django_db
def test_attachment_kinds_over_rabbitmq(mo_a, mo_b, emulator):
    """C4 over the real broker: districts first, then attachments of several kinds, all accepted."""
    import datetime as dt

    from registry.models import Attachment
    from tests.factories import AttachmentFactory, PersonFactory, PolicyFactory

    today = timezone.localdate()
    people = [PersonFactory(last_name=f"Кролик{n}", fund_person_id=7100000 + n) for n in range(4)]
    for person in people:
        PolicyFactory(person=person, valid_from=dt.date(2015, 1, 1))
    AttachmentFactory(person=people[0], mo=mo_a, method=Attachment.Method.BY_APPLICATION)
    AttachmentFactory(person=people[1], mo=mo_a, method=Attachment.Method.BY_ADDRESS, is_conditional=True)
    AttachmentFactory(person=people[2], mo=mo_a, site=None)
    AttachmentFactory(
        person=people[3], mo=mo_a, date_from=dt.date(2020, 1, 1), date_to=today - dt.timedelta(days=1)
    )
    AttachmentFactory(person=people[3], mo=mo_b, date_from=today)
    service_execute("tfoms_auto")
    total = Package.objects.count()
    assert relay_run().sent == total
    consume_until(answered(total))
    kinds = sorted(Package.objects.values_list("package_type", flat=True))
    assert kinds == ["DISTRICT"] * 4 + ["PERSONATTACHDISTRICT"] * 5
    assert set(Package.objects.values_list("status", flat=True)) == {S.ACCEPTED}


def test_missing_queue_fails_loudly_when_the_fund_owns_the_topology(settings):
    """TFOMS_DECLARE_QUEUES=false (production): only passive declaration, a missing queue is an error."""
    settings.TFOMS_AMQP_URL = os.environ["TFOMS_AMQP_URL"]
    settings.TFOMS_QUEUE_PREFIX = f"absent{uuid.uuid4().hex[:8]}."
    settings.TFOMS_DECLARE_QUEUES = False
    settings.TFOMS_AMQP_CONNECT_ATTEMPTS = 1
    messaging.reset_backend()
    try:
        error = messaging.get_backend().ping()
        assert "не найдена у брокера" in error and settings.TFOMS_QUEUE_PREFIX in error
        outcome = messaging.get_backend().publish(
            [messaging.OutMessage(queue="x", body=b"<x/>", message_id="M-1", type="DISTRICT")]
        )
        assert outcome[0].error and not outcome[0].ok
        connection = pika.BlockingConnection(pika.URLParameters(settings.TFOMS_AMQP_URL))
        channel = connection.channel()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker):  # nothing was declared on the way
            channel.queue_declare(f"{settings.TFOMS_QUEUE_PREFIX}tfoms.from_mis", passive=True)
        connection.close()
    finally:
        messaging.reset_backend()
