"""Service log models: services, runs, packages, attempts, the detailed log, inbox, sent objects."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from audit.models import AuditAction, AuditEvent  # noqa: F401  (re-exported: the audit trail moved to audit/)

# ---------------------------------------------------------------------------------------------
# Exchange engine: services, runs, packages (DESIGN §3)
# ---------------------------------------------------------------------------------------------


class Service(models.Model):
    """A service of the journal (§4.6): a scheduled or manually started exchange job."""

    code = models.CharField("код", max_length=32, unique=True)
    name = models.CharField("наименование", max_length=250)
    manual_start = models.BooleanField("доступен ручной запуск", default=False)
    enabled = models.BooleanField("действует в регионе", default=True)
    carries_packages = models.BooleanField("обмен пакетами с ТФОМС", default=True)
    manual_send_timeout_seconds = models.PositiveIntegerField(
        "таймаут ручной отправки, с", default=3600, help_text="§4.4.5.3.1.2: не чаще раза в этот срок"
    )

    class Meta:
        verbose_name = "сервис"
        verbose_name_plural = "сервисы"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RunResult(models.TextChoices):
    RUNNING = "running", "Выполняется"
    SUCCESS = "success", "Успешно"
    ERROR = "error", "Завершено с ошибкой"


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "По расписанию"
    MANUAL = "manual", "Вручную"
    SHELL = "shell", "Из командной строки"
    CONSUMER = "consumer", "Приём пакетов"
    ONLINE = "online", "Онлайн-запросы"  # the day's standing run of a service's RPC calls
    EVENT = "event", "По событию"  # a record saved in the portal (a referral) is sent at once


STANDING_TRIGGERS = (RunTrigger.CONSUMER, RunTrigger.ONLINE)  # runs that live for a day


class ServiceRun(models.Model):
    """One run of a service, region-wide (mo is empty) or for one МО. Counts come from its packages."""

    service = models.ForeignKey(Service, verbose_name="сервис", on_delete=models.PROTECT, related_name="runs")
    mo = models.ForeignKey(
        "registry.Mo", verbose_name="МО", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    scope_key = models.CharField(
        "область",
        max_length=32,
        help_text="код МО (и, при отправке по одному пациенту, его номер) или пусто для региона",
    )
    trigger = models.CharField(
        "запуск", max_length=16, choices=RunTrigger.choices, default=RunTrigger.SCHEDULE
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="кто запустил",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    started_at = models.DateTimeField("запуск", db_index=True)
    finished_at = models.DateTimeField("завершение", null=True, blank=True)
    heartbeat_at = models.DateTimeField("признак работы")
    result = models.CharField(
        "результат", max_length=16, choices=RunResult.choices, default=RunResult.RUNNING
    )

    REGION_WIDE_WHEN_NULL = True  # a region-wide run is visible to every МО, counted for its own packages

    class Meta:
        verbose_name = "запуск сервиса"
        verbose_name_plural = "запуски сервисов"
        ordering = ["-started_at", "-id"]
        constraints = [
            # Single flight: one running run per service and МО-or-region, enforced by the database.
            models.UniqueConstraint(
                fields=["service", "scope_key"],
                condition=models.Q(result="running"),
                name="servicerun_single_flight",
            )
        ]
        indexes = [models.Index(fields=["service", "mo", "started_at"], name="run_service_mo_started_idx")]

    def __str__(self) -> str:
        return f"{self.service.code} {self.started_at:%d.%m.%Y %H:%M:%S}"

    @property
    def audit_title(self) -> str:
        """How the audit trail names the run: its service and its start, in local time."""
        started = timezone.localtime(self.started_at)
        return f"«{self.service.name}» от {started:%d.%m.%Y %H:%M:%S}"[:300]


class PackageStatus(models.TextChoices):
    """The nine statuses of C1 (§4.4.5.3.1.1)."""

    FORM_ERROR = "form_error", "Ошибка формирования"
    FORMED = "formed", "Сформирован"
    SENT = "sent", "Отправлен"
    SEND_ERROR = "send_error", "Ошибка отправки"
    ACCEPTED = "accepted", "Принят ТФОМС"
    REJECTED_BY_FUND = "rejected_fund", "Отклонен ТФОМС"
    RECEIVED = "received", "Получен от ТФОМС"
    PROCESSED = "processed", "Обработан"
    REJECTED = "rejected", "Отклонен"


ERROR_STATUSES = (PackageStatus.FORM_ERROR, PackageStatus.SEND_ERROR, PackageStatus.REJECTED_BY_FUND)


class Operation(models.TextChoices):
    INSERT = "Insert", "Добавление"
    UPDATE = "Update", "Изменение"
    DELETE = "Delete", "Удаление"
    QUERY = "Query", "Запрос"
    ANSWER = "Answer", "Ответ"


class Direction(models.TextChoices):
    OUT = "out", "В ТФОМС"
    IN = "in", "Из ТФОМС"


class Package(models.Model):
    """One message to or from the fund, with its status, data, body and reply."""

    uuid = models.UUIDField("идентификатор сообщения", unique=True, editable=False)
    service = models.ForeignKey(
        Service, verbose_name="сервис", on_delete=models.PROTECT, related_name="packages"
    )
    # run, mo, package_type and status are searched through the composite indexes of Meta, which
    # lead with them: an index of their own would only slow forming down (issue 10 item 6).
    run = models.ForeignKey(
        ServiceRun,
        verbose_name="запуск",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="packages",
        db_index=False,
    )
    mo = models.ForeignKey(
        "registry.Mo",
        verbose_name="МО",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    direction = models.CharField(
        "направление", max_length=3, choices=Direction.choices, default=Direction.OUT
    )
    package_type = models.CharField("тип пакета", max_length=64)
    operation = models.CharField("операция", max_length=8, choices=Operation.choices)
    status = models.CharField("статус пакета", max_length=16, choices=PackageStatus.choices)
    result = models.TextField("результат", blank=True)
    object_id = models.CharField("объект", max_length=64, blank=True)
    external_id = models.CharField(
        "GUID объекта", max_length=64, blank=True, help_text="один на объект и сохраняется (формат §3.2)"
    )
    payload = models.JSONField("данные пакета", default=dict, blank=True)
    body = models.TextField("XML пакета", blank=True)
    reply = models.JSONField("ответ", null=True, blank=True)
    content_hash = models.CharField("хэш содержимого", max_length=64)
    ordering_key = models.CharField("ключ очерёдности", max_length=128, blank=True)
    sequence = models.BigIntegerField("номер в очереди", default=0)
    send_attempts = models.PositiveIntegerField("неудачных отправок", default=0)
    next_attempt_at = models.DateTimeField("следующая попытка", null=True, blank=True, db_index=True)
    do_not_send = models.BooleanField("не отправлять пакет", default=False)
    do_not_send_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="запрет установил",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    do_not_send_at = models.DateTimeField("запрет установлен", null=True, blank=True)
    do_not_send_reason = models.CharField("причина запрета", max_length=500, blank=True)
    enp = models.CharField("ЕНП", max_length=16, blank=True, db_index=True)
    snils = models.CharField("СНИЛС", max_length=11, blank=True, db_index=True)
    fio = models.CharField("ФИО", max_length=200, blank=True, db_index=True)
    created_at = models.DateTimeField("дата/время", auto_now_add=True, db_index=True)
    status_changed_at = models.DateTimeField("статус изменён", auto_now_add=True)
    overdue_notified_at = models.DateTimeField("сообщено об отсутствии ответа", null=True, blank=True)

    class Meta:
        verbose_name = "пакет"
        verbose_name_plural = "пакеты"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["ordering_key", "sequence"], name="package_order_idx"),
            models.Index(fields=["package_type", "object_id", "-id"], name="package_object_idx"),
            models.Index(fields=["run", "status"], name="package_run_status_idx"),
            models.Index(fields=["mo", "created_at"], name="package_mo_created_idx"),
            models.Index(fields=["status", "status_changed_at"], name="package_status_changed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.package_type} {self.message_id}"

    @property
    def audit_title(self) -> str:
        """How the audit trail names the package: its type in words and its GUID."""
        from .registry import package_type_title

        return f"«{package_type_title(self.package_type)}» {self.message_id}"[:300]

    @property
    def message_id(self) -> str:
        """The AMQP message_id: the package's GUID in upper case (formats §2.2)."""
        return str(self.uuid).upper()

    @property
    def has_reply(self) -> bool:
        return self.reply is not None


