"""/api/v1/rpc/{id}/: an online request to the fund, its state and answer (DESIGN §3 RPC); the
requests themselves are asked by their domains (identification/api.py: identify-online)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import HasWorkplace, api_workplace, get_scoped_or_404

from .models import RpcCall
from .rpc import rpc_refresh


def rpc_call_json(call: RpcCall) -> dict[str, Any]:
    """A call as the API shows it."""
    return {
        "id": call.pk,
        "kind": call.kind,
        "state": call.state,
        "state_display": call.get_state_display(),
        "late": call.late,
        "created_at": call.created_at.isoformat(),
        "deadline": call.deadline.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "message": call.message,
        "reply": call.reply,
        "package": str(call.package.message_id) if call.package_id and call.package else None,
    }


CALL = inline_serializer(
    "RpcCall",
    {
        "id": serializers.IntegerField(),
        "kind": serializers.CharField(),
        "state": serializers.ChoiceField(choices=["sending", "waiting", "answered", "failed", "expired"]),
        "state_display": serializers.CharField(),
        "late": serializers.BooleanField(),
        "created_at": serializers.DateTimeField(),
        "deadline": serializers.DateTimeField(),
        "answered_at": serializers.DateTimeField(allow_null=True),
        "message": serializers.CharField(),
        "reply": serializers.JSONField(allow_null=True),
        "package": serializers.CharField(allow_null=True),
    },
)


@extend_schema(
    responses={200: CALL, 404: OpenApiResponse(description="запрос другой МО")},
    summary="Состояние онлайн-запроса к ТФОМС и его ответ",
)
@api_view(["GET"])
@permission_classes([HasWorkplace])
def rpc_call_api_view(request: Request, call_id: int) -> Response:
    workplace = api_workplace(request)
    if workplace is None:
        raise PermissionDenied("Действие недоступно в вашем АРМ.")
    call = get_scoped_or_404(RpcCall.objects.select_related("package"), workplace, pk=call_id)
    return Response(rpc_call_json(rpc_refresh(call)))
