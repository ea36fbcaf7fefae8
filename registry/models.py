"""The shared domain: МО, СМО, persons, documents, policies, staff, sites, attachments, cases, NSI."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from knox.models import AbstractAuthToken

from . import checkdigits

# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------


class NsiEntry(models.Model):
    """One row of a federal or regional classifier (F002, F008, V006 …) with its validity dates."""

    directory = models.CharField("справочник", max_length=8, db_index=True)
    code = models.CharField("код", max_length=32)
    name = models.TextField("наименование")
    date_begin = models.DateField("действует с", null=True, blank=True)
    date_end = models.DateField("действует по", null=True, blank=True)
    attrs = models.JSONField("все поля", default=dict, blank=True)

    class Meta:
        verbose_name = "запись справочника НСИ"
        verbose_name_plural = "справочники НСИ"
        ordering = ["directory", "code"]
        constraints = [
            models.UniqueConstraint(fields=["directory", "code", "date_begin"], name="nsi_entry_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.directory} {self.code} {self.name}"

    def is_valid_on(self, day: dt.date) -> bool:
        return (self.date_begin is None or self.date_begin <= day) and (
            self.date_end is None or day <= self.date_end
        )


class Mo(models.Model):
    """A medical organisation of the region (F003)."""

    code = models.CharField("реестровый номер (F003)", max_length=6, unique=True)
    ogrn = models.CharField("ОГРН", max_length=13, validators=[checkdigits.validate_ogrn])
    oid = models.CharField("OID (ФРМО)", max_length=64, blank=True)
    name_full = models.CharField("полное наименование", max_length=500)
    name_short = models.CharField("краткое наименование", max_length=250)
    is_active = models.BooleanField("действует", default=True)

    class Meta:
        verbose_name = "МО"
        verbose_name_plural = "МО"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_short}"


class Subdivision(models.Model):
    """A building (подразделение) of an МО: polyclinic, hospital or EMS."""

    class Kind(models.TextChoices):
        POLYCLINIC = "polyclinic", "Поликлиника"
        HOSPITAL = "hospital", "Стационар"
        EMS = "ems", "Скорая медицинская помощь"

    class AgeGroup(models.IntegerChoices):
        CHILDREN = 1, "Детское"
        ADULT = 3, "Взрослое"
        MIXED = 4, "Смешанное"

    mo = models.ForeignKey(Mo, verbose_name="МО", on_delete=models.PROTECT, related_name="subdivisions")
    code = models.CharField("код", max_length=3, validators=[checkdigits.validate_three_digits])
    name = models.CharField("наименование", max_length=250)
    kind = models.CharField("тип", max_length=16, choices=Kind.choices)
    age_group = models.PositiveSmallIntegerField(
        "обслуживаемое население", choices=AgeGroup.choices, default=AgeGroup.MIXED
    )
    address = models.CharField("адрес", max_length=500, blank=True)
    phone = models.CharField("телефон", max_length=64, blank=True)
    date_open = models.DateField("дата открытия", null=True, blank=True)
    date_close = models.DateField("дата закрытия", null=True, blank=True)
    created_at = models.DateTimeField("создано", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("изменено", auto_now=True)

    class Meta:
        verbose_name = "подразделение"
        verbose_name_plural = "подразделения"
        ordering = ["mo", "code"]
        constraints = [models.UniqueConstraint(fields=["mo", "code"], name="subdivision_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Department(models.Model):
    """A department (отделение) of a building, typed by its group."""

    class GroupType(models.TextChoices):
        ROUND_THE_CLOCK = "round_the_clock", "Круглосуточный стационар"
        DAY_HOSPITAL = "day_hospital", "Дневной стационар при стационаре"
        DAY_HOME = "day_home", "Стационар на дому"
        DAY_POLYCLINIC = "day_polyclinic", "Дневной стационар при поликлинике"
        ADMISSION = "admission", "Приёмное отделение"
        POLYCLINIC = "polyclinic", "Поликлиническое отделение"

    subdivision = models.ForeignKey(
        Subdivision, verbose_name="подразделение", on_delete=models.PROTECT, related_name="departments"
    )
    code = models.CharField("код", max_length=3, validators=[checkdigits.validate_three_digits])
    name = models.CharField("наименование", max_length=250)
    group_type = models.CharField("тип группы отделений", max_length=24, choices=GroupType.choices)
    profile_code = models.CharField("профиль отделения (V002)", max_length=3, blank=True)
    phone = models.CharField("телефон", max_length=64, blank=True)
    is_oms = models.BooleanField("финансируется из ОМС", default=True)
    date_open = models.DateField("дата открытия", null=True, blank=True)
    date_close = models.DateField("дата закрытия", null=True, blank=True)
    created_at = models.DateTimeField("создано", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("изменено", auto_now=True)

    MO_SCOPE = ("subdivision__mo",)

    class Meta:
        verbose_name = "отделение"
        verbose_name_plural = "отделения"
        ordering = ["subdivision", "code"]
        constraints = [models.UniqueConstraint(fields=["subdivision", "code"], name="department_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class BedProfile(models.Model):
    """A bed profile (V020) of a department, with its validity."""

    department = models.ForeignKey(
        Department, verbose_name="отделение", on_delete=models.PROTECT, related_name="bed_profiles"
    )
    profile_code = models.CharField("профиль койки (V020)", max_length=3)
    name = models.CharField("наименование", max_length=250)
    date_begin = models.DateField("действует с")
    date_end = models.DateField("действует по", null=True, blank=True)
    repair_beds = models.PositiveIntegerField("коек на ремонте", default=0)
    created_at = models.DateTimeField("создано", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("изменено", auto_now=True)

    MO_SCOPE = ("department__subdivision__mo",)

    class Meta:
        verbose_name = "профиль коек"
        verbose_name_plural = "профили коек"
        ordering = ["department", "profile_code"]

    def __str__(self) -> str:
        return f"{self.profile_code} {self.name}"


class Bed(models.Model):
    """A bed of a bed profile."""

    class Kind(models.TextChoices):
        ADULT = "adult", "Взрослая"
        CHILD = "child", "Детская"

    bed_profile = models.ForeignKey(
        BedProfile, verbose_name="профиль коек", on_delete=models.PROTECT, related_name="beds"
    )
    number = models.CharField("номер", max_length=16)
    kind = models.CharField("вид", max_length=8, choices=Kind.choices, default=Kind.ADULT)
    date_begin = models.DateField("действует с")
    date_end = models.DateField("действует по", null=True, blank=True)
    updated_at = models.DateTimeField("изменено", auto_now=True)

    MO_SCOPE = ("bed_profile__department__subdivision__mo",)

    class Meta:
        verbose_name = "койка"
        verbose_name_plural = "койки"
        ordering = ["bed_profile", "number"]

    def __str__(self) -> str:
        return self.number


class Smo(models.Model):
    """An insurance company (F002)."""

    code = models.CharField("код СМО (F002)", max_length=5, unique=True)
    ogrn = models.CharField("ОГРН", max_length=13, validators=[checkdigits.validate_ogrn])
    name_full = models.CharField("полное наименование", max_length=500)
    name_short = models.CharField("краткое наименование", max_length=250)
    is_active = models.BooleanField("действует", default=True)

    class Meta:
        verbose_name = "СМО"
        verbose_name_plural = "СМО"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_short}"


# ---------------------------------------------------------------------------------------------
# Persons
# ---------------------------------------------------------------------------------------------


class Sex(models.IntegerChoices):
    """V005."""

    MALE = 1, "Мужской"
    FEMALE = 2, "Женский"


# SOC_STATUS codes as the fund's rule uses them (formats §6: 1, 3, 5, 6 by age) and 2 for a working
# person (IDLEPERSONS with PR_FNI = 0).
SOC_STATUSES = {"1": "дошкольник", "2": "работающий", "3": "учащийся", "5": "неработающий", "6": "пенсионер"}


class Person(models.Model):
    """A patient. Belongs to the МО of their attachments and of their treatment cases."""

    class IdentificationReason(models.TextChoices):
        NEW_PERSON = "new_person", "Новый человек"
        MANUAL = "manual", "Кнопка «Идентифицировать»"
        TREATMENT_CASE = "treatment_case", "Случай лечения без действующего полиса"
        FUND = "fund", "Запрос ТФОМС"
        ONLINE = "online", "Онлайн"  # the source of an online identification's history row (B8)
        ONLINE_TIMEOUT = "online_timeout", "Нет ответа на онлайн-идентификацию"

    last_name = models.CharField("фамилия", max_length=60)
    first_name = models.CharField("имя", max_length=60)
    middle_name = models.CharField("отчество", max_length=60, blank=True)
    birth_date = models.DateField("дата рождения")
    sex = models.PositiveSmallIntegerField("пол", choices=Sex.choices)
    snils = models.CharField(
        "СНИЛС", max_length=11, blank=True, db_index=True, validators=[checkdigits.validate_snils]
    )
    birth_place = models.CharField("место рождения", max_length=250, blank=True)
    soc_status = models.CharField("социальный статус (SOC_STATUS)", max_length=8, blank=True)
    fund_person_id = models.BigIntegerField("ИД в РС ЕРЗ (BDZID)", null=True, blank=True, db_index=True)
    fund_changed_at = models.DateTimeField(
        "данные изменены в РС ЕРЗ",
        null=True,
        blank=True,
        help_text="ТФОМС сообщил об изменении данных (PERSCHANGE); снимается ответом идентификации",
    )
    identified_in_tfoms = models.BooleanField("идентифицирован в ТФОМС", default=False)
    identified_at = models.DateField("дата идентификации", null=True, blank=True)
    identification_requested_at = models.DateTimeField(
        "запрошена идентификация", null=True, blank=True, db_index=True
    )
    identification_request_reason = models.CharField(
        "причина запроса идентификации", max_length=16, choices=IdentificationReason.choices, blank=True
    )
    identification_request_mo = models.ForeignKey(
        Mo,
        verbose_name="МО, запросившая идентификацию",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # When the person came into the МИС (the attachment file's «Р» reads it); a default rather than
    # auto_now_add, so a load of persons from another system (and the demo) can keep their dates.
    created_at = models.DateTimeField("создан", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("изменён", auto_now=True)

    # A person belongs to the МО of their attachments, treatment cases and dispensary observation cards.
    MO_SCOPE = (
        "attachments__mo",
        "treatment_cases__mo",
        "dispensary_cards__mo",
        "hospital_stays__mo",
        "referrals__mo",
    )

    class Meta:
        verbose_name = "человек"
        verbose_name_plural = "люди"
        ordering = ["last_name", "first_name", "middle_name", "birth_date"]
        indexes = [models.Index(fields=["last_name", "first_name", "middle_name"], name="person_fio_idx")]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def audit_title(self) -> str:
        born = f", {self.birth_date:%d.%m.%Y} г. р." if self.birth_date else ""
        return f"{self.full_name}{born}"

    @property
    def short_name(self) -> str:
        """ "Иванов И. И." """
        initials = " ".join(f"{p[0]}." for p in (self.first_name, self.middle_name) if p)
        return f"{self.last_name} {initials}".strip()

    def by_sex(self, male: str, female: str) -> str:
        """The word's form for the person's sex: `person.by_sex("поставлен", "поставлена")`."""
        return female if self.sex == Sex.FEMALE else male

    @property
    def soc_status_title(self) -> str:
        """SOC_STATUS for people: the code and its name when we know it (README "Decisions")."""
        name = SOC_STATUSES.get(self.soc_status, "")
        return f"{self.soc_status} — {name}" if name else self.soc_status

    @property
    def current_enp(self) -> str:
        """The ЕНП of the latest policy that has one (uses prefetched policies when there are)."""
        policies = sorted(self.policies.all(), key=lambda p: p.valid_from, reverse=True)
        return next((p.enp for p in policies if p.enp), "")

    def policy_on(self, day: dt.date) -> Policy | None:
        """The policy valid on the day (uses prefetched policies when there are)."""
        return policy_on(list(self.policies.all()), day)

    def latest_document(self) -> IdentityDocument | None:
        """The most recently issued identity document (uses prefetched documents when there are)."""
        return latest_document(list(self.documents.all()))


def policy_on(policies: list[Policy], day: dt.date) -> Policy | None:
    """Of one person's policies, the one valid on the day (the latest one when several), else the
    latest one at all. A function of the list, so a bulk reader can group rows itself."""
    ordered = sorted(policies, key=lambda p: p.valid_from, reverse=True)
    valid = [p for p in ordered if p.is_valid_on(day)]
    chosen = valid or ordered
    return chosen[0] if chosen else None


def latest_document(documents: list[IdentityDocument]) -> IdentityDocument | None:
    """Of one person's documents, the most recently issued one."""
    ordered = sorted(documents, key=lambda d: d.issued_at or dt.date.min, reverse=True)
    return ordered[0] if ordered else None


