"""`manage.py run_service CODE [--mo MCOD]`: run one service from the shell, recorded in the journal."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from registry.models import Mo
from servicelog.models import RunResult, RunTrigger
from servicelog.services import RunRefused, service_execute


class Command(BaseCommand):
    help = "Запустить сервис (как по расписанию, но из командной строки); запуск виден в журнале."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="код сервиса, например tfoms_auto")
        parser.add_argument("--mo", help="реестровый номер МО (по умолчанию — весь регион)")

    def handle(self, *args: Any, **options: Any) -> None:
        mo = None
        if options["mo"]:
            mo = Mo.objects.filter(code=options["mo"]).first()
            if mo is None:
                raise CommandError(f"МО с реестровым номером {options['mo']} не найдена.")
        try:
            run = service_execute(options["code"], mo=mo, trigger=RunTrigger.SHELL)
        except RunRefused as exc:
            raise CommandError(str(exc)) from exc
        for entry in run.log.order_by("at", "id"):
            self.stdout.write(f"{timezone.localtime(entry.at):%H:%M:%S} {entry.message}")
        if run.result != RunResult.SUCCESS:
            raise CommandError(f"Запуск {run.pk}: {run.get_result_display()}")
        self.stdout.write(self.style.SUCCESS(f"Запуск {run.pk}: {run.get_result_display()}"))
