"""Pharmacy organisations and the directories each is sent for ИС Фармация (SPEC F3, manual §4.1.3)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from registry import checkdigits


class Directory(models.TextChoices):
    """What may go to ИС Фармация: the region's own registers, then the federal classifiers."""

    MO = "mo", "Медицинские организации региона (F003)"
    SUBDIVISIONS = "subdivisions", "Подразделения МО с адресами"
    STAFF = "staff", "Медицинские работники (СНИЛС, должность)"
    SITES = "sites", "Участки"
    F002 = "F002", "Страховые медицинские организации (F002)"
    F008 = "F008", "Виды полисов ОМС (F008)"
    F011 = "F011", "Документы, удостоверяющие личность (F011)"
    V005 = "V005", "Пол пациента (V005)"


class Mode(models.TextChoices):
    FULL = "full", "Полностью"
    CHANGES = "changes", "Только изменения"


class PharmacyOrganisation(models.Model):
    """An аптечная организация (АО) whose pharmacy system is sent the chosen directories."""

    name = models.CharField("наименование", max_length=250)
    ogrn = models.CharField("ОГРН", max_length=13, validators=[checkdigits.validate_ogrn])
    code = models.CharField("код организации в ИС Фармация", max_length=20, unique=True)
    active = models.BooleanField("обмен включён", default=True)
    queue = models.CharField(
        "очередь обмена",
        max_length=200,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9_.:-]+$",
                "Имя очереди RabbitMQ: латинские буквы, цифры, точка, дефис, подчёркивание, двоеточие.",
            )
        ],
        help_text="Очередь RabbitMQ системы организации, обычно pharmacy.<код>.",
    )
    updated_at = models.DateTimeField("изменена", auto_now=True)

    class Meta:
        verbose_name = "аптечная организация"
        verbose_name_plural = "аптечные организации"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PharmacyDirectory(models.Model):
    """One directory of one organisation: sent or not, whole or by changes."""

    organisation = models.ForeignKey(
        PharmacyOrganisation, on_delete=models.CASCADE, related_name="directories"
    )
    directory = models.CharField("справочник", max_length=16, choices=Directory.choices)
    enabled = models.BooleanField("передавать", default=False)
    mode = models.CharField("режим", max_length=8, choices=Mode.choices, default=Mode.CHANGES)

    class Meta:
        verbose_name = "справочник для ИС Фармация"
        verbose_name_plural = "справочники для ИС Фармация"
        ordering = ["organisation", "directory"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "directory"], name="pharmacy_directory_unique")
        ]

    def __str__(self) -> str:
        return f"{self.organisation.code}: {self.get_directory_display()}"
