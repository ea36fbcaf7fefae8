"""The consumer as its production process (`manage.py runconsumer`) killed with SIGKILL at the two
points of integration.md T6, C8/G4–G6 (issue 16 item 1): inside its transaction, after the fund's
change was applied and before the commit; and after the commit, before the broker got the ack. Each
test counts the fund's messages, the packages and the policies they changed: 0 lost, 0 applied twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pika
import psycopg2
import pytest
from django.db import connection

from registry.models import Policy
from servicelog.inbox import receiving_run
from servicelog.models import InboundMessage, LogEntry, Package, PackageStatus
from servicelog.registry import get_inbound_type
from tests.faults import (
    TcpProxy,
    amqp_url,
    close_connections,
    consumer,
    depth,
    outstanding,
    own_vhost,
    portal_env,
    sessions_waiting_for_a_lock,
    until,
)
from tests.registry.fund_samples import persons_with_policies, polis_messages
from tfoms_portal import messaging

S = PackageStatus
pytestmark = [pytest.mark.postgres, pytest.mark.amqp, pytest.mark.django_db(transaction=True)]
N = 60


@pytest.fixture
def vhost(settings) -> Iterator[str]:
    with own_vhost() as name:
        settings.TFOMS_AMQP_URL, settings.TFOMS_QUEUE_PREFIX = amqp_url(name), ""
        messaging.reset_backend()
        assert messaging.get_backend().ping() == ""  # declares the portal's queues in the vhost
        try:
            yield name
        finally:
            messaging.reset_backend()


def publish_polis(url: str, n: int) -> None:
    """The fund's СМО changes for n persons, on the queue of the fund's packages, confirmed."""
    broker = pika.BlockingConnection(pika.URLParameters(url))
    channel = broker.channel()
    channel.confirm_delivery()
    for message_id, body in polis_messages(n):
        channel.basic_publish(
            "",
            messaging.queue_name(messaging.TO_MIS),
            body,
            pika.BasicProperties(delivery_mode=2, message_id=message_id, type="POLIS"),
        )
    broker.close()


def consumers_on(url: str, queue: str) -> int:
    broker = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(broker.channel().queue_declare(queue, passive=True).method.consumer_count)
    finally:
        broker.close()


def env(url: str) -> dict[str, str]:
    # As in production, the relay's kick after the answers are formed goes to Celery (no worker here).
    return portal_env(TFOMS_AMQP_URL=url, CELERY_BROKER_URL=url)


def applied() -> dict[str, int]:
    """What the fund's messages did: inbox rows, packages, our answers, the new and the closed policies."""
    return {
        "inbox": InboundMessage.objects.count(),
        "packages": Package.objects.filter(direction="in").count(),
        "processed": Package.objects.filter(direction="in", status=S.PROCESSED).count(),
        "answers": Package.objects.filter(package_type="ANSWER").count(),
        "new policies": Policy.objects.filter(smo__code="59051").count(),
        "closed policies": Policy.objects.filter(smo__code="59050", valid_to=dt.date(2026, 5, 31)).count(),
    }


def everything_once() -> dict[str, int]:
    return dict.fromkeys(applied(), N)


