"""WSGI entry point (gunicorn tfoms_portal.wsgi); refuses to serve with an unsafe configuration."""

import os

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfoms_portal.settings")
application = get_wsgi_application()
# Production start: the deploy checks (SECRET_KEY set, DEBUG off) must pass, or no worker boots.
call_command("check", deploy=True, fail_level="ERROR")
