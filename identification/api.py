"""Batch identification API (issue 5 item 7): load a response, list packages, download a request file."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditAction
from audit.services import audit_record
from registry.access import HasWorkplace, api_workplace, get_scoped_or_404, parse_id
from registry.models import ADMIN_ROLES, Person

from .online import identify_online_start
from .selectors import Period, package_get, packages_for
from .services import ResponseRefused, identification_response_load

ADMINS = ADMIN_ROLES


def _admin_workplace(request: Request) -> Any:
    workplace = api_workplace(request)
    if workplace is None or workplace.role not in ADMINS:
        raise PermissionDenied("Пакетная идентификация доступна в АРМ администратора МО и ЦОД.")
    return workplace


def _day(request: Request, name: str, default: dt.date) -> dt.date:
    value = request.query_params.get(name)
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise serializers.ValidationError({name: "Дата в формате ГГГГ-ММ-ДД."}) from exc


class PackageOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    mo = serializers.CharField(source="mo.code")
    formed_at = serializers.DateTimeField()
    response_loaded_at = serializers.DateTimeField(allow_null=True)
    records = serializers.IntegerField(source="total")
    identified = serializers.IntegerField()
    records_with_errors = serializers.IntegerField(source="errors")


@extend_schema(
    parameters=[
        OpenApiParameter("date_from", str, description="ГГГГ-ММ-ДД, по умолчанию 30 дней назад"),
        OpenApiParameter("date_to", str, description="ГГГГ-ММ-ДД, по умолчанию сегодня"),
        OpenApiParameter("answered", bool, description="true — с ответом, false — без ответа"),
    ],
    responses=PackageOut(many=True),
)
@api_view(["GET"])
def packages_view(request: Request) -> Response:
    workplace = _admin_workplace(request)
    today = timezone.localdate()
    period = Period(
        "day", _day(request, "date_from", today - dt.timedelta(days=30)), _day(request, "date_to", today)
    )
    answered = request.query_params.get("answered", "")
    show = {"true": "answered", "false": "unanswered"}.get(answered.lower(), "all")
    packages = packages_for(workplace=workplace, period=period, show=show)[:1000]
    return Response(PackageOut(packages, many=True).data)


@extend_schema(responses={(200, "application/x-dbf"): bytes})
@api_view(["GET"])
def request_file_view(request: Request, package_id: str) -> HttpResponse:
    workplace = _admin_workplace(request)
    pk = parse_id(package_id)
    if pk is None:
        raise Http404
    package = package_get(workplace=workplace, package_id=pk)
    if package.response_loaded_at is not None or not package.request_file:
        return Response(
            {"detail": f"Файл запроса пакета {package.name} недоступен: ответ уже загружен."}, status=409
        )
    audit_record(action=AuditAction.DOWNLOAD, request=request._request, obj=package, details={"api": True})
    response = HttpResponse(bytes(package.request_file), content_type="application/x-dbf")
    response["Content-Disposition"] = f'attachment; filename="{package.file_name}"'
    return response


@extend_schema(
    request={"multipart/form-data": inline_serializer("ResponseUpload", {"file": serializers.FileField()})},
    responses=inline_serializer(
        "ResponseLoaded",
        {
            "package": serializers.CharField(),
            "matched": serializers.IntegerField(),
            "identified": serializers.IntegerField(),
            "not_identified": serializers.IntegerField(),
            "no_data": serializers.IntegerField(),
            "unmatched_rows": serializers.IntegerField(),
            "errors": serializers.ListField(child=serializers.CharField()),
        },
    ),
)
@api_view(["POST"])
@parser_classes([MultiPartParser])
def responses_view(request: Request) -> Response:
    """A response .DBF, loaded as from the page's "Загрузить" (an МО admin only for own МО)."""
    workplace = _admin_workplace(request)
    upload = request.FILES.get("file")
    if upload is None:
        return Response({"detail": "Приложите файл ответа (.DBF) в поле file."}, status=400)
    if upload.size is not None and upload.size > settings.UPLOAD_MAX_FILE_BYTES:
        return Response({"detail": "Файл слишком велик."}, status=413)
    name = upload.name or ""
    try:
        result = identification_response_load(
            file_name=name, data=upload.read(), only_mo=None if workplace.sees_all_mo else workplace.mo
        )
    except ResponseRefused as exc:
        audit_record(
            action=AuditAction.UPLOAD,
            request=request._request,
            outcome=f"отказ: {exc}"[:250],
            details={"file": name, "api": True},
        )
        return Response({"detail": str(exc)}, status=400)
    audit_record(
        action=AuditAction.UPLOAD,
        request=request._request,
        obj=result.package,
        details={"file": name, "api": True, "summary": result.summary},
    )
    errors = list(
        result.package.records.filter(status="not_identified")
        .exclude(error_text="")
        .values_list("error_text", flat=True)[:200]
    )
    return Response(
        {
            "package": result.package.name,
            "matched": result.identified + result.not_identified,
            "identified": result.identified,
            "not_identified": result.not_identified,
            "no_data": result.no_data,
            "unmatched_rows": result.unmatched,
            "errors": errors,
        }
    )


@extend_schema(
    request=None,
    responses={
        202: inline_serializer(
            "OnlineCall", {"id": serializers.IntegerField(), "state": serializers.CharField()}
        ),
        403: OpenApiResponse(description="АРМ без права идентификации"),
        404: OpenApiResponse(description="пациент другой МО"),
    },
    summary="Идентифицировать онлайн (запрос PERS в ТФОМС); ответ — GET /api/v1/rpc/{id}/",
)
@api_view(["POST"])
@permission_classes([HasWorkplace])
def identify_online_api_view(request: Request, person_id: int) -> Response:
    workplace = _admin_workplace(request)
    person = get_scoped_or_404(Person.objects.all(), workplace, pk=person_id)
    call = identify_online_start(person=person, mo=workplace.mo, user=request.user)
    audit_record(
        action=AuditAction.IDENTIFY_REQUEST, request=request._request, obj=person, details={"api": True}
    )
    return Response({"id": call.pk, "state": call.state}, status=202)
