"""Pages of prophylaxis plans (under /plans/)."""

from django.urls import path

from . import plan_views

urlpatterns = [
    path("", plan_views.plans_view, name="plans"),
    path("<int:plan_id>/persons/", plan_views.plan_persons_view, name="plan_persons"),
    path("<int:plan_id>/send/", plan_views.plan_send_view, name="plan_send"),
    path("export/", plan_views.plan_export_view, name="plan_export"),
    path("exports/download/", plan_views.plan_exports_download_view, name="plan_exports_download"),
    path("error-reply/", plan_views.plan_error_reply_view, name="plan_error_reply"),
]
