"""gunicorn reads this file from the working directory: a production start runs the deploy checks
first and refuses to serve without SECRET_KEY or with DEBUG on (issue 2 item 2)."""

import os
from typing import Any


def on_starting(server: Any) -> None:
    import django
    from django.core.management import call_command

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfoms_portal.settings")
    django.setup()
    call_command("check", deploy=True, fail_level="ERROR")
