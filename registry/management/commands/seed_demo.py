"""`manage.py seed_demo [--persons N]`: load NSI, then the demo data set (SPEC F1, registry.demo)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from registry import demo


class Command(BaseCommand):
    help = "Загружает НСИ и демонстрационные данные: три МО, участки, людей, полисы, прикрепления, случаи."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--persons", type=int, default=2000, help="сколько людей создать (по умолчанию 2000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        persons: int = options["persons"]
        if persons < 1:
            raise CommandError("Число людей (--persons) должно быть положительным.")
        call_command("load_nsi", verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr)
        try:
            result = demo.seed_demo(persons)
        except demo.DemoAlreadySeededError as exc:
            self.stdout.write(self.style.WARNING(str(exc)))
            return
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write(self.style.SUCCESS("Демонстрационные данные загружены."))
        self.stdout.write("Создано:")
        for label, count in result.counts.items():
            self.stdout.write(f"  {label}: {count}")
        if result.register:
            self.stdout.write(f"Регистр застрахованных встроенного ТФОМС: {result.register}")
        self.stdout.write(f"Пользователи (пароль у всех: {result.password}):")
        for username, workplaces in result.users:
            self.stdout.write(f"  {username}")
            for line in workplaces:
                self.stdout.write(f"    {line}")
