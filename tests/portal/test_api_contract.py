"""Issue 16 item 5: generated requests against the published API schema (schemathesis), as the ЦОД
admin and as an МО admin with a real token, bounded to a few hundred requests: none gets a 500, and
every answer is one the schema documents — its status code, its body's shape, its content type — so
a client generated from the schema is never surprised."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tfoms_portal.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["dc_admin", "mo_admin_a"])
def token(request) -> str:
    from rest_framework.test import APIClient

    workplace = request.getfixturevalue(request.param)
    answer = APIClient().post(
        "/api/v1/auth/token/",
        {"username": workplace.user.username, "password": "secret-pass-1"},
        format="json",
    )
    return answer.json()["token"]


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_generated_request_gets_a_documented_answer_and_never_a_server_error(case, token):
    response = case.call(headers={"Authorization": f"Token {token}"})
    assert response.status_code < 500, (
        case.method,
        case.formatted_path,
        response.status_code,
        response.text[:300],
    )
    case.validate_response(
        response, checks=[status_code_conformance, response_schema_conformance, content_type_conformance]
    )


def test_the_schema_is_valid_openapi_and_generated_without_a_warning(tmp_path):
    """Every view, serializer and authenticator is described (a warning is a guess in the schema),
    and the result validates as OpenAPI 3."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    text = (tmp_path / "schema.yml").read_text(encoding="utf-8")
    assert "cookieAuth" in text and "knoxApiToken" in text
