"""Pages of batch identification."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.identification_view, name="identification"),
    path("upload/", views.response_upload_view, name="identification_upload"),
    path("<int:package_id>/request/", views.request_download_view, name="identification_download"),
    path("<int:package_id>/delete/", views.package_delete_view, name="identification_delete"),
]
