"""Login with throttled, audited failures (A1); shared by the login page and the API token endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record, client_ip

WRONG_CREDENTIALS = "Неверное имя пользователя или пароль."
DISABLED = "Учётная запись отключена. Обратитесь к администратору."
THROTTLED = "Слишком много неудачных попыток входа. Повторите попытку через {minutes} мин."


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str = ""


def login_throttled(*, username: str, ip: str | None) -> bool:
    """Too many failures within the window for this username, or (a much higher bar, since a whole
    МО may sit behind one address) from this address. Read from the audit trail itself, the one
    record shared by every web process, so throttling holds on many machines."""
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    failures = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, at__gte=since)
    # A successful login (the page's or the API's) starts the user's count again: a mistyped
    # password this morning does not bring a lock-out closer this afternoon. The address's count
    # is not reset: anyone could log in with an account of their own to clear it.
    last_success = (
        AuditEvent.objects.filter(
            action__in=(AuditAction.LOGIN, AuditAction.TOKEN_ISSUED), username=username, at__gte=since
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    own = failures.filter(username=username)
    if last_success is not None:
        own = own.filter(at__gt=last_success)
    if own.count() >= settings.LOGIN_FAILURE_LIMIT:
        return True
    return bool(ip) and failures.filter(ip=ip).count() >= settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS


def login_check(request: HttpRequest, *, username: str, password: str) -> LoginResult:
    """Check credentials; every refusal is audited and says nothing about which part was wrong."""
    username = username.strip()
    if login_throttled(username=username, ip=client_ip(request)):
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
