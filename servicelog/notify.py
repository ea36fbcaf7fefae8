"""E-mails to the ЦОД admins: a run ended with an error, the fund has not answered (E5)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone

from registry.models import Role

from .models import Operation, Package, PackageStatus, RunResult, RunTrigger, ServiceRun

logger = logging.getLogger(__name__)


def dc_admin_emails() -> list[str]:
    users = (
        get_user_model()
        .objects.filter(is_active=True, workplaces__role=Role.DC_ADMIN, workplaces__is_active=True)
        .exclude(email="")
    )
    return sorted(set(users.values_list("email", flat=True)))


def _send(subject: str, body: str) -> bool:
    recipients = dc_admin_emails()
    if not recipients:
        return False
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:  # a mail server down must not break the run that reports
        logger.exception("e-mail to the ЦОД admins failed: %s", subject)
        return False
    return True


def notify_run_failed(run: ServiceRun) -> bool:
    if run.result != RunResult.ERROR or run.trigger == RunTrigger.CONSUMER:
        return False
    errors = list(run.log.filter(level="error").order_by("id").values_list("message", flat=True)[:20])
    scope = f"МО {run.mo.code}" if run.mo else "весь регион"
    body = (
        f"Сервис «{run.service.name}» ({scope}), запуск {timezone.localtime(run.started_at):%d.%m.%Y %H:%M}, "
        f"завершён с ошибкой.\n\n" + "\n".join(f"— {e}" for e in errors)
    )
    return _send(f"Портал ТФОМС: «{run.service.name}» завершён с ошибкой", body)


def notify_overdue() -> int:
    """Once per package: sent more than TFOMS_REPLY_OVERDUE_HOURS ago and still without an answer."""
    cutoff = timezone.now() - timedelta(hours=settings.TFOMS_REPLY_OVERDUE_HOURS)
    overdue = Package.objects.filter(
        status=PackageStatus.SENT, status_changed_at__lt=cutoff, overdue_notified_at__isnull=True
    ).exclude(operation=Operation.QUERY)  # an online request's silence is its call's «Нет ответа»
    counts = Counter(overdue.values_list("service__name", "mo__code"))
    if not counts:
        return 0
    lines = [f"— {service}, МО {mo or '—'}: {n}" for (service, mo), n in sorted(counts.items(), key=str)]
    body = (
        f"ТФОМС не ответил на отправленные пакеты дольше {settings.TFOMS_REPLY_OVERDUE_HOURS} ч:\n"
        + "\n".join(lines)
        + "\n\nСм. «Журнал работы сервисов», статус «Отправлен»."
    )
    if _send("Портал ТФОМС: нет ответа ТФОМС на пакеты", body):
        return overdue.update(overdue_notified_at=timezone.now())
    return 0
