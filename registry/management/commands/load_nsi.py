"""`manage.py load_nsi [--dir PATH] [DIRECTORY ...]`: load NSI classifier files (SPEC F2)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from registry.nsi_loader import DEFAULT_NSI_DIR, NsiLoadError, load_nsi_dir


class Command(BaseCommand):
    help = "Загружает справочники НСИ (F002, F003, F008 … V020) из XML-файлов фонда."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "directories",
            nargs="*",
            metavar="DIRECTORY",
            help="коды справочников (F010 V002 …); по умолчанию все файлы каталога",
        )
        parser.add_argument(
            "--dir",
            dest="nsi_dir",
            default=str(DEFAULT_NSI_DIR),
            help=f"каталог с файлами справочников (по умолчанию {DEFAULT_NSI_DIR})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            results = load_nsi_dir(Path(options["nsi_dir"]), options["directories"])
        except NsiLoadError as exc:
            raise CommandError(str(exc)) from exc
        for result in results.values():
            line = (
                f"{result.directory} ({result.file_name}): записей {result.rows}, "
                f"создано {result.created}, обновлено {result.updated}"
            )
            if result.skipped:
                line += f", пропущено пустых {result.skipped}"
            if result.directory == "F003":
                line += f"; МО региона: {result.organisations}"
            elif result.directory == "F002":
                line += f"; СМО региона: {result.organisations}"
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Загружено справочников: {len(results)}."))
