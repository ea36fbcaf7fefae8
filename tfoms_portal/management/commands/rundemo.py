"""`manage.py rundemo`: the embedded demo — runserver plus the in-process scheduler (DESIGN §4)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.commands.runserver import Command as RunserverCommand

from tfoms_portal.scheduler import DemoScheduler


class Command(RunserverCommand):
    help = "Портал на встроенном сервере с планировщиком задач в том же процессе (демо)."

    def inner_run(self, *args: Any, **options: Any) -> None:
        # The autoreloader runs this in its child process only, so one scheduler per server.
        if os.environ.get("RUN_MAIN") == "true" or not options.get("use_reloader"):
            DemoScheduler().start()
        super().inner_run(*args, **options)
