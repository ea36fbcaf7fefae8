"""GET /api/v1/hospitalisation/referrals/?person= and …/stays/?person= — the caller's МО's referrals
and hospital stays with the state of their last package (C2; another МО's person → 404), a page at
a time (`limit`, `offset`: a ЦОД admin at region scale must not get every stay at once)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import HasWorkplace, api_person_found, api_person_param, api_workplace

from .selectors import referral_rows, referral_states, stay_rows, stay_states
from .serializers import ReferralSerializer, StaySerializer

PERSON = OpenApiParameter("person", int, description="ид человека")
MAX_LIMIT, MAX_OFFSET = 200, 10**9
LIMIT = OpenApiParameter(
    "limit", int, description=f"строк на странице (по умолчанию 50, не более {MAX_LIMIT})"
)
OFFSET = OpenApiParameter("offset", int, description="с какой строки")
ERRORS = {
    400: OpenApiResponse(description="неверный параметр"),
    404: OpenApiResponse(description="нет такого человека в МО"),
}


class Page(LimitOffsetPagination):
    """At most 200 rows an answer, from an offset a database can take (a huge one is an empty page,
    not a 500)."""

    max_limit = MAX_LIMIT

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)


def _paginated(name: str, item: serializers.Serializer) -> serializers.Serializer:
    """The page shape of LimitOffsetPagination, for the schema."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item,
        },
    )


@extend_schema(
    parameters=[PERSON, LIMIT, OFFSET],
    responses={200: _paginated("ReferralPage", ReferralSerializer(many=True)), **ERRORS},
)
@api_view(["GET"])
@permission_classes([HasWorkplace])
def referrals_view(request: Request) -> Response:
    """Направления на госпитализацию МО пользователя (ЦОД — всех МО) с состоянием последнего пакета,
    постранично (`limit`, `offset`)."""
    workplace = api_workplace(request)
    person_id = api_person_param(request)
    paginator = Page()
    page = paginator.paginate_queryset(referral_rows(workplace=workplace, person_id=person_id), request) or []
    api_person_found(person_id, bool(paginator.count), workplace)
    data = ReferralSerializer(referral_states(page, workplace=workplace), many=True).data
    return paginator.get_paginated_response(data)


@extend_schema(
    parameters=[PERSON, LIMIT, OFFSET],
    responses={200: _paginated("StayPage", StaySerializer(many=True)), **ERRORS},
)
@api_view(["GET"])
@permission_classes([HasWorkplace])
def stays_view(request: Request) -> Response:
    """Случаи госпитализации (КВС) МО пользователя с движениями и состоянием последних пакетов,
    постранично (`limit`, `offset`)."""
    workplace = api_workplace(request)
    person_id = api_person_param(request)
    paginator = Page()
    page = paginator.paginate_queryset(stay_rows(workplace=workplace, person_id=person_id), request) or []
    api_person_found(person_id, bool(paginator.count), workplace)
    return paginator.get_paginated_response(
        StaySerializer(stay_states(page, workplace=workplace), many=True).data
    )
