"""Pages of the attachment file export (under /attachment/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("export/", views.export_view, name="attachment_export"),
    path("export/file/", views.export_file_view, name="attachment_export_file"),
    path("export/errors/", views.export_report_view, name="attachment_export_report"),
]
