"""`manage.py runconsumer`: take the fund's answers and packages from RabbitMQ until SIGTERM."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand

from servicelog.inbox import consume_forever
from tfoms_portal.messaging import MessagingError, reset_backend


class Command(BaseCommand):
    help = "Приём ответов и пакетов ТФОМС (ручное подтверждение после записи в базу)."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            # The message being handled is finished and acked; then the loop ends.
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.stdout.write("consumer ready")
        self.stdout.flush()
        consume_with_backoff(
            consume=lambda: consume_forever(should_stop=stop.is_set),
            stopped=stop.is_set,
            wait=stop.wait,
            say=self.stderr.write,
        )
        self.stdout.write("consumer stopped")


GOOD_CONNECTION_SECONDS = 30.0


def consume_with_backoff(
    *,
    consume: Callable[[], None],
    stopped: Callable[[], bool],
    wait: Callable[[float], Any],
    say: Callable[[str], Any],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Consume until stopped; a lost broker is retried after 1, 2, 4 … 60 s. A connection that
    lasted GOOD_CONNECTION_SECONDS counts as good: the next loss starts again from 1 s (issue 19
    item 8), instead of waiting a minute for a broker that blinked once a day."""
    pause = 1.0
    while not stopped():
        started = clock()
        try:
            consume()
            pause = 1.0
        except MessagingError as exc:
            if clock() - started >= GOOD_CONNECTION_SECONDS:
                pause = 1.0
            say(f"брокер недоступен, повтор через {pause:.0f} с: {exc}")
            reset_backend()
            wait(pause)
            pause = min(pause * 2, 60)
