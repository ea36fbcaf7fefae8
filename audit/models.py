"""The append-only audit trail (A5): who, when, from where, what, outcome. Imports no domain app."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    LOGIN = "login", "Вход в систему"
    LOGOUT = "logout", "Выход из системы"
    LOGIN_FAILED = "login_failed", "Неудачная попытка входа"
    LOGIN_REFUSED = "login_refused", "Вход отклонён"
    WORKPLACE_CHOSEN = "workplace", "Выбор места работы"
    TOKEN_ISSUED = "token", "Выдача токена API"
    TOKEN_REVOKED = "token_revoked", "Отзыв токена API"
    PERSON_VIEWED = "person_view", "Просмотр карточки человека"
    PACKAGE_DATA_VIEWED = "package_view", "Просмотр персональных данных пакета"
    DOWNLOAD = "download", "Скачивание файла"
    UPLOAD = "upload", "Загрузка файла"
    EXPORT = "export", "Экспорт"
    RESEND = "resend", "Повторная отправка"
    DO_NOT_SEND = "do_not_send", "Флаг «Не отправлять пакет»"
    MANUAL_START = "manual_start", "Ручной запуск сервиса"
    IDENTIFY_REQUEST = "identify", "Запрос идентификации"
    DELETE = "delete", "Удаление"
    PHARMACY_SETTINGS = "pharmacy", "Настройки обмена с аптечными организациями"


class AuditEvent(models.Model):
    """One audited action: who, when, from where, what, outcome. Append-only (a trigger refuses changes)."""

    at = models.DateTimeField("когда", auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="пользователь",
        on_delete=models.DO_NOTHING,  # an audit row outlives its user and is never updated
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    username = models.CharField("имя пользователя", max_length=150, db_index=True)
    mo = models.ForeignKey(
        "registry.Mo",
        verbose_name="МО",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    workplace = models.CharField("АРМ", max_length=32, blank=True)
    ip = models.GenericIPAddressField("адрес", null=True, blank=True)
    action = models.CharField("действие", max_length=16, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField("объект", max_length=64, blank=True)
    object_id = models.CharField("ид объекта", max_length=64, blank=True)
    # The object in words as it was then (МО code and name, ФИО, package type and GUID, run): the
    # trail is read by people and outlives renames and deletions.
    object_title = models.CharField("объект (название)", max_length=300, blank=True)
    outcome = models.CharField("результат", max_length=250, default="успешно")
    details = models.JSONField("подробности", default=dict, blank=True)

    class Meta:
        verbose_name = "запись аудита"
        verbose_name_plural = "журнал аудита"
        ordering = ["-at", "-id"]
        db_table = "servicelog_auditevent"  # the table of before the move to its own app (issue 10 item 5)
        indexes = [models.Index(fields=["action", "at"], name="audit_action_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%d.%m.%Y %H:%M:%S} {self.username} {self.get_action_display()}"
