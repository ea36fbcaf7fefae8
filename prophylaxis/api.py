"""GET /api/v1/dispensary/cards/?person=&status= — the caller's МО's observation cards (C5)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import HasWorkplace, api_person_found, api_person_param, api_workplace

from .selectors import ENDED, OPEN, dispensary_cards
from .serializers import DispensaryCardSerializer


@extend_schema(
    parameters=[
        OpenApiParameter("person", int, description="ид человека"),
        OpenApiParameter(
            "status", str, enum=[OPEN, ENDED], description="open — под наблюдением, ended — снят"
        ),
    ],
    responses={200: DispensaryCardSerializer(many=True)},
)
@api_view(["GET"])
@permission_classes([HasWorkplace])
def cards_view(request: Request) -> Response:
    """Карты диспансерного наблюдения МО пользователя (ЦОД — всех МО) с состоянием последнего пакета
    DISP/DISPOUT и пакета PERSCANCER; человек другой МО — ответ 404."""
    status = request.query_params.get("status", "")
    if status not in ("", OPEN, ENDED):
        raise ValidationError(
            {"status": ["Допустимые значения: open (под наблюдением), ended (снят с наблюдения)."]}
        )
    person_id = api_person_param(request)
    workplace = api_workplace(request)
    states = dispensary_cards(workplace=workplace, person_id=person_id, status=status)
    api_person_found(person_id, bool(states), workplace)
    return Response(DispensaryCardSerializer(states, many=True).data)
