"""Dispensary observation (C5): the observation card of a person in an МО and its planned visits."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models

# ICD-10 as the fund reads it: a letter, two digits, optionally a dot and one or two more (formats §5 DS).
ICD10 = re.compile(r"^[A-Z]\d\d(\.\d{1,2})?$")
# Malignant neoplasms of manual §4.2 ("пациенты, страдающие ЗНО"): C00–C97 and D00–D09.
CANCER = re.compile(r"^(C([0-8]\d|9[0-7])|D0\d)(\.|$)")


def validate_icd10(value: str) -> None:
    if value and not ICD10.match(value):
        raise ValidationError(f"Диагноз «{value}» не в форме МКБ-10 (например, I10 или E11.9).")


class DispensaryCard(models.Model):
    """A person under dispensary observation in an МО for one diagnosis (контрольная карта ДН)."""

    class Detect(models.IntegerChoices):
        FIRST = 1, "Выявлено впервые"
        KNOWN = 2, "Выявлено ранее"

    class DetectType(models.IntegerChoices):
        REQUEST = 1, "При обращении за медицинской помощью"
        CHECKUP = 2, "При профилактическом осмотре или диспансеризации"

    class ResultOut(models.IntegerChoices):
        RECOVERY = 1, "Выздоровление"
        MOVED = 2, "Выбытие из района обслуживания"
        DEATH = 3, "Смерть"
        OTHER = 4, "Прочие причины"

    person = models.ForeignKey(
        "registry.Person", verbose_name="пациент", on_delete=models.PROTECT, related_name="dispensary_cards"
    )
    mo = models.ForeignKey(
        "registry.Mo", verbose_name="МО", on_delete=models.PROTECT, related_name="dispensary_cards"
    )
    diagnosis = models.CharField("диагноз (МКБ-10)", max_length=10, blank=True, validators=[validate_icd10])
    date_in = models.DateField("дата взятия под наблюдение", null=True, blank=True)
    doctor = models.ForeignKey(
        "registry.Staff",
        verbose_name="врач",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dispensary_cards",
    )
    ds_detect = models.PositiveSmallIntegerField(
        "характер заболевания", choices=Detect.choices, null=True, blank=True
    )
    ds_detect_type = models.PositiveSmallIntegerField(
        "способ выявления", choices=DetectType.choices, null=True, blank=True
    )
    date_out = models.DateField("дата снятия с наблюдения", null=True, blank=True)
    result_out = models.PositiveSmallIntegerField(
        "причина снятия", choices=ResultOut.choices, null=True, blank=True
    )
    created_at = models.DateTimeField("создана", auto_now_add=True)
    updated_at = models.DateTimeField("изменена", auto_now=True)

    class Meta:
        verbose_name = "карта диспансерного наблюдения"
        verbose_name_plural = "карты диспансерного наблюдения"
        ordering = ["mo", "person", "date_in", "pk"]
        indexes = [models.Index(fields=["mo", "date_out"], name="dispcard_mo_out_idx")]

    def __str__(self) -> str:
        return f"{self.person} — {self.diagnosis or 'диагноз не указан'}"

    @property
    def is_open(self) -> bool:
        return self.date_out is None

    @property
    def is_cancer(self) -> bool:
        return bool(CANCER.match(self.diagnosis))

    def clean(self) -> None:
        if self.doctor is not None and self.mo_id and self.doctor.mo_id != self.mo_id:
            raise ValidationError({"doctor": "Врач работает в другой МО."})
        if self.date_out and self.date_in and self.date_out < self.date_in:
            raise ValidationError({"date_out": "Дата снятия раньше даты взятия под наблюдение."})
        if self.date_out and not self.result_out:
            raise ValidationError({"result_out": "Укажите причину снятия с наблюдения."})


class DispensaryVisit(models.Model):
    """A planned visit of a dispensary observation card (DATES/PLAN_DATE)."""

    card = models.ForeignKey(
        DispensaryCard, verbose_name="карта", on_delete=models.CASCADE, related_name="visits"
    )
    planned_date = models.DateField("плановая дата явки")

    MO_SCOPE = ("card__mo",)

    class Meta:
        verbose_name = "плановая явка"
        verbose_name_plural = "плановые явки"
        ordering = ["card", "planned_date"]
        constraints = [models.UniqueConstraint(fields=["card", "planned_date"], name="dispvisit_unique_date")]

    def __str__(self) -> str:
        return f"{self.planned_date:%d.%m.%Y}"
