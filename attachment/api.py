"""Attachment file API: GET /api/v1/attachment/file/?date=YYYY-MM-DD[&date_from=…][&mo=MCOD] (D1)."""

from __future__ import annotations

from django.http.response import HttpResponseBase
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import api_workplace
from registry.models import ADMIN_ROLES

from .export import ExportRefused, attachment_file_response, export_mo, export_period, parse_day

ROLES = ADMIN_ROLES


@extend_schema(
    summary="Файл прикрепления MO2<MCOD><YYYYMMDD>.csv",
    parameters=[
        OpenApiParameter(
            "date", OpenApiTypes.DATE, required=True, description="Отчётная дата (конец периода)"
        ),
        OpenApiParameter(
            "date_from",
            OpenApiTypes.DATE,
            description="Начало периода; по умолчанию — первое число месяца date",
        ),
        OpenApiParameter("mo", OpenApiTypes.STR, description="Реестровый номер МО (только для АРМ ЦОД)"),
    ],
    responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="Файл в windows-1251"),
        400: OpenApiResponse(description="Неверный период"),
        404: OpenApiResponse(description="МО не найдена"),
    },
)
@api_view(["GET"])
def attachment_file_view(request: Request) -> HttpResponseBase:
    """The attachment file of the period ending on `date`; another МО's file is a 404 for an МО admin."""
    workplace = api_workplace(request)
    if workplace is None or workplace.role not in ROLES:
        raise PermissionDenied(
            "Выгрузка прикреплений доступна в АРМ администратора ЦОД и АРМ администратора МО."
        )
    mo = export_mo(workplace=workplace, code=request.query_params.get("mo"))
    try:
        date_to = parse_day(request.query_params.get("date"), "date")
        if date_to is None:
            raise ExportRefused("Укажите отчётную дату: параметр date=ГГГГ-ММ-ДД.")
        date_from = parse_day(request.query_params.get("date_from"), "date_from") or date_to.replace(day=1)
        period = export_period(date_from, date_to, today=timezone.localdate())
    except ExportRefused as exc:
        return Response({"detail": str(exc)}, status=400)
    return attachment_file_response(
        request=request._request, workplace=workplace, mo=mo, period=period, via="api"
    )
