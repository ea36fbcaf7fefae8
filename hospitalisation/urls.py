"""Pages of order 263 (under /hospitalisation/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("referrals/new/", views.referral_new_view, name="referral_new"),
    path("free-beds/", views.free_beds_view, name="free_beds"),
]
