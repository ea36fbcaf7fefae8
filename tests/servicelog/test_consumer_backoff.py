"""Issue 19 item 8: the consumer's reconnect back-off starts again after a good connection."""

from __future__ import annotations

from servicelog.management.commands.runconsumer import consume_with_backoff
from tfoms_portal.messaging import MessagingError


def test_backoff_grows_while_down_and_resets_after_a_good_connection():
    now = [0.0]
    lasted = iter([0.0, 0.0, 0.0, 3600.0, 0.0])  # three quick failures, an hour up, a failure
    waits: list[float] = []

    def consume() -> None:
        now[0] += next(lasted)
        raise MessagingError("нет связи")

    consume_with_backoff(
        consume=consume,
        stopped=lambda: len(waits) >= 5,
        wait=waits.append,
        say=lambda text: None,
        clock=lambda: now[0],
    )
    assert waits == [1.0, 2.0, 4.0, 1.0, 2.0]
