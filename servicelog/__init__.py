"""Service log: services, runs, packages, the journal and the audit trail (SPEC C1, E, A5)."""

from typing import Any


def __getattr__(name: str) -> Any:
    """`servicelog.run(code, mo=None)` without importing models before the app registry is ready."""
    if name == "run":
        from .runs import run

        return run
    raise AttributeError(name)
