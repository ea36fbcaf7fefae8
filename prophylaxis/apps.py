"""Prophylaxis plans and dispensary observation (SPEC C3, C5, D2, D3)."""

from django.apps import AppConfig


class ProphylaxisConfig(AppConfig):
    name = "prophylaxis"
    verbose_name = "Профилактика и диспансерное наблюдение"
