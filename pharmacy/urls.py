"""The pharmacy settings page (SPEC F3)."""

from django.urls import path

from . import views

urlpatterns = [path("", views.pharmacy_settings_view, name="pharmacy_settings")]
