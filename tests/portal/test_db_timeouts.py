"""Issue 19 item 7: no process hangs on the database. The timeouts of the settings reach every
PostgreSQL session, and the server really ends a statement that outlives its limit and a session
left idle inside a transaction — the locks it held are free again for the relay and the consumer."""

from __future__ import annotations

import time

import psycopg2
import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _session(**options):
    params = connection.get_connection_params() | options
    return psycopg2.connect(**params)


def test_timeouts_reach_the_session():
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "10min"
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "5min"
        # the server's own keepalives: a relay host that vanishes holding a key's lock is noticed
        cursor.execute(
            "SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'),"
            " current_setting('tcp_keepalives_count')"
        )
        assert cursor.fetchone() == ("30", "10", "3")
    params = connection.get_connection_params()
    assert params["connect_timeout"] == 10 and params["keepalives"] == 1
    assert params["tcp_user_timeout"] == 60000


def test_a_statement_past_its_limit_is_cancelled():
    options = connection.get_connection_params()["options"].replace(
        "statement_timeout=600000", "statement_timeout=300"
    )
    session = _session(options=options)
    try:
        with session.cursor() as cursor, pytest.raises(psycopg2.errors.QueryCanceled):
            cursor.execute("SELECT pg_sleep(5)")
    finally:
        session.close()


def test_an_idle_transaction_is_ended_and_its_locks_freed():
    params = connection.get_connection_params()
    options = params["options"].replace(
        "idle_in_transaction_session_timeout=300000", "idle_in_transaction_session_timeout=500"
    )
    stuck = _session(options=options)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS timeout_probe (id int primary key)")
        cursor.execute("INSERT INTO timeout_probe VALUES (1) ON CONFLICT DO NOTHING")
    try:
        with stuck.cursor() as cursor:
            cursor.execute("SELECT * FROM timeout_probe FOR UPDATE")  # holds the row, then idles
        time.sleep(1.5)
        with connection.cursor() as cursor:  # would wait for ever if the stuck session kept its lock
            cursor.execute("SET lock_timeout = '2s'")
            cursor.execute("SELECT * FROM timeout_probe FOR UPDATE")
            assert cursor.fetchone() == (1,)
            cursor.execute("SET lock_timeout = 0")
        with pytest.raises(psycopg2.OperationalError), stuck.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        stuck.close()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS timeout_probe")
