"""System checks that refuse a production start with an unsafe configuration."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def production_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """`manage.py check --deploy` (and gunicorn's start via the entrypoint) fail on these."""
    errors = []
    if not settings.SECRET_KEY_CONFIGURED:
        errors.append(
            Error(
                "SECRET_KEY is not set (neither SECRET_KEY nor SECRET_KEY_FILE).",
                hint="Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'",
                id="tfoms.E001",
            )
        )
    if settings.DEBUG:
        errors.append(Error("DEBUG must be off in production.", id="tfoms.E002"))
    if settings.TFOMS_BACKGROUND != "celery":
        errors.append(
            Error(
                f"TFOMS_BACKGROUND={settings.TFOMS_BACKGROUND}: runs started from a page would run in the "
                "web process's own threads (the demo's way), lost when a worker is recycled.",
                hint="Set CELERY_BROKER_URL (Celery then carries them) and run the Celery workers.",
                id="tfoms.E004",
            )
        )
    return errors


@register(Tags.security)
def secret_key_without_debug(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Even outside --deploy: serving without a secret key is only allowed with DEBUG on (the demo)."""
    if not settings.SECRET_KEY_CONFIGURED and not settings.DEBUG:
        return [
            Error(
                "SECRET_KEY is not set and DEBUG is off: refusing to start.",
                hint="Set SECRET_KEY (or SECRET_KEY_FILE), or DEBUG=true for a local demo.",
                id="tfoms.E003",
            )
        ]
    return []
