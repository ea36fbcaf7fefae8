"""The storage limit of forming: the same package rows and log lines, already as text, COPYed into
tables with the same columns and indexes (`LIKE … INCLUDING ALL`) and committed — what PostgreSQL
itself needs to keep what forming keeps. Printed beside bare lxml: forming can be no faster than both."""

from __future__ import annotations

import io
import time

from django.db import connection

from servicelog.models import LogEntry, Package


def copy_limit(run_id: int) -> float:
    """Seconds to COPY the run's packages and their log lines into scratch twins of their tables."""
    tables = [(Package._meta.db_table, "run_id"), (LogEntry._meta.db_table, "run_id")]
    dumps = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for table, column in tables:
            buffer = io.StringIO()
            raw.copy_expert(
                f"COPY (SELECT * FROM {table} WHERE {column} = {int(run_id)} ORDER BY id) TO STDOUT", buffer
            )
            dumps.append((table, buffer))
            cursor.execute(f"DROP TABLE IF EXISTS bench_{table}")
            cursor.execute(f"CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
        connection.commit() if not connection.get_autocommit() else None
        started = time.perf_counter()
        with connection.cursor() as timed:
            for table, buffer in dumps:
                buffer.seek(0)
                timed.cursor.copy_expert(f"COPY bench_{table} FROM STDIN", buffer)
        elapsed = time.perf_counter() - started  # autocommit: each COPY committed on its own
        for table, _ in dumps:
            cursor.execute(f"DROP TABLE bench_{table}")
    return elapsed
