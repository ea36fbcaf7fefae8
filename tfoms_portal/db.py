"""Bulk writes on PostgreSQL, where Django's own spend more time in Python than the database does:
`bulk_insert` (COPY) and `bulk_update_fast` (UPDATE … FROM VALUES); Django's elsewhere.

Forming writes tens of thousands of packages per run; `bulk_create` spends more time compiling its
INSERTs in Python than PostgreSQL spends storing them (issue 10 item 6). COPY takes the rows as text,
so the only Python work left is one string per row. The primary keys are drawn from the table's
own sequence first, so the caller gets saved instances with their ids, as from `bulk_create`.
Django's bulk_update builds a CASE per row and field, slow past a few rows.

Why not django-postgres-copy: it loads CSV files through a temporary table and maps columns by
name; here the rows are model instances already in memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import operator
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import Model
from django.utils import timezone


def advisory_key(name: str) -> int:
    """A PostgreSQL advisory lock number for a name (64 bits of its SHA-256)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def advisory_xact_locks(names: Sequence[str]) -> None:
    """Wait for the advisory locks of these names until the transaction ends, taken in one order (no
    deadlock between two takers). SQLite serialises writers anyway: nothing to take there."""
    if connection.vendor != "postgresql" or not names:
        return
    keys = sorted({advisory_key(name) for name in names})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k", [keys])


def bulk_update_fast(objs: Sequence[Model], fields: Sequence[str], *, batch_size: int = 1000) -> None:
    """UPDATE … FROM (VALUES …) on PostgreSQL, one statement per batch; bulk_update elsewhere."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, list(fields), batch_size=batch_size)
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    columns: list[Any] = [meta.get_field(name) for name in fields]
    table = connection.ops.quote_name(meta.db_table)
    names = [connection.ops.quote_name(str(f.column)) for f in columns]
    types = [f.db_type(connection) for f in columns]
    assignments = ", ".join(f"{name} = v.{name}" for name in names)
    quoted_pk = connection.ops.quote_name(str(pk.column))
    for start in range(0, len(objs), batch_size):
        chunk = objs[start : start + batch_size]
        row = "(" + ", ".join(["%s"] + [f"%s::{t}" for t in types]) + ")"
        values = ", ".join([row] * len(chunk))
        params: list[Any] = []
        for obj in chunk:
            params.append(obj.pk)
            params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns)
        sql = (
            f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v({quoted_pk}, {', '.join(names)}) "
            f"WHERE {table}.{quoted_pk} = v.{quoted_pk}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


M = TypeVar("M", bound=models.Model)


def _escape(text: str) -> str:
    """COPY text format: backslash, newline, carriage return and tab escaped (NULL is \\N)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if type(value) is str:
        return _escape(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, int | uuid.UUID):
        return str(value)
    return _escape(str(value))


def _nullable(write: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda value: "\\N" if value is None else write(value)


def _column(field: models.Field) -> Callable[[Any], str]:  # type: ignore[type-arg]
    """How one field's Python value becomes COPY text: one small function per column, chosen once
    (forming writes 30 columns of 100,000 rows)."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return _nullable(lambda value: _escape(json.dumps(value, ensure_ascii=False, cls=encoder)))
    if isinstance(field, models.CharField | models.TextField):
        return _nullable(_escape)
    if isinstance(field, models.BooleanField):
        return _nullable(lambda value: "t" if value else "f")
    if isinstance(field, models.IntegerField | models.ForeignKey | models.UUIDField):
        return _nullable(str)
    if isinstance(field, models.DateField):  # DateTimeField too
        return _nullable(lambda value: value.isoformat())
    if isinstance(field, models.BinaryField | models.FileField):
        raise TypeError(f"bulk_insert: поле {field.name} ({type(field).__name__}) не поддерживается")
    return _text


def bulk_insert(model: type[M], objects: Sequence[M], *, batch_size: int = 5000) -> list[M]:
    """Insert new instances (their pk unset); returns them saved, with their pk. auto_now(_add)
    fields are filled as by `save()`. Every row of one call goes in, or none (the caller's
    transaction)."""
    if not objects:
        return []
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objects, batch_size=batch_size)
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if f is not pk]
    now = timezone.now()
    for field in fields:  # auto_now(_add): one timestamp for the whole call, as bulk_create's pre_save
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objects:
                setattr(obj, field.attname, now)
    getter = operator.attrgetter(*(f.attname for f in fields))
    values = getter if len(fields) > 1 else lambda obj: (getter(obj),)
    writers = [_column(f) for f in fields]
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in [pk, *fields])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objects)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        raw = cursor.cursor  # psycopg2's own cursor: Django's wrapper has no copy_expert
        for start in range(0, len(objects), batch_size):
            buffer = io.StringIO()
            rows = zip(objects[start : start + batch_size], ids[start : start + batch_size], strict=True)
            for obj, new_id in rows:
                setattr(obj, pk.attname, new_id)
                texts = [write(value) for write, value in zip(writers, values(obj), strict=True)]
                buffer.write(f"{new_id}\t{chr(9).join(texts)}\n")
            buffer.seek(0)
            sql = f"COPY {table} ({columns}) FROM STDIN"
            began = time.monotonic()
            raw.copy_expert(sql, buffer)
            if connection.queries_logged:  # counted like any other statement (query-count tests)
                connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - began:.3f}"})
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objects)
