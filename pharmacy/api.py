"""/api/v1/pharmacy/organisations/: the settings of the page without a browser (ЦОД admin only;
every other workplace gets 403), each change in the audit trail as on the page."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import api_workplace
from registry.models import Role

from .models import Directory, Mode, PharmacyOrganisation
from .services import (
    DC_ONLY,
    DirectoryChoice,
    organisation_directories,
    organisation_save,
    organisation_warnings,
)


class DirectorySerializer(serializers.Serializer):
    directory = serializers.ChoiceField(choices=Directory.choices)
    title = serializers.CharField(read_only=True)
    enabled = serializers.BooleanField()
    mode = serializers.ChoiceField(choices=Mode.choices)


class OrganisationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=250)
    ogrn = serializers.CharField(max_length=13)
    code = serializers.CharField(max_length=20)
    active = serializers.BooleanField()
    queue = serializers.CharField(max_length=200)
    directories = DirectorySerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)


def _out(organisation: PharmacyOrganisation) -> dict[str, Any]:
    return {
        "id": organisation.pk,
        "name": organisation.name,
        "ogrn": organisation.ogrn,
        "code": organisation.code,
        "active": organisation.active,
        "queue": organisation.queue,
        "directories": [
            {"directory": code, "title": Directory(code).label, "enabled": c.enabled, "mode": c.mode}
            for code, c in organisation_directories(organisation).items()
        ],
        "warnings": organisation_warnings(organisation),
    }


def _dc_admin(request: Request) -> None:
    workplace = api_workplace(request)
    if workplace is None or workplace.role != Role.DC_ADMIN:
        raise PermissionDenied(DC_ONLY)


@extend_schema(responses=OrganisationSerializer(many=True))
@api_view(["GET"])
def organisations_view(request: Request) -> Response:
    """Every pharmacy organisation with its directories."""
    _dc_admin(request)
    return Response([_out(o) for o in PharmacyOrganisation.objects.prefetch_related("directories")])


@extend_schema(methods=["GET"], responses=OrganisationSerializer)
@extend_schema(methods=["PUT"], request=OrganisationSerializer, responses=OrganisationSerializer)
@api_view(["GET", "PUT"])
def organisation_view(request: Request, organisation_id: int) -> Response:
    """One organisation; PUT replaces its fields and the directories it names (the others keep theirs)."""
    _dc_admin(request)
    organisation = get_object_or_404(PharmacyOrganisation, pk=organisation_id)
    if request.method == "PUT":
        data = OrganisationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        rows = values.pop("directories")
        codes = [row["directory"] for row in rows]
        if len(codes) != len(set(codes)):
            raise ValidationError({"directories": ["Справочник указан дважды."]})
        try:
            organisation = organisation_save(
                organisation=organisation,
                fields=values,
                directories={row["directory"]: DirectoryChoice(row["enabled"], row["mode"]) for row in rows},
                request=request._request,
            )
        except ModelValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
    return Response(_out(organisation))
