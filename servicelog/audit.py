"""The one function every feature calls to leave a trace in the audit trail (A5)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.http import HttpRequest

from .models import AuditAction, AuditEvent


def client_ip(request: HttpRequest) -> str | None:
    """The client address; behind the load balancer the first X-Forwarded-For hop."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    ip = forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR", "")
    return ip or None


def audit_record(
    *,
    action: AuditAction,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    username: str = "",
    obj: models.Model | None = None,
    outcome: str = "успешно",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Called outside or inside the business transaction alike."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    real_user = user if user is not None and user.is_authenticated else None
    workplace = getattr(request, "workplace", None) if request is not None else None
    return AuditEvent.objects.create(
        user_id=real_user.pk if real_user is not None else None,
        username=(real_user.get_username() if real_user is not None else username)[:150],
        mo_id=workplace.mo_id if workplace is not None else None,
        workplace=workplace.role if workplace is not None else "",
        ip=client_ip(request) if request is not None else None,
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        outcome=outcome[:250],
        details=details or {},
    )
