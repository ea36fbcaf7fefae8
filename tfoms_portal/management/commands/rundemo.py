"""`manage.py rundemo`: the embedded demo — runserver, the in-process scheduler (beat tasks: the relay,
the sweep …) and the consumer thread; with no TFOMS_AMQP_URL the fund is the in-process emulator."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.core.management.commands.runserver import Command as RunserverCommand

from servicelog.inbox import consume_forever
from tfoms_portal.scheduler import DemoScheduler

logger = logging.getLogger(__name__)


def _consume() -> None:
    """The consumer of the demo: keeps taking the fund's answers and packages."""
    while True:
        try:
            consume_forever(should_stop=lambda: False)
        except Exception:
            logger.exception("demo consumer failed; restarting in 5 s")
            time.sleep(5)


class Command(RunserverCommand):
    help = "Портал на встроенном сервере с планировщиком задач в том же процессе (демо)."

    def inner_run(self, *args: Any, **options: Any) -> None:
        # The autoreloader runs this in its child process only, so one scheduler per server.
        if os.environ.get("RUN_MAIN") == "true" or not options.get("use_reloader"):
            DemoScheduler().start()
            threading.Thread(target=_consume, name="demo-consumer", daemon=True).start()
        super().inner_run(*args, **options)
