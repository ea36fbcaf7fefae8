"""`manage.py runconsumer`: take the fund's answers and packages from RabbitMQ until SIGTERM."""

from __future__ import annotations

import signal
import threading
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
        pause = 1.0
        self.stdout.write("consumer ready")
        self.stdout.flush()
        while not stop.is_set():
            try:
                consume_forever(should_stop=stop.is_set)
                pause = 1.0
            except MessagingError as exc:
                self.stderr.write(f"брокер недоступен, повтор через {pause:.0f} с: {exc}")
                reset_backend()
                stop.wait(pause)
                pause = min(pause * 2, 60)
        self.stdout.write("consumer stopped")