class PackageSequence(models.Model):
    """Next sequence number per ordering key. Its row lock serialises formers of one key, so a
    package with a higher number never commits before a lower one (the relay keeps the order)."""

    ordering_key = models.CharField(max_length=128, unique=True)
    last = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "счётчик очереди пакетов"
        verbose_name_plural = "счётчики очередей пакетов"

    def __str__(self) -> str:
        return f"{self.ordering_key}: {self.last}"


class Attempt(models.Model):
    """One publish of a package or one reply to it; resends add attempts, never overwrite."""

    class Kind(models.TextChoices):
        PUBLISH = "publish", "Отправка"
        REPLY = "reply", "Ответ"

    package = models.ForeignKey(
        Package, verbose_name="пакет", on_delete=models.CASCADE, related_name="attempts"
    )
    kind = models.CharField("вид", max_length=8, choices=Kind.choices)
    at = models.DateTimeField("когда", auto_now_add=True)
    # None: published, the broker's confirm not seen yet (or the process died waiting for it)
    ok = models.BooleanField("успешно", null=True)
    detail = models.TextField("подробности", blank=True)

    class Meta:
        verbose_name = "попытка"
        verbose_name_plural = "попытки"
        ordering = ["package", "at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%d.%m.%Y %H:%M:%S}"


class LogEntry(models.Model):
    """A line of the detailed log of a run (and of a package)."""

    class Level(models.TextChoices):
        INFO = "info", "Сообщение"
        WARNING = "warning", "Предупреждение"
        ERROR = "error", "Ошибка"

    at = models.DateTimeField("время", auto_now_add=True)
    # run and package are searched through the (…, at) indexes of Meta, which lead with them.
    run = models.ForeignKey(
        ServiceRun,
        verbose_name="запуск",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="log",
        db_index=False,
    )
    package = models.ForeignKey(
        Package,
        verbose_name="пакет",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="log",
        db_index=False,
    )
    mo = models.ForeignKey(
        "registry.Mo", verbose_name="МО", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    level = models.CharField("вид", max_length=8, choices=Level.choices, default=Level.INFO)
    message = models.TextField("сообщение")

    # A line that names no МО (the fund's unreadable message, a region run's own lines) is the ЦОД
    # admin's only: it may quote a rejected message about any МО's patient (issue 19 item 3). An МО's
    # users see the lines of their МО, also inside region-wide runs.
    REGION_WIDE_WHEN_NULL = False

    class Meta:
        verbose_name = "запись журнала"
        verbose_name_plural = "записи журнала"
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["run", "at"], name="logentry_run_at_idx"),
            models.Index(fields=["package", "at"], name="logentry_package_at_idx"),
        ]

    def __str__(self) -> str:
        return self.message[:80]


