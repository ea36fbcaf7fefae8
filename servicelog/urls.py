"""Journal pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.journal_view, name="journal"),
    path("<str:code>/start/", views.journal_start_view, name="journal_start"),
]
