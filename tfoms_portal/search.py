"""Searches as people type them: any case, and е for ё (issue 15 item 5), on SQLite and PostgreSQL.

`Fold(field)` is the column upper-cased with Ё as Е; the typed text goes through `fold()` the same
way, so "семенов" finds "Семёнов" and "СЕМЁНОВ". PostgreSQL does it in SQL (UPPER folds Cyrillic
there); SQLite's UPPER folds ASCII only, so its connections get `tfoms_fold`, the same rule in
Python (registered on every new connection, see TfomsPortalConfig.ready).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Func, Q, TextField, Value
from django.db.models.lookups import Contains, StartsWith


def fold(text: str | None) -> str:
    return (text or "").upper().replace("Ё", "Е")


class Fold(Func):
    template = "REPLACE(UPPER(%(expressions)s), 'Ё', 'Е')"
    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="tfoms_fold(%(expressions)s)", **extra)


def starts_like(field: str, typed: str) -> Q:
    """`field` starts with what was typed, in any case, ё = е."""
    return Q(StartsWith(Fold(field), Value(fold(typed))))


def contains_like(field: str, typed: str) -> Q:
    """`field` holds what was typed, in any case, ё = е."""
    return Q(Contains(Fold(field), Value(fold(typed))))


def register_sqlite_fold(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created: teach each SQLite connection the fold."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("tfoms_fold", 1, _fold_or_null, deterministic=True)


def _fold_or_null(text: str | None) -> str | None:
    return None if text is None else fold(str(text))
