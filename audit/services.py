"""The one function every feature calls to leave a trace in the audit trail (A5)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.http import HttpRequest

from .models import AuditAction, AuditEvent


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client address. X-Forwarded-For is believed only when the direct peer is one of our own
    proxies (TRUSTED_PROXIES), and then only its right-most hop that is not one of them."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR", ""))
    trusted = set(settings.TRUSTED_PROXIES)
    if remote is None or remote not in trusted:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        ip = _valid_ip(hop)
        if ip is None:
            return remote
        if ip not in trusted:
            return ip
    return remote


def object_title(obj: models.Model | None) -> str:
    """The object in words: its `audit_title` when the model has one, else its own name."""
    if obj is None:
        return ""
    title = getattr(obj, "audit_title", None)
    return str(title if title is not None else obj)[:300]


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
        object_title=object_title(obj),
        outcome=outcome[:250],
        details=details or {},
    )
