"""Stable addresses of the portal: login, workplace, persons, admin, API, schema, health."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from attachment import api as attachment_api
from attachment import card as attachment_card
from hospitalisation import api as hospitalisation_api
from identification import api as identification_api
from identification import online_views as identification_views
from pharmacy import api as pharmacy_api
from prophylaxis import api as prophylaxis_api
from prophylaxis import plan_api
from registry import api as registry_api
from registry import fund_views as registry_fund_views
from registry import tokens as registry_tokens
from registry import views as registry_views
from servicelog import api as servicelog_api
from servicelog import metrics as servicelog_metrics
from servicelog import rpc_api, rpc_views
from servicelog import views as servicelog_views

from . import views

router = DefaultRouter()
router.register("persons", registry_api.PersonViewSet, basename="api-person")
router.register("servicelog/services", servicelog_api.ServiceViewSet, basename="api-service")
router.register("servicelog/runs", servicelog_api.RunViewSet, basename="api-run")
router.register("servicelog/packages", servicelog_api.PackageViewSet, basename="api-package")

urlpatterns = [
    path("", registry_views.home_view, name="home"),
    path("login/", registry_views.login_view, name="login"),
    path("logout/", registry_views.logout_view, name="logout"),
    path("workplace/", registry_views.workplace_view, name="workplace"),
    path("workplace/cancel/", registry_views.workplace_cancel_view, name="workplace_cancel"),
    path("persons/", registry_views.person_list_view, name="person_list"),
    path("persons/<int:person_id>/", registry_views.person_card_view, name="person_card"),
    path("persons/merges/", registry_fund_views.fund_merges_view, name="fund_merges"),
    path("journal/", include("servicelog.urls")),
    path("audit/", servicelog_views.audit_view, name="audit"),
    path("identification/", include("identification.urls")),
    path("attachment/", include("attachment.urls")),
    path("plans/", include("prophylaxis.urls")),
    path("pharmacy/", include("pharmacy.urls")),
    path("hospitalisation/", include("hospitalisation.urls")),
    path("persons/<int:person_id>/identify/", registry_views.person_identify_view, name="person_identify"),
    path(
        "persons/<int:person_id>/identify-online/",
        identification_views.identify_online_view,
        name="person_identify_online",
    ),
    path("rpc/<str:call_id>/", rpc_views.rpc_call_view, name="rpc_call"),
    path("cases/<int:case_id>/", registry_views.case_view, name="case"),
    path(
        "persons/<int:person_id>/attachment/send/",
        attachment_card.person_attachment_send_view,
        name="person_attachment_send",
    ),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", servicelog_metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", registry_tokens.token_view, name="api_token"),
    path("api/v1/auth/tokens/", registry_tokens.tokens_view, name="api_tokens"),
    path("api/v1/auth/tokens/<str:key>/", registry_tokens.token_revoke_view, name="api_token_revoke"),
    path("api/v1/auth/logout/", registry_tokens.logout_view, name="api_logout"),
    path("api/v1/me/", registry_tokens.me_view, name="api_me"),
    path("api/v1/dispensary/cards/", prophylaxis_api.cards_view, name="api_dispensary_cards"),
    path("api/v1/hospitalisation/referrals/", hospitalisation_api.referrals_view, name="api_referrals"),
    path("api/v1/hospitalisation/stays/", hospitalisation_api.stays_view, name="api_stays"),
    path("api/v1/prophylaxis/plans/", plan_api.plans_view, name="api_plans"),
    path(
        "api/v1/prophylaxis/plans/<int:plan_id>/persons/", plan_api.plan_persons_view, name="api_plan_persons"
    ),
    path("api/v1/prophylaxis/plans/<int:plan_id>/send/", plan_api.plan_send_view, name="api_plan_send"),
    path("api/v1/prophylaxis/exports/", plan_api.exports_view, name="api_plan_exports"),
    path("api/v1/prophylaxis/error-replies/", plan_api.error_replies_view, name="api_plan_error_replies"),
    path(
        "api/v1/pharmacy/organisations/", pharmacy_api.organisations_view, name="api_pharmacy_organisations"
    ),
    path(
        "api/v1/pharmacy/organisations/<int:organisation_id>/",
        pharmacy_api.organisation_view,
        name="api_pharmacy_organisation",
    ),
    path("api/v1/attachment/file/", attachment_api.attachment_file_view, name="api_attachment_file"),
    path("api/v1/identification/responses/", identification_api.responses_view, name="api_ident_responses"),
    path("api/v1/identification/packages/", identification_api.packages_view, name="api_ident_packages"),
    path(
        "api/v1/identification/packages/<str:package_id>/request-file/",
        identification_api.request_file_view,
        name="api_ident_request_file",
    ),
    path(
        "api/v1/persons/<int:person_id>/identify-online/",
        identification_api.identify_online_api_view,
        name="api_identify_online",
    ),
    path("api/v1/rpc/<int:call_id>/", rpc_api.rpc_call_api_view, name="api_rpc_call"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # Swagger UI's scripts are files (the split view), but it styles its widgets inline: only here.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api_schema")
        ),
        name="api_docs",
    ),
]

handler404 = "tfoms_portal.errors.not_found"
handler500 = "tfoms_portal.errors.server_error"
