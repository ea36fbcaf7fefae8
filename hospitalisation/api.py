"""GET /api/v1/hospitalisation/referrals/?person= and …/stays/?person= — the caller's МО's referrals
and hospital stays with the state of their last package (C2; another МО's person → 404)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import HasWorkplace, api_workplace, parse_id, scope
from registry.models import Person, Workplace

from .selectors import referrals, stays
from .serializers import ReferralSerializer, StaySerializer

PERSON = OpenApiParameter("person", int, description="ид человека")
ERRORS = {
    400: OpenApiResponse(description="неверный параметр"),
    404: OpenApiResponse(description="нет такого человека в МО"),
}


def _person(request: Request, workplace: Workplace | None) -> int | None:
    if "person" not in request.query_params:
        return None
    person_id = parse_id(request.query_params["person"])
    if person_id is None:
        raise ValidationError({"person": ["Укажите числовой идентификатор человека."]})
    return person_id


def _known(person_id: int | None, found: list, workplace: Workplace | None) -> None:
    if (
        person_id is not None
        and not found
        and not scope(Person.objects.filter(pk=person_id), workplace).exists()
    ):
        raise Http404  # another МО's person, or none: the same answer (A4)


@extend_schema(parameters=[PERSON], responses={200: ReferralSerializer(many=True), **ERRORS})
@api_view(["GET"])
@permission_classes([HasWorkplace])
def referrals_view(request: Request) -> Response:
    """Направления на госпитализацию МО пользователя (ЦОД — всех МО) с состоянием последнего пакета."""
    workplace = api_workplace(request)
    person_id = _person(request, workplace)
    found = referrals(workplace=workplace, person_id=person_id)
    _known(person_id, found, workplace)
    return Response(ReferralSerializer(found, many=True).data)


@extend_schema(parameters=[PERSON], responses={200: StaySerializer(many=True), **ERRORS})
@api_view(["GET"])
@permission_classes([HasWorkplace])
def stays_view(request: Request) -> Response:
    """Случаи госпитализации (КВС) МО пользователя с движениями и состоянием последних пакетов."""
    workplace = api_workplace(request)
    person_id = _person(request, workplace)
    found = stays(workplace=workplace, person_id=person_id)
    _known(person_id, found, workplace)
    return Response(StaySerializer(found, many=True).data)
