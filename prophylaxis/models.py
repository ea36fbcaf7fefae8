"""Dispensary observation (C5): the observation card of a person in an МО and its planned visits."""

from __future__ import annotations

import re

from django.conf import settings
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


# --- prophylaxis plans (C3, D2, D3) -----------------------------------------------------------


class PlanKind(models.TextChoices):
    """The seven kinds of manual §4.5.2.1.1, by their V016 code (formats §7.4)."""

    DV1 = "ДВ1", "Дисп-ция взр. населения 1-ый этап"
    DS1 = "ДС1", "Дисп-ция детей-сирот стационарных 1-ый этап"
    OPV = "ОПВ", "Проф. осмотры взр. населения"
    ON3 = "ОН3", "Периодические осмотры несовершеннолетних"
    DS2 = "ДС2", "Дисп-ция детей-сирот усыновленных 1-ый этап"
    ON2 = "ОН2", "Предварительные осмотры несовершеннолетних 1-ый этап"
    ON1 = "ОН1", "Профилактические осмотры несовершеннолетних 1-ый этап"


class ProphylaxisPlan(models.Model):
    """A plan of prophylaxis events of an МО for a year, a quarter or a month (manual §4.5.2)."""

    class PeriodType(models.TextChoices):
        YEAR = "year", "Год"
        QUARTER = "quarter", "Квартал"
        MONTH = "month", "Месяц"

    mo = models.ForeignKey("registry.Mo", verbose_name="МО", on_delete=models.PROTECT, related_name="plans")
    kind = models.CharField("вид мероприятия", max_length=3, choices=PlanKind.choices)
    year = models.PositiveSmallIntegerField("год")
    period_type = models.CharField(
        "период", max_length=8, choices=PeriodType.choices, default=PeriodType.YEAR
    )
    period_number = models.PositiveSmallIntegerField(
        "номер квартала или месяца", null=True, blank=True, help_text="пусто для годового плана"
    )
    created_at = models.DateTimeField("создан", auto_now_add=True)

    class Meta:
        verbose_name = "план профилактических мероприятий"
        verbose_name_plural = "планы профилактических мероприятий"
        ordering = ["mo", "-year", "kind", "period_type", "period_number", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}, {self.period_title}"

    @property
    def period_title(self) -> str:
        roman = {1: "I", 2: "II", 3: "III", 4: "IV"}
        if self.period_type == self.PeriodType.QUARTER and self.period_number:
            return f"{roman.get(self.period_number, self.period_number)} квартал {self.year}"
        if self.period_type == self.PeriodType.MONTH and self.period_number:
            return f"{MONTHS[self.period_number - 1]} {self.year}"
        return f"{self.year} год"

    @property
    def last_quarter(self) -> int:
        """PERIOD of DISPPLAN when a person has no quarter: the plan period's last quarter (formats §7.3)."""
        if self.period_type == self.PeriodType.QUARTER and self.period_number:
            return self.period_number
        if self.period_type == self.PeriodType.MONTH and self.period_number:
            return (self.period_number - 1) // 3 + 1
        return 4

    def clean(self) -> None:
        limit = {self.PeriodType.QUARTER: 4, self.PeriodType.MONTH: 12}.get(self.period_type)  # type: ignore[call-overload]
        if limit is None and self.period_number:
            raise ValidationError({"period_number": "У годового плана номер периода не указывается."})
        if limit is not None and not (self.period_number and 1 <= self.period_number <= limit):
            raise ValidationError({"period_number": f"Укажите номер периода от 1 до {limit}."})


MONTHS = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)


