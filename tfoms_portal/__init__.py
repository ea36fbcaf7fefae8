"""The TFOMS portal project package: settings, URLs, access, messaging and the hardened codecs."""

from .celery import app as celery_app

__all__ = ["celery_app"]
