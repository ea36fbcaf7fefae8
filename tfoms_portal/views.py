"""Project-level endpoints: the health check for the load balancer."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not healthy"; the reason goes to the operator
        return False, f"{type(exc).__name__}: {exc}"
    return True, connection.vendor


def _broker_ok() -> tuple[bool, str]:
    from . import messaging

    backend = messaging.get_backend()
    error = backend.ping()
    return (False, error) if error else (True, type(backend).__name__.removesuffix("Backend").lower())


def _relay_ok() -> tuple[bool, str]:
    """The relay keeps up: the oldest package due to be sent waits less than the alert setting."""
    from servicelog.metrics import relay_lag_seconds

    try:
        lag = relay_lag_seconds()
    except Exception as exc:  # the database itself is the database check's to judge
        return True, f"задержка не измерена: {type(exc).__name__}"
    limit = settings.TFOMS_RELAY_LAG_ALERT_SECONDS
    return lag <= limit, f"старейший пакет к отправке ждёт {lag:.0f} с (предел {limit} с)"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every dependency answers (the database, the fund's broker), 503 otherwise."""
    checks = {}
    for name, probe in (("database", _database_ok), ("broker", _broker_ok), ("relay", _relay_ok)):
        ok, detail = probe()
        checks[name] = {"ok": ok, "detail": detail}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )
