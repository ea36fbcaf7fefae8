"""Batch identification packages and their records (SPEC B1–B7, formats §1)."""

from __future__ import annotations

from django.db import models


class IdentificationPackage(models.Model):
    """One request file `<MCOD>_<DDMMYYYY>_<N>.DBF` of an МО and, once loaded, its response."""

    name = models.CharField("наименование пакета", max_length=40, unique=True)
    mo = models.ForeignKey("registry.Mo", verbose_name="МО", on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(
        "servicelog.ServiceRun", verbose_name="запуск", on_delete=models.SET_NULL, null=True, blank=True
    )
    formed_at = models.DateTimeField("дата формирования", db_index=True)
    request_file = models.BinaryField("файл запроса", null=True, blank=True, editable=False)
    response_file_name = models.CharField("файл ответа", max_length=100, blank=True)
    response_loaded_at = models.DateTimeField("ответ загружен", null=True, blank=True)
    unmatched_rows = models.JSONField("строки ответа без записи запроса", default=list, blank=True)

    class Meta:
        verbose_name = "пакет идентификации"
        verbose_name_plural = "пакеты идентификации"
        ordering = ["-formed_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def file_name(self) -> str:
        return f"{self.name}.DBF"


class RecordStatus(models.TextChoices):
    WAITING = "waiting", "Ожидает ответа"
    IDENTIFIED = "identified", "Идентифицирован"
    NOT_IDENTIFIED = "not_identified", "Не идентифицирован"
    INCOMPLETE = "incomplete", "Ошибка. Не все необходимые данные заполнены"


class IdentificationRecord(models.Model):
    """A person's identification request in a package; the rows of a person are their history (B7)."""

    package = models.ForeignKey(
        IdentificationPackage,
        verbose_name="пакет",
        on_delete=models.CASCADE,
        related_name="records",
        null=True,
        blank=True,
        help_text="пусто: онлайн-идентификация (B8)",
    )
    # The МО that asked online (a record of a package belongs to the package's МО)
    mo = models.ForeignKey(
        "registry.Mo", verbose_name="МО", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    row_number = models.PositiveIntegerField("номер записи в файле", null=True, blank=True)
    person = models.ForeignKey(
        "registry.Person", verbose_name="пациент", on_delete=models.CASCADE, related_name="identifications"
    )
    source = models.CharField("источник", max_length=16)
    period_from = models.DateField("период с")
    period_to = models.DateField("период по")
    treatment_case = models.ForeignKey(
        "registry.TreatmentCase",
        verbose_name="случай лечения",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    status = models.CharField("статус", max_length=16, choices=RecordStatus.choices, db_index=True)
    status_date = models.DateField("дата статуса")
    error_codes = models.JSONField("коды ошибок", default=list, blank=True)
    error_text = models.TextField("ошибки", blank=True)
    request = models.JSONField("запрос (как отправлен)", default=dict)
    response_row = models.JSONField("результат запроса", null=True, blank=True)

    class Meta:
        verbose_name = "запись пакета идентификации"
        verbose_name_plural = "записи пакетов идентификации"
        ordering = ["package", "row_number", "id"]

    MO_SCOPE = ("package__mo", "mo")

    def __str__(self) -> str:
        return f"{self.package.name if self.package else 'онлайн'}: {self.person}"
