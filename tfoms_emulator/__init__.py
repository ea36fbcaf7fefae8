"""The fund's side (ТФОМС emulator), a separate program that imports no module of the portal.

In process (the portal's locmem backend names `tfoms_emulator.handle` by dotted path) or over RabbitMQ
with `python -m tfoms_emulator` (see server.py). It reads the portal's XSD files as data only.
The ISZL side of order 263 (iszl.py): hospitalisation packages on `iszl.request`, replies on
`iszl.reply`, the free beds known (`Emulator.free_beds`).
Batch identification (ident.py): answers the portal's request DBFs from a register of insured persons
(JSON), one file with `answer-ident` or a watched folder with `watch-ident` / `ident.watch_forever`.
The fund's packages about persons (changes.py): streams made from that register, `push-changes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .core import Emulator, Faults, Message, Outcome, Queues, ReceivedAnswer

__all__ = [
    "Emulator",
    "Faults",
    "Message",
    "Outcome",
    "Queues",
    "ReceivedAnswer",
    "default_emulator",
    "handle",
    "reset",
]

_default = Emulator()


def default_emulator() -> Emulator:
    """The module-level instance behind handle() (tests set its faults and inspect its state)."""
    return _default


def handle(
    package_type: str, properties: Mapping[str, Any], body: bytes, queue: str | None = None
) -> list[Message]:
    """The replies of the default instance to one message of the МО; see Emulator.process()."""
    return _default.handle(package_type, properties, body, queue)


def reset() -> None:
    """Return the default instance to a fresh state: nothing known, nothing seen, no faults."""
    _default.reset()
