"""Journal pages."""

from django.urls import path

from . import journal_views, views

urlpatterns = [
    path("", journal_views.journal_view, name="journal"),
    path("search/", views.package_search_view, name="journal_search"),
    path("dashboard/", views.dashboard_view, name="journal_dashboard"),
    path("print/", views.print_view, name="journal_print"),
    path("export/<str:kind>.<str:fmt>", views.export_view, name="journal_export"),
    path("packages/<int:package_id>/", views.package_view, name="journal_package"),
    path(
        "packages/<int:package_id>/do-not-send/", views.package_do_not_send_view, name="journal_do_not_send"
    ),
    path("packages/resend/", views.package_resend_view, name="journal_resend"),
    path("<str:code>/start/", journal_views.journal_start_view, name="journal_start"),
]
