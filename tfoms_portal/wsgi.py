"""WSGI entry point (gunicorn tfoms_portal.wsgi; gunicorn.conf.py runs the deploy checks first)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfoms_portal.settings")
application = get_wsgi_application()