class IdentityDocument(models.Model):
    """An identity document (F011 type)."""

    person = models.ForeignKey(
        Person, verbose_name="человек", on_delete=models.CASCADE, related_name="documents"
    )
    doc_type = models.PositiveSmallIntegerField("тип документа (F011)")
    series = models.CharField("серия", max_length=10, blank=True)
    number = models.CharField("номер", max_length=30)
    issued_at = models.DateField("дата выдачи", null=True, blank=True)
    issuer = models.CharField("кем выдан", max_length=250, blank=True)

    MO_SCOPE = ("person__attachments__mo", "person__treatment_cases__mo")

    class Meta:
        verbose_name = "документ, удостоверяющий личность"
        verbose_name_plural = "документы, удостоверяющие личность"
        ordering = ["person", "-issued_at"]

    def __str__(self) -> str:
        return f"{self.doc_type}: {self.series} № {self.number}".strip()


class Policy(models.Model):
    """An ОМС policy (F008 type, form letter of the attachment file)."""

    class Form(models.TextChoices):
        PAPER = "П", "П — бумажный единого образца"
        ELECTRONIC = "Э", "Э — электронный единого образца"
        TEMPORARY = "В", "В — временное свидетельство"
        OLD = "С", "С — старого образца"
        UEC = "К", "К — в составе УЭК"

    class Source(models.TextChoices):
        MANUAL = "manual", "Введён в МО"
        IDENTIFICATION = "identification", "Пакетная идентификация"
        ONLINE = "online", "Онлайн-идентификация"
        FUND = "fund", "Сервис ТФОМС"

    person = models.ForeignKey(
        Person, verbose_name="человек", on_delete=models.CASCADE, related_name="policies"
    )
    policy_type = models.PositiveSmallIntegerField("тип полиса (F008)")
    form = models.CharField("форма ДПФС", max_length=1, choices=Form.choices)
    series = models.CharField("серия", max_length=10, blank=True)
    number = models.CharField("номер", max_length=20, blank=True)
    enp = models.CharField(
        "ЕНП", max_length=16, blank=True, db_index=True, validators=[checkdigits.validate_enp]
    )
    smo = models.ForeignKey(Smo, verbose_name="СМО", on_delete=models.PROTECT, null=True, blank=True)
    valid_from = models.DateField("действует с")
    valid_to = models.DateField("действует по", null=True, blank=True)
    source = models.CharField("источник", max_length=16, choices=Source.choices, default=Source.MANUAL)
    close_cause = models.PositiveSmallIntegerField(
        "причина закрытия (POLISCLOSECAUSE)", null=True, blank=True
    )

    MO_SCOPE = ("person__attachments__mo", "person__treatment_cases__mo")

    class Meta:
        verbose_name = "полис ОМС"
        verbose_name_plural = "полисы ОМС"
        ordering = ["person", "-valid_from"]

    def __str__(self) -> str:
        return self.enp or f"{self.series} № {self.number}".strip()

    def is_valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class FundMerge(models.Model):
    """The fund merged register record `merged_id` (BDZDID) into `kept_id` (BDZID), by DOUBLES (C7).
    `person` held the kept id here, `duplicate` the merged one; when both exist they are listed for the
    ЦОД admin as possible duplicates — medical records are never merged automatically."""

    class Outcome(models.TextChoices):
        REPLACED = "replaced", "ИД в РС ЕРЗ заменён"
        POSSIBLE_DUPLICATE = "duplicate", "Возможный дубль"
        NOTHING = "nothing", "Записей с этими ИД нет"

    kept_id = models.BigIntegerField("ИД в РС ЕРЗ (BDZID)", db_index=True)
    merged_id = models.BigIntegerField("объединённый ИД (BDZDID)", db_index=True)
    person = models.ForeignKey(
        Person,
        verbose_name="человек с BDZID",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    duplicate = models.ForeignKey(
        Person,
        verbose_name="человек с BDZDID",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField("итог", max_length=16, choices=Outcome.choices)
    package_uuid = models.UUIDField("пакет DOUBLES", null=True, blank=True)
    received_at = models.DateTimeField("получено", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "объединённая запись ТФОМС"
        verbose_name_plural = "объединённые записи ТФОМС"
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.kept_id}"


# ---------------------------------------------------------------------------------------------
# Staff, sites, attachments, cases
# ---------------------------------------------------------------------------------------------


class Staff(models.Model):
    """A medical worker of an МО (district doctor or mid-level worker)."""

    class PostType(models.IntegerChoices):
        DOCTOR = 1, "Врач"
        MID_LEVEL = 2, "Средний медицинский персонал"

    mo = models.ForeignKey(Mo, verbose_name="МО", on_delete=models.PROTECT, related_name="staff")
    last_name = models.CharField("фамилия", max_length=60)
    first_name = models.CharField("имя", max_length=60)
    middle_name = models.CharField("отчество", max_length=60, blank=True)
    snils = models.CharField("СНИЛС", max_length=11, blank=True, validators=[checkdigits.validate_snils])
    post_type = models.PositiveSmallIntegerField("тип должности", choices=PostType.choices)

    class Meta:
        verbose_name = "медицинский работник"
        verbose_name_plural = "медицинские работники"
        ordering = ["mo", "last_name", "first_name"]

    def __str__(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


class Site(models.Model):
    """A district (участок), including ФАП districts."""

    class SiteType(models.IntegerChoices):
        THERAPEUTIC = 1, "Терапевтический"
        PAEDIATRIC = 2, "Педиатрический"
        GENERAL_PRACTICE = 3, "Врача общей практики"
        FAP = 4, "ФАП"
        GYNAECOLOGICAL = 5, "Гинекологический"
        DENTAL = 6, "Стоматологический"

    mo = models.ForeignKey(Mo, verbose_name="МО", on_delete=models.PROTECT, related_name="sites")
    department = models.ForeignKey(
        Department, verbose_name="отделение", on_delete=models.PROTECT, null=True, blank=True
    )
    number = models.CharField("номер участка", max_length=6)
    site_type = models.PositiveSmallIntegerField("тип участка", choices=SiteType.choices)
    doctor = models.ForeignKey(
        Staff, verbose_name="врач участка", on_delete=models.PROTECT, null=True, blank=True
    )
    date_begin = models.DateField("действует с")
    date_end = models.DateField("действует по", null=True, blank=True)

    class Meta:
        verbose_name = "участок"
        verbose_name_plural = "участки"
        ordering = ["mo", "number"]
        constraints = [models.UniqueConstraint(fields=["mo", "number"], name="site_unique_number")]

    def __str__(self) -> str:
        return f"№ {self.number} ({self.get_site_type_display()})"

    @property
    def is_fap(self) -> bool:
        return self.site_type == self.SiteType.FAP


class Attachment(models.Model):
    """A person's attachment to an МО and a district (and optionally a ФАП district)."""

    class Method(models.IntegerChoices):
        NO_DATA = 0, "Нет данных"
        BY_ADDRESS = 1, "По месту регистрации"
        BY_APPLICATION = 2, "По заявлению"

    class AttachType(models.IntegerChoices):
        MAIN = 1, "Основное"
        GYNAECOLOGICAL = 2, "Гинекологическое"
        DENTAL = 3, "Стоматологическое"
        SERVICE = 4, "Служебное"

    class CloseCause(models.IntegerChoices):
        OTHER_MO = 1, "Прикрепление к другой МО"
        DEATH = 2, "Смерть"
        MOVED = 3, "Смена места жительства"
        OTHER_SITE = 4, "Прикрепление к другому участку МО"
        OTHER = 9, "Прочее"

    person = models.ForeignKey(
        Person, verbose_name="человек", on_delete=models.CASCADE, related_name="attachments"
    )
    mo = models.ForeignKey(Mo, verbose_name="МО", on_delete=models.PROTECT, related_name="attachments")
    site = models.ForeignKey(
        Site, verbose_name="участок", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    fap_site = models.ForeignKey(
        Site,
        verbose_name="участок ФАП",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"site_type": Site.SiteType.FAP},
    )
    method = models.PositiveSmallIntegerField("способ прикрепления", choices=Method.choices)
    attach_type = models.PositiveSmallIntegerField(
        "тип прикрепления", choices=AttachType.choices, default=AttachType.MAIN
    )
    is_conditional = models.BooleanField("условное прикрепление", default=False)
    date_from = models.DateField("дата прикрепления")
    date_to = models.DateField("дата открепления", null=True, blank=True)
    close_cause = models.PositiveSmallIntegerField(
        "причина открепления", choices=CloseCause.choices, null=True, blank=True
    )

    class Meta:
        verbose_name = "прикрепление"
        verbose_name_plural = "прикрепления"
        ordering = ["person", "-date_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_to__isnull=True) | Q(date_to__gte=models.F("date_from")),
                name="attachment_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.mo.code}: {self.date_from:%d.%m.%Y}"

    def is_active_on(self, day: dt.date) -> bool:
        return self.date_from <= day and (self.date_to is None or day <= self.date_to)


class TreatmentCase(models.Model):
    """A treatment case: an outpatient card (ТАП) or an inpatient record (КВС)."""

    class Kind(models.TextChoices):
        OUTPATIENT = "tap", "ТАП"
        INPATIENT = "kvs", "КВС"

    class Payment(models.TextChoices):
        OMS = "oms", "ОМС"
        OTHER = "other", "Иной"

    number = models.CharField("номер", max_length=32)
    kind = models.CharField("вид", max_length=3, choices=Kind.choices)
    person = models.ForeignKey(
        Person, verbose_name="человек", on_delete=models.PROTECT, related_name="treatment_cases"
    )
    mo = models.ForeignKey(Mo, verbose_name="МО", on_delete=models.PROTECT, related_name="treatment_cases")
    date_begin = models.DateField("начало")
    date_end = models.DateField("окончание", null=True, blank=True)
    payment = models.CharField("вид оплаты", max_length=5, choices=Payment.choices, default=Payment.OMS)

    class Meta:
        verbose_name = "случай лечения"
        verbose_name_plural = "случаи лечения"
        ordering = ["-date_begin"]
        constraints = [models.UniqueConstraint(fields=["mo", "kind", "number"], name="case_unique_number")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} № {self.number}"


# ---------------------------------------------------------------------------------------------
# Workplaces (АРМ) of users
# ---------------------------------------------------------------------------------------------


class Role(models.TextChoices):
    DC_ADMIN = "dc_admin", "АРМ администратора ЦОД"
    MO_ADMIN = "mo_admin", "АРМ администратора МО"
    STATISTICIAN = "statistician", "АРМ медицинского статистика"


# Those who act (start, send, load, flag); the statistician reads only (manual §3, §4.3.1, §4.6).
ADMIN_ROLES = (Role.DC_ADMIN, Role.MO_ADMIN)


class Workplace(models.Model):
    """A user's workplace in an МО. The role decides the scope: ЦОД admin sees every МО."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="пользователь",
        on_delete=models.CASCADE,
        related_name="workplaces",
    )
    mo = models.ForeignKey(Mo, verbose_name="МО", on_delete=models.PROTECT, related_name="workplaces")
    role = models.CharField("АРМ", max_length=16, choices=Role.choices)
    post = models.CharField("должность", max_length=250, blank=True)
    unit = models.CharField("подразделение / отделение / служба", max_length=250, blank=True)
    schedule = models.CharField("расписание", max_length=250, blank=True)
    is_active = models.BooleanField("действует", default=True)

    class Meta:
        verbose_name = "место работы (АРМ)"
        verbose_name_plural = "места работы (АРМ)"
        ordering = ["user", "mo", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "mo", "role"], name="workplace_unique")]

    def __str__(self) -> str:
        return f"{self.get_role_display()} — {self.mo.code}"

    @property
    def sees_all_mo(self) -> bool:
        return self.role == Role.DC_ADMIN


class UserProfile(models.Model):
    """Per-user settings: the default workplace chosen at login (A2)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="пользователь",
        on_delete=models.CASCADE,
        related_name="profile",
    )
    default_workplace = models.ForeignKey(
        Workplace, verbose_name="АРМ по умолчанию", on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        verbose_name = "профиль пользователя"
        verbose_name_plural = "профили пользователей"

    def __str__(self) -> str:
        return str(self.user)


class ApiToken(AbstractAuthToken):
    """A token of the API (django-rest-knox: stored as a hash, with an expiry, revocable) bound to the
    workplace it acts in, so a call never depends on an earlier browser login (issue 15 item 12)."""

    workplace = models.ForeignKey(
        Workplace, verbose_name="место работы", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = "токен API"
        verbose_name_plural = "токены API"

    def __str__(self) -> str:
        return f"{self.token_key}… ({self.user})"  # never the digest or the token
