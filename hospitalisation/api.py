"""GET /api/v1/hospitalisation/referrals/?person= and …/stays/?person= — the caller's МО's referrals
and hospital stays with the state of their last package (C2; another МО's person → 404)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import HasWorkplace, api_person_found, api_person_param, api_workplace

from .selectors import referrals, stays
from .serializers import ReferralSerializer, StaySerializer

PERSON = OpenApiParameter("person", int, description="ид человека")
ERRORS = {
    400: OpenApiResponse(description="неверный параметр"),
    404: OpenApiResponse(description="нет такого человека в МО"),
}


@extend_schema(parameters=[PERSON], responses={200: ReferralSerializer(many=True), **ERRORS})
@api_view(["GET"])
@permission_classes([HasWorkplace])
def referrals_view(request: Request) -> Response:
    """Направления на госпитализацию МО пользователя (ЦОД — всех МО) с состоянием последнего пакета."""
    workplace = api_workplace(request)
    person_id = api_person_param(request)
    found = referrals(workplace=workplace, person_id=person_id)
    api_person_found(person_id, bool(found), workplace)
    return Response(ReferralSerializer(found, many=True).data)


@extend_schema(parameters=[PERSON], responses={200: StaySerializer(many=True), **ERRORS})
@api_view(["GET"])
@permission_classes([HasWorkplace])
def stays_view(request: Request) -> Response:
    """Случаи госпитализации (КВС) МО пользователя с движениями и состоянием последних пакетов."""
    workplace = api_workplace(request)
    person_id = api_person_param(request)
    found = stays(workplace=workplace, person_id=person_id)
    api_person_found(person_id, bool(found), workplace)
    return Response(StaySerializer(found, many=True).data)
