"""Hospitalisation under FFOMS order 263 (SPEC C2)."""

from django.apps import AppConfig


class HospitalisationConfig(AppConfig):
    name = "hospitalisation"
    verbose_name = "Госпитализация (приказ 263)"