class PlanPerson(models.Model):
    """A person in a plan ("Человек в плане"): the quarter of the planned event, the СМО, the status."""

    class Status(models.TextChoices):
        NEW = "new", "Новая"
        SENT = "sent", "Отправлена в ТФОМС"
        ACCEPTED = "accepted", "Принята ТФОМС"
        ERROR = "error", "Ошибка"

    plan = models.ForeignKey(
        ProphylaxisPlan, verbose_name="план", on_delete=models.CASCADE, related_name="persons"
    )
    person = models.ForeignKey(
        "registry.Person", verbose_name="пациент", on_delete=models.PROTECT, related_name="plan_entries"
    )
    quarter = models.PositiveSmallIntegerField("квартал мероприятия", null=True, blank=True)
    month = models.PositiveSmallIntegerField("месяц мероприятия", null=True, blank=True)
    smo = models.ForeignKey(
        "registry.Smo", verbose_name="СМО", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField("статус", max_length=8, choices=Status.choices, default=Status.NEW)
    error_code = models.CharField("код ошибки", max_length=20, blank=True)
    error_text = models.TextField("текст ошибки", blank=True)
    updated_at = models.DateTimeField("изменена", auto_now=True)

    MO_SCOPE = ("plan__mo",)

    class Meta:
        verbose_name = "человек в плане"
        verbose_name_plural = "люди в плане"
        ordering = ["plan", "person__last_name", "person__first_name", "pk"]
        constraints = [models.UniqueConstraint(fields=["plan", "person"], name="planperson_unique")]
        indexes = [models.Index(fields=["plan", "status"], name="planperson_plan_status_idx")]

    def __str__(self) -> str:
        return f"{self.person} — {self.get_status_display()}"

    def clean(self) -> None:
        if self.quarter is not None and not 1 <= self.quarter <= 4:
            raise ValidationError({"quarter": "Квартал — от 1 до 4."})
        if self.month is not None and not 1 <= self.month <= 12:
            raise ValidationError({"month": "Месяц — от 1 до 12."})


class PlanExport(models.Model):
    """A PROF file of order 88 (D2), or the S_DPM archive of a DISPPLAN send (C3), as given out."""

    class Kind(models.TextChoices):
        PROF = "prof", "Экспорт по приказу № 88"
        DISPPLAN = "dispplan", "Архив отправки в ТФОМС"

    mo = models.ForeignKey("registry.Mo", verbose_name="МО", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("вид", max_length=8, choices=Kind.choices, default=Kind.PROF)
    file_name = models.CharField("имя файла", max_length=80)
    year = models.PositiveSmallIntegerField("год отчётного периода")
    month = models.PositiveSmallIntegerField("месяц отчётного периода")
    quarter = models.PositiveSmallIntegerField("квартал загрузки", null=True, blank=True)
    number = models.PositiveSmallIntegerField("порядковый номер пакета")
    smo = models.ForeignKey(
        "registry.Smo", verbose_name="СМО", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    plans = models.ManyToManyField(ProphylaxisPlan, verbose_name="планы", related_name="exports")
    records = models.PositiveIntegerField("записей", default=0)
    content = models.BinaryField("архив")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="пользователь",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("дата и время", auto_now_add=True)
    reply_loaded_at = models.DateTimeField("ответ ТФОМС загружен", null=True, blank=True)
    reply_file_name = models.CharField("файл ответа", max_length=120, blank=True)

    class Meta:
        verbose_name = "экспорт плана"
        verbose_name_plural = "экспорты планов"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["file_name"], name="planexport_unique_file"),
        ]

    def __str__(self) -> str:
        return self.file_name


class PlanExportRecord(models.Model):
    """A plan record as it went out in one export: an OSHIB_PR names records of the file it answers,
    and a record may go in several files (without СМО, then per СМО)."""

    export = models.ForeignKey(
        PlanExport, verbose_name="выгрузка", on_delete=models.CASCADE, related_name="records_out"
    )
    entry = models.ForeignKey(
        PlanPerson, verbose_name="запись плана", on_delete=models.CASCADE, related_name="exported_in"
    )

    MO_SCOPE = ("export__mo",)

    class Meta:
        verbose_name = "запись выгрузки"
        verbose_name_plural = "записи выгрузки"
        constraints = [models.UniqueConstraint(fields=["export", "entry"], name="planexportrecord_unique")]

    def __str__(self) -> str:
        return f"{self.export} — запись {self.entry_id}"
