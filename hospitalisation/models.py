"""The MIS data the order-263 service reads (SPEC C2, F1): referrals, hospital stays, movements.

The hospital structure (buildings, departments, bed profiles, beds) stays in `registry`. Every row
carries its creation and change time: a run of the service looks at what changed since the last
successful run (and at anything the fund was never told).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import ExtractYear
from django.utils import timezone

from registry.models import BedProfile, Department, Mo, Person, Staff, Subdivision


class Payment(models.TextChoices):
    OMS = "oms", "ОМС"
    BUDGET = "budget", "Бюджет"
    PAID = "paid", "Платные услуги"
    VMI = "vmi", "ДМС"


class CancelReason(models.IntegerChoices):
    """REASON of the cancellation packages (formats §3.3: 0–5)."""

    OTHER = 0, "Прочие причины"
    PATIENT_REFUSED = 1, "Отказ пациента"
    NO_INDICATION = 2, "Отсутствие показаний"
    NO_BEDS = 3, "Отсутствие мест"
    PATIENT_DIED = 4, "Смерть пациента"
    NOT_ARRIVED = 5, "Неявка пациента"


class Referral(models.Model):
    """A referral for hospitalisation (направление на госпитализацию) written by an МО."""

    class Kind(models.TextChoices):
        PLANNED = "planned", "Плановая госпитализация"
        EMERGENCY = "emergency", "Экстренная госпитализация"
        OTHER = "other", "Прочие (консультация, обследование)"

    class CancelSource(models.IntegerChoices):
        """CANCEL_SOURSE [sic] of formats §3.3: who cancelled the referral."""

        PATIENT = 1, "Пациент"
        REFERRING_MO = 2, "Направившая МО"
        HOSPITAL = 3, "Стационар"

    mo = models.ForeignKey(
        Mo, verbose_name="направившая МО", on_delete=models.PROTECT, related_name="referrals"
    )
    number = models.PositiveIntegerField(
        "номер направления в году",
        validators=[MaxValueValidator(999_999)],  # 6 digits of REFERRAL_NUMBER
    )
    kind = models.CharField("вид направления", max_length=12, choices=Kind.choices)
    auto_created = models.BooleanField("автоматически созданное", default=False)
    payment = models.CharField("вид оплаты", max_length=8, choices=Payment.choices, default=Payment.OMS)
    from_subdivision = models.ForeignKey(
        Subdivision,
        verbose_name="направившее подразделение",
        on_delete=models.PROTECT,
        related_name="referrals_written",
    )
    doctor = models.ForeignKey(
        Staff,
        verbose_name="направивший врач",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    to_mo = models.ForeignKey(
        Mo, verbose_name="МО госпитализации", on_delete=models.PROTECT, related_name="referrals_received"
    )
    to_department = models.ForeignKey(
        Department,
        verbose_name="отделение госпитализации",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    to_bed_profile = models.ForeignKey(
        BedProfile,
        verbose_name="профиль койки",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    diagnosis = models.CharField("диагноз (МКБ-10)", max_length=10)
    diagnosis_text = models.CharField("диагноз (текст)", max_length=500, blank=True)
    referral_date = models.DateField("дата направления")
    planned_date = models.DateField("дата планируемой госпитализации", null=True, blank=True)
    desired_date = models.DateField("желаемая дата госпитализации", null=True, blank=True)
    person = models.ForeignKey(
        Person, verbose_name="пациент", on_delete=models.PROTECT, related_name="referrals"
    )
    phone = models.CharField("телефон пациента", max_length=64, blank=True)
    cancelled_at = models.DateField("дата отмены", null=True, blank=True)
    cancel_reason = models.PositiveSmallIntegerField(
        "причина отмены", choices=CancelReason.choices, null=True, blank=True
    )
    cancel_source = models.PositiveSmallIntegerField(
        "кто отменил", choices=CancelSource.choices, null=True, blank=True
    )
    cancel_description = models.CharField("комментарий к отмене", max_length=500, blank=True)
    fund_result = models.CharField("ответ ИСЗЛ", max_length=500, blank=True)
    created_at = models.DateTimeField("создано", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("изменено", auto_now=True)

    class Meta:
        verbose_name = "направление на госпитализацию"
        verbose_name_plural = "направления на госпитализацию"
        ordering = ["mo", "-referral_date", "number"]
        constraints = [
            models.UniqueConstraint(
                "mo", ExtractYear("referral_date"), "number", name="referral_unique_number"
            )
        ]
        indexes = [models.Index(fields=["mo", "updated_at"], name="referral_mo_updated")]

    def __str__(self) -> str:
        return f"№ {self.number} от {self.referral_date:%d.%m.%Y}"

    @property
    def full_number(self) -> str:
        """REFERRAL_NUMBER: MCOD + year + the number zero-padded to 6 (formats §3.5 NOM_NAP)."""
        return f"{self.mo.code}{self.referral_date.year}{self.number:06d}"


class Stay(models.Model):
    """A hospital stay (КВС): the admission, and the admission department's outcome."""

    class FormOfCare(models.IntegerChoices):
        PLANNED = 0, "Плановая"
        EMERGENCY = 1, "Экстренная / неотложная"

    class Outcome(models.TextChoices):
        HOSPITALISED = "hospitalised", "Госпитализирован"
        REFUSED = "refused", "Отказ в госпитализации"

    mo = models.ForeignKey(Mo, verbose_name="МО", on_delete=models.PROTECT, related_name="hospital_stays")
    person = models.ForeignKey(
        Person, verbose_name="пациент", on_delete=models.PROTECT, related_name="hospital_stays"
    )
    subdivision = models.ForeignKey(
        Subdivision, verbose_name="подразделение", on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department,
        verbose_name="отделение",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stays",
    )
    bed_profile = models.ForeignKey(
        BedProfile,
        verbose_name="профиль койки",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    admitted_at = models.DateTimeField("дата и время поступления")
    form_of_care = models.PositiveSmallIntegerField("форма помощи", choices=FormOfCare.choices)
    payment = models.CharField("вид оплаты", max_length=8, choices=Payment.choices, default=Payment.OMS)
    referral = models.ForeignKey(
        Referral,
        verbose_name="направление",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stays",
    )
    card_number = models.CharField("номер медицинской карты", max_length=32)
    diagnosis = models.CharField("диагноз (МКБ-10)", max_length=10)
    diagnosis_text = models.CharField("диагноз (текст)", max_length=500, blank=True)
    outcome = models.CharField(
        "исход в приёмном отделении", max_length=16, choices=Outcome.choices, default=Outcome.HOSPITALISED
    )
    refusal_reason = models.PositiveSmallIntegerField(
        "причина отказа", choices=CancelReason.choices, null=True, blank=True
    )
    refused_at = models.DateField("дата отказа", null=True, blank=True)
    created_at = models.DateTimeField("создано", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("изменено", auto_now=True)

    class Meta:
        verbose_name = "случай госпитализации (КВС)"
        verbose_name_plural = "случаи госпитализации (КВС)"
        ordering = ["mo", "-admitted_at"]
        indexes = [models.Index(fields=["mo", "updated_at"], name="stay_mo_updated")]

    def __str__(self) -> str:
        return f"КВС {self.card_number}"


class Movement(models.Model):
    """A movement within a stay: a department and bed profile, from a date to a date, with its outcome."""

    class Outcome(models.IntegerChoices):
        """OUTCOME of MOTION_IN_HOSPITAL (formats §3.3)."""

        IMPROVED = 1, "Выздоровление / улучшение"
        UNCHANGED = 2, "Без перемен"
        WORSENED = 3, "Ухудшение"

    stay = models.ForeignKey(Stay, verbose_name="КВС", on_delete=models.CASCADE, related_name="movements")
    department = models.ForeignKey(
        Department, verbose_name="отделение", on_delete=models.PROTECT, related_name="+"
    )
    bed_profile = models.ForeignKey(
        BedProfile,
        verbose_name="профиль койки",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    date_in = models.DateField("дата поступления в отделение")
    date_out = models.DateField("дата выбытия из отделения", null=True, blank=True)
    outcome = models.PositiveSmallIntegerField("исход", choices=Outcome.choices, null=True, blank=True)
    created_at = models.DateTimeField("создано", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("изменено", auto_now=True)

    MO_SCOPE = ("stay__mo",)

    class Meta:
        verbose_name = "движение в стационаре"
        verbose_name_plural = "движения в стационаре"
        ordering = ["stay", "date_in", "pk"]

    def __str__(self) -> str:
        return f"{self.department} с {self.date_in:%d.%m.%Y}"