class InboundMessage(models.Model):
    """Every message taken from the fund's queues, once: a redelivery hits the unique key."""

    source = models.CharField("очередь", max_length=128)
    # AMQP message_id is a short string (≤ 255 bytes): kept whole, so two ids with a common prefix
    # are never taken for one (issue 19 item 4).
    message_id = models.CharField("message_id", max_length=255)
    received_at = models.DateTimeField("получено", auto_now_add=True)
    package = models.ForeignKey(
        Package, verbose_name="пакет", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "входящее сообщение"
        verbose_name_plural = "входящие сообщения"
        constraints = [
            models.UniqueConstraint(fields=["source", "message_id"], name="inbound_unique_message")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.message_id}"


class SentObject(models.Model):
    """What the fund already knows: an object counts as known only after Принят ТФОМС."""

    package_type = models.CharField("тип пакета", max_length=64)
    object_id = models.CharField("объект", max_length=64)
    external_id = models.CharField("идентификатор у ТФОМС", max_length=64, blank=True)
    mo = models.ForeignKey(
        "registry.Mo", verbose_name="МО", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_hash = models.CharField("принятый хэш", max_length=64)
    accepted_at = models.DateTimeField("принят")
    last_package = models.ForeignKey(
        Package,
        verbose_name="последний пакет",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    deleted = models.BooleanField("удалён у ТФОМС", default=False)
    # The peer was made to forget the object (a pharmacy directory switched off): its packages up to
    # this id no longer count, accepted or not; the next one is an Insert of the whole.
    forgotten_upto = models.BigIntegerField("забыт по пакет №", null=True, blank=True)

    class Meta:
        verbose_name = "переданный объект"
        verbose_name_plural = "переданные объекты"
        constraints = [
            models.UniqueConstraint(fields=["package_type", "object_id"], name="sentobject_unique_object")
        ]

    def __str__(self) -> str:
        return f"{self.package_type} {self.object_id}"


# ---------------------------------------------------------------------------------------------
# Synchronous requests to the fund (RPC: free beds, online identification; DESIGN §3)
# ---------------------------------------------------------------------------------------------


class RpcState(models.TextChoices):
    SENDING = "sending", "Отправляется"
    WAITING = "waiting", "Ожидает ответа"
    ANSWERED = "answered", "Получен ответ"
    FAILED = "failed", "Ошибка"
    EXPIRED = "expired", "Нет ответа"


RPC_IN_FLIGHT = (RpcState.SENDING, RpcState.WAITING)


class RpcCall(models.Model):
    """One request to the fund a page waits for: the web process records it and publishes it, the
    consumer writes the reply here, any web process shows it (the page polls this row)."""

    kind = models.CharField("вид запроса", max_length=32)
    correlation_id = models.UUIDField("correlation_id", unique=True, editable=False)
    mo = models.ForeignKey("registry.Mo", verbose_name="МО", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="пользователь",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # What the call is about (a person's id; for free beds the asker and the question): one call of a
    # kind about it is in flight at a time, so a double click asks once.
    subject = models.CharField("о чём запрос", max_length=64)
    request = models.JSONField("параметры запроса", default=dict)
    package = models.OneToOneField(
        Package,
        verbose_name="пакет запроса",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rpc_call",
    )
    state = models.CharField("состояние", max_length=16, choices=RpcState.choices, default=RpcState.SENDING)
    created_at = models.DateTimeField("создан", auto_now_add=True, db_index=True)
    deadline = models.DateTimeField("ждать ответа до")
    answered_at = models.DateTimeField("ответ получен", null=True, blank=True)
    late = models.BooleanField("ответ пришёл после срока", default=False)
    reply = models.JSONField("ответ", null=True, blank=True)
    message = models.TextField("итог", blank=True)

    class Meta:
        verbose_name = "запрос к ТФОМС (RPC)"
        verbose_name_plural = "запросы к ТФОМС (RPC)"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "mo", "subject"],
                condition=models.Q(state__in=["sending", "waiting"]),
                name="rpccall_one_in_flight",
            )
        ]
        indexes = [models.Index(fields=["state", "deadline"], name="rpccall_state_deadline")]

    def __str__(self) -> str:
        return f"{self.kind} {self.correlation_id}"

    @property
    def in_flight(self) -> bool:
        return self.state in RPC_IN_FLIGHT
