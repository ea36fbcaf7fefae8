"""Issue 19 item 7: a database link that fails silently — packets dropped, nothing answering, not
even a reset — while the consumer or the relay is inside its transaction. The probe saw both blocked
for over 14 minutes "idle in transaction" holding locks. The process runs in a network namespace of
the test's own and reaches PostgreSQL through a veth link the test takes down (the broker through a
second link that stays up): it must give up within its TCP timeouts, have its locks freed by the
server's idle-in-transaction limit, and, once the link is back, finish everything exactly once
without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg2
import pytest
from celery import Celery
from django.db import connection

from servicelog import forming
from servicelog.inbox import receiving_run
from servicelog.models import LogEntry
from servicelog.registry import get_inbound_type
from tests.factories import MoFactory
from tests.faults import (
    Netns,
    TcpProxy,
    amqp_url,
    celery_worker,
    consumer,
    database_url,
    depth,
    drain,
    outstanding,
    portal_env,
    sessions_waiting_for_a_lock,
    until,
)
from tests.registry.fund_samples import persons_with_policies
from tests.servicelog.test_consumer_faults import (
    N,
    applied,
    everything_once,
    publish_polis,
    vhost,  # noqa: F401 — the fixture
    writing_policies_elsewhere,
)
from tests.servicelog.test_relay_faults import assert_wire, form, sent_count
from tfoms_portal import messaging

pytestmark = [pytest.mark.postgres, pytest.mark.amqp, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def netns() -> Iterator[Netns]:
    space = Netns("db", "mq")
    try:
        yield space
    finally:
        space.close()


@pytest.fixture
def links(netns, vhost) -> Iterator[dict[str, str]]:  # noqa: F811
    """The environment of a portal process inside the namespace: database and broker through
    proxies on the two links, and TCP timeouts of seconds instead of a minute."""
    db_proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432), listen_host=netns.host_ip("db"))
    mq_proxy = TcpProxy(5672, listen_host=netns.host_ip("mq"))
    broker = amqp_url(vhost, mq_proxy.port, netns.host_ip("mq"))
    try:
        yield portal_env(
            DATABASE_URL=database_url(netns.host_ip("db"), db_proxy.port),
            TFOMS_AMQP_URL=broker,
            CELERY_BROKER_URL=broker,
            DB_TCP_USER_TIMEOUT_SECONDS="4",
            DB_KEEPALIVES_IDLE_SECONDS="2",
            DB_CONNECT_TIMEOUT_SECONDS="3",
            DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS="5",
            TFOMS_CONSUMER_RETRY_SECONDS="1",
            TFOMS_SEND_RETRY_BASE_SECONDS="1",
            TFOMS_SEND_RETRY_MAX_SECONDS="1",
        )
    finally:
        db_proxy.close()
        mq_proxy.close()


def holding_the_log_table() -> psycopg2.extensions.connection:
    """A session that keeps the process inside its transaction: its last write (the log lines) waits."""
    blocker = psycopg2.connect(**connection.get_connection_params())
    with blocker.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {LogEntry._meta.db_table} IN SHARE MODE")
    return blocker


def key_locked() -> bool:
    """Another session holds a relay key's advisory lock (as a session outliving its process would)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0]) > 0


def test_the_consumer_gives_up_a_silently_dropped_database_in_seconds_and_recovers(vhost, netns, links):  # noqa: F811
    queue = messaging.queue_name(messaging.TO_MIS)
    persons_with_policies(N)
    receiving_run(get_inbound_type("POLIS").service)
    blocker = holding_the_log_table()  # the consumer stops inside its transaction, policies written
    publish_polis(amqp_url(vhost), N)
    running = consumer(links, netns=netns)
    try:
        until(lambda: sessions_waiting_for_a_lock() >= 1, what="the consumer inside its transaction")
        assert writing_policies_elsewhere()
        netns.down("db")  # from now on nothing the consumer sends reaches the database, nor the reverse
        dropped = time.monotonic()
        blocker.rollback()  # its statement completes on the server; the answer never reaches it
        running.wait_for("requeued", timeout=30)  # gave up on the database and returned the batch
        assert time.monotonic() - dropped < 20  # its TCP timeouts, not the 14 minutes the probe saw
        until(lambda: not writing_policies_elsewhere(), timeout=20, what="the orphaned session's locks freed")
        assert applied() == dict.fromkeys(applied(), 0)  # its transaction rolled back whole
        assert running.popen.poll() is None
        netns.up("db")
        until(lambda: applied()["inbox"] == N, timeout=90, what="everything applied once the link is back")
        until(lambda: outstanding(vhost, queue) == 0, what="every message acknowledged")
        assert running.popen.poll() is None  # recovered by itself, no restart
    finally:
        blocker.close()
        running.stop()
    assert applied() == everything_once()


def test_the_relay_gives_up_a_silently_dropped_database_in_seconds_and_sends_everything_after(
    vhost,  # noqa: F811
    netns,
    links,
    monkeypatch,
):
    monkeypatch.setattr(forming, "_kickers", [])  # the test says when the relay runs
    mo = MoFactory(code="590001")
    expected = form(mo, 30)
    from_mis = messaging.queue_name(messaging.FROM_MIS)
    celery = Celery(broker=amqp_url(vhost))
    blocker = holding_the_log_table()  # the relay stops while marking the confirmed batch
    worker = celery_worker(links, "relay", netns=netns)
    try:
        celery.send_task("servicelog.relay")
        until(lambda: sessions_waiting_for_a_lock() >= 1, what="the relay marking its batch")
        assert depth(amqp_url(vhost), from_mis) == 30  # the broker confirmed them
        netns.down("db")
        dropped = time.monotonic()
        blocker.rollback()
        worker.wait_for("OperationalError", timeout=30)  # the task gave up on the database
        assert time.monotonic() - dropped < 20
        until(lambda: not key_locked(), timeout=20, what="the orphaned session and its key lock gone")
        assert sent_count() == 0  # the marking rolled back whole
        netns.up("db")
        deadline = time.monotonic() + 60
        while sent_count() < 30 and time.monotonic() < deadline:  # the same worker, on the next passes
            celery.send_task("servicelog.relay")
            time.sleep(0.5)
        assert sent_count() == 30, worker.output()[-3000:]
        assert worker.popen.poll() is None
    finally:
        blocker.close()
        worker.stop()
        celery.close()
    assert_wire(drain(amqp_url(vhost), from_mis), expected, copies=30)  # again, with the same ids
