"""The attachment service and the attachment file (SPEC C4, D1)."""

from django.apps import AppConfig


class AttachmentConfig(AppConfig):
    name = "attachment"
    verbose_name = "Прикрепление"
