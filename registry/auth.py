"""Login with throttled, audited failures (A1); shared by the login page and the API token endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from servicelog.audit import audit_record, client_ip
from servicelog.models import AuditAction, AuditEvent

WRONG_CREDENTIALS = "Неверное имя пользователя или пароль."
DISABLED = "Учётная запись отключена. Обратитесь к администратору."
THROTTLED = "Слишком много неудачных попыток входа. Повторите попытку через {minutes} мин."


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str = ""


def recent_failures(*, username: str, ip: str | None) -> int:
    """Failures within the window for this username or from this address, read from the audit trail.

    The trail is the one shared record across all web processes, so throttling holds on many machines.
    """
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    who = Q(username=username)
    if ip:
        who |= Q(ip=ip)
    return AuditEvent.objects.filter(who, action=AuditAction.LOGIN_FAILED, at__gte=since).count()


def login_check(request: HttpRequest, *, username: str, password: str) -> LoginResult:
    """Check credentials; every refusal is audited and says nothing about which part was wrong."""
    username = username.strip()
    if recent_failures(username=username, ip=client_ip(request)) >= settings.LOGIN_FAILURE_LIMIT:
        minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
        audit_record(
            action=AuditAction.LOGIN_REFUSED,
            request=request,
            username=username,
            outcome="превышен лимит попыток",
        )
        return LoginResult(None, THROTTLED.format(minutes=minutes))
    user = User.objects.filter(username=username).first()
    if user is None:
        make_password(password)  # same work as a real check: timing does not reveal unknown usernames
    if user is None or not user.check_password(password):
        audit_record(
            action=AuditAction.LOGIN_FAILED,
            request=request,
            username=username,
            outcome="неверные учётные данные",
        )
        return LoginResult(None, WRONG_CREDENTIALS)
    if not user.is_active:
        audit_record(
            action=AuditAction.LOGIN_REFUSED,
            request=request,
            username=username,
            outcome="учётная запись отключена",
        )
        return LoginResult(None, DISABLED)
    return LoginResult(user)