def writing_policies_elsewhere() -> bool:
    """Another session holds the row lock of a policy write: the consumer is inside its transaction
    after the fund's change was applied."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = %s AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()",
            [Policy._meta.db_table],
        )
        return int(cursor.fetchone()[0]) > 0


def test_consumer_killed_inside_its_transaction_applies_nothing_then_everything_once(vhost):
    url = amqp_url(vhost)
    persons_with_policies(N)
    receiving_run(get_inbound_type("POLIS").service)  # today's «Приём пакетов» is open already
    blocker = psycopg2.connect(**connection.get_connection_params())
    with blocker.cursor() as cursor:  # the batch's log lines are its last write
        cursor.execute(f"LOCK TABLE {LogEntry._meta.db_table} IN SHARE MODE")
    publish_polis(url, N)  # all waiting before the consumer starts: it takes them as full batches
    first = consumer(env(url))
    try:
        until(lambda: sessions_waiting_for_a_lock() >= 1, what="the consumer writing its batch")
        assert writing_policies_elsewhere()  # the policies are changed, not yet committed
    finally:
        first.kill9()
        blocker.rollback()
        blocker.close()
    assert applied() == dict.fromkeys(applied(), 0)  # all or nothing: nothing
    until(lambda: depth(url, messaging.queue_name(messaging.TO_MIS)) == N, what="the deliveries returned")
    second = consumer(env(url), "consumer 2")
    try:
        until(lambda: applied()["inbox"] == N, what="all applied after the restart")
    finally:
        second.stop()
    assert applied() == everything_once()


def test_consumer_killed_after_commit_before_the_ack_recognises_every_redelivery(vhost):
    url = amqp_url(vhost)
    persons_with_policies(N)
    proxy = TcpProxy(5672)
    try:
        first = consumer(env(amqp_url(vhost, proxy.port)))
        queue = messaging.queue_name(messaging.TO_MIS)
        until(lambda: consumers_on(url, queue) == 1, what="the consumer subscribed")
        proxy.stall(upstream=True, downstream=False)  # its acks will not reach the broker
        publish_polis(url, N)
        until(lambda: applied()["inbox"] == N, what="every message applied and committed")
    finally:
        first.kill9()
        proxy.close()
    assert applied() == everything_once()
    until(lambda: depth(url, queue) == N, what="every delivery back on the queue: no ack arrived")
    second = consumer(env(url), "consumer 2")
    try:
        until(lambda: outstanding(vhost, queue) == 0, what="every redelivery acknowledged")
    finally:
        assert second.terminate() < 10  # SIGTERM: the batch in hand is finished and acked
    assert depth(url, queue) == 0  # nothing went back: every redelivery was acked
    assert applied() == everything_once()  # each redelivery recognised by its message_id, no second effect


def test_two_consumers_at_once_with_the_funds_duplicates_apply_each_message_once(vhost):
    url = amqp_url(vhost)
    persons_with_policies(N)
    messages = polis_messages(N)
    broker = pika.BlockingConnection(pika.URLParameters(url))
    channel = broker.channel()
    channel.confirm_delivery()
    for index, (message_id, body) in enumerate(messages):
        for _ in range(2 if index % 3 == 0 else 1):  # a third sent twice by the fund, same message_id
            channel.basic_publish(
                "",
                messaging.queue_name(messaging.TO_MIS),
                body,
                pika.BasicProperties(delivery_mode=2, message_id=message_id, type="POLIS"),
            )
    broker.close()
    two = [consumer(env(url), "consumer 1"), consumer(env(url), "consumer 2")]
    try:
        queue = messaging.queue_name(messaging.TO_MIS)
        until(lambda: outstanding(vhost, queue) == 0, what="every message and duplicate acknowledged")
    finally:
        for process in two:
            assert process.terminate() < 10
    assert depth(url, messaging.queue_name(messaging.TO_MIS)) == 0
    assert applied() == everything_once()


def test_a_handler_outliving_the_brokers_patience_is_applied_once_without_a_crash_loop(vhost):
    """T10: the broker gives up on a consumer whose handler runs too long (consumer_timeout) and
    closes its channel; the handler still commits, its ack is lost, the deliveries come back. The
    consumer reconnects by itself and recognises each redelivery. RabbitMQ 3.10 sets consumer_timeout
    only for the whole node, which a test must not change: the broker's close_connection stands in
    for it, with the same effect on the client (the channel gone while the handler runs)."""
    url = amqp_url(vhost)
    queue = messaging.queue_name(messaging.TO_MIS)
    persons_with_policies(N)
    receiving_run(get_inbound_type("POLIS").service)
    blocker = psycopg2.connect(**connection.get_connection_params())
    with blocker.cursor() as cursor:  # the handler is slow: its last write waits
        cursor.execute(f"LOCK TABLE {LogEntry._meta.db_table} IN SHARE MODE")
    publish_polis(url, N)
    slow = consumer(env(url))
    try:
        until(lambda: sessions_waiting_for_a_lock() >= 1, what="the handler inside its transaction")
        assert close_connections(vhost, "delivery acknowledgement timed out") >= 1  # with the test's own
        blocker.rollback()  # the handler goes on and commits; its ack has no channel to go on
        until(lambda: applied()["inbox"] == N, what="every message applied")
        until(lambda: outstanding(vhost, queue) == 0, what="every redelivery acknowledged")
        assert slow.popen.poll() is None  # the same process, reconnected: no crash, no restart
        assert "брокер недоступен, повтор через 1 с" in slow.output()
    finally:
        blocker.close()
        assert slow.terminate() < 10
    assert applied() == everything_once()


POISON = [  # what no handler can read, each with the words its rejection must carry
    (b"<POLIS>\x00</POLIS>", "POLIS", "корректным XML"),  # a NUL
    (b"\xff\xfe\x00garbage\x00", "POLIS", "корректным XML"),  # no XML at all
    (
        '<?xml version="1.0" encoding="utf-8"?><POLIS>Иванов</POLIS>'.encode("cp1251"),
        "POLIS",
        "корректным XML",
    ),
    (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><POLIS>&e;</POLIS>', "POLIS", "DOCTYPE"),
    (b"<SOMETHING><A>1</A></SOMETHING>", "SOMETHING", "Неизвестный тип пакета"),
]


def test_poison_of_every_kind_amid_the_funds_messages_is_rejected_answered_and_never_requeued(vhost):
    """G7/T8 with the real consumer process: poison (a NUL, garbage, a wrong encoding, a DOCTYPE, an
    unknown type; half of them without a message_id) interleaved with the fund's real POLIS. Each
    poison message is stored Отклонен once with its reason and answered ANSWER ERROR; the real ones are
    all applied; nothing is requeued, so nothing waits behind the poison."""
    url = amqp_url(vhost)
    queue = messaging.queue_name(messaging.TO_MIS)
    persons_with_policies(N)
    broker = pika.BlockingConnection(pika.URLParameters(url))
    channel = broker.channel()
    channel.confirm_delivery()
    good = iter(polis_messages(N))
    for index in range(N):
        message_id, body = next(good)
        channel.basic_publish(
            "", queue, body, pika.BasicProperties(delivery_mode=2, message_id=message_id, type="POLIS")
        )
        if index % 6 == 0:  # ten poison messages among the sixty
            body, kind, _ = POISON[(index // 6) % len(POISON)]
            poison_id = None if index % 12 == 0 else f"POISON-{index}"
            channel.basic_publish(
                "", queue, body + b" " * index, pika.BasicProperties(message_id=poison_id, type=kind)
            )
    broker.close()
    running = consumer(env(url))
    try:
        until(lambda: outstanding(vhost, queue) == 0, what="every message acknowledged")
    finally:
        assert running.terminate() < 10
    assert "requeued" not in running.output()  # not once taken for our database being down
    # the fund's real changes, all of them; the poison in the inbox, the packages and the answers too
    assert applied() == everything_once() | {"inbox": N + 10, "packages": N + 10, "answers": N + 10}
    rejected = Package.objects.filter(direction="in", status=S.REJECTED)
    assert rejected.count() == 10
    for package in rejected:
        assert any(words in package.result for _, _, words in POISON), package.result
    answers = Package.objects.filter(package_type="ANSWER")
    assert answers.count() == N + 10
    assert sorted(answer.payload["RESULT"] for answer in answers) == ["ERROR"] * 10 + ["OK"] * N
