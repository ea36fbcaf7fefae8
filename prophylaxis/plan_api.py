"""/api/v1/prophylaxis/: plans and their persons, a plan's DISPPLAN send, the order-88 export, the
fund's error reply (C3, D2, D3) — the page's actions without a browser, scoped like the page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditAction
from audit.services import audit_record
from registry.access import HasWorkplace, api_workplace, scope
from registry.models import Smo, Workplace

from .models import PlanPerson, ProphylaxisPlan
from .plan_replies import error_reply_load
from .plan_views import SENDERS, VIEWERS
from .plans import (
    ExportRequest,
    PlanRefused,
    exports_bundle,
    plan_send,
    plans_export,
)
from .selectors import plan_counts

STATUSES = PlanPerson.Status


def _workplace(request: Request, roles: tuple[str, ...] = VIEWERS) -> Workplace:
    workplace = api_workplace(request)
    if workplace is None or workplace.role not in roles:
        raise PermissionDenied("Действие недоступно в вашем АРМ.")
    return workplace


def _status(request: Request) -> str:
    status = request.query_params.get("status", "")
    if status and status not in STATUSES.values:
        raise ValidationError({"status": [f"Допустимые значения: {', '.join(STATUSES.values)}."]})
    return status


class PlanSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    mo = serializers.CharField(source="mo.code")
    kind = serializers.CharField()
    kind_display = serializers.CharField(source="get_kind_display")
    period = serializers.CharField(source="period_title")
    year = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())


class PlanPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    person = serializers.IntegerField(source="person_id")
    person_name = serializers.CharField(source="person.full_name")
    quarter = serializers.IntegerField(allow_null=True)
    smo = serializers.CharField(source="smo.code", allow_null=True, default=None)
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    error_code = serializers.CharField()
    error_text = serializers.CharField()


@extend_schema(
    parameters=[
        OpenApiParameter("status", str, enum=list(STATUSES.values), description="планы с записями в статусе")
    ],
    responses={200: PlanSerializer(many=True), 400: OpenApiResponse(description="неверный статус")},
)
@api_view(["GET"])
@permission_classes([HasWorkplace])
def plans_view(request: Request) -> Response:
    """Планы МО пользователя (ЦОД — всех МО) с числом записей по статусам."""
    workplace = _workplace(request)
    status = _status(request)
    plans = scope(ProphylaxisPlan.objects.select_related("mo"), workplace).order_by("mo__code", "-year", "pk")
    if status:
        plans = plans.filter(persons__status=status).distinct()
    rows = list(plans[:500])
    counts = plan_counts(rows)
    for plan in rows:
        plan.counts = {code: counts[plan.pk].get(code, 0) for code in STATUSES.values}  # type: ignore[attr-defined]
    return Response(PlanSerializer(rows, many=True).data)


@extend_schema(
    parameters=[OpenApiParameter("status", str, enum=list(STATUSES.values))],
    responses={200: PlanPersonSerializer(many=True), 404: OpenApiResponse(description="план другой МО")},
)
@api_view(["GET"])
@permission_classes([HasWorkplace])
def plan_persons_view(request: Request, plan_id: int) -> Response:
    """Люди в плане с их статусами и ошибками ТФОМС."""
    workplace = _workplace(request)
    plan = get_object_or_404(scope(ProphylaxisPlan.objects.all(), workplace), pk=plan_id)
    persons = plan.persons.select_related("person", "smo").order_by("pk")
    status = _status(request)
    if status:
        persons = persons.filter(status=status)
    return Response(PlanPersonSerializer(persons, many=True).data)


@extend_schema(
    request=None,
    responses={
        200: inline_serializer(
            "PlanSendResult",
            {
                "run": serializers.IntegerField(),
                "formed": serializers.IntegerField(),
                "form_errors": serializers.IntegerField(),
                "unchanged": serializers.IntegerField(),
                "archive": serializers.CharField(allow_null=True),
            },
        ),
        404: OpenApiResponse(description="план другой МО"),
        409: OpenApiResponse(description="предыдущий пакет в пути или нечего отправлять"),
    },
)
@api_view(["POST"])
@permission_classes([HasWorkplace])
def plan_send_view(request: Request, plan_id: int) -> Response:
    """«Отправить»: пакет DISPPLAN плана (по сообщению на человека)."""
    workplace = _workplace(request, SENDERS)
    plan = get_object_or_404(scope(ProphylaxisPlan.objects.select_related("mo"), workplace), pk=plan_id)
    try:
        result = plan_send(plan=plan, user=request.user)
    except PlanRefused as exc:
        return Response({"detail": str(exc)}, status=409)
    audit_record(action=AuditAction.MANUAL_START, request=request._request, obj=plan, details={"api": True})
    return Response(
        {
            "run": result.run.pk,
            "formed": result.formed,
            "form_errors": result.form_errors,
            "unchanged": result.unchanged,
            "archive": f"{result.archive.file_name}.zip" if result.archive else None,
        }
    )


class ExportRequestSerializer(serializers.Serializer):
    # ids as the database holds them: a larger number is a 400, not a database error
    plans = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), min_length=1
    )
    smo = serializers.ListField(child=serializers.CharField(max_length=5), required=False, default=list)
    month = serializers.IntegerField(min_value=1, max_value=12)
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    # Квартал загрузки as the form offers it (manual §4.5.2.1.3): 2, 3 or 4, or none.
    quarter = serializers.ChoiceField(choices=[2, 3, 4], required=False, allow_null=True, default=None)
    number = serializers.IntegerField(min_value=1, max_value=9)


@extend_schema(
    request=ExportRequestSerializer,
    responses={
        (200, "application/zip"): OpenApiResponse(description="ZIP экспорта (ZIP из ZIP при нескольких СМО)"),
        400: OpenApiResponse(description="неверные поля, номер пакета занят, нет записей"),
        404: OpenApiResponse(description="план другой МО"),
    },
)
@api_view(["POST"])
@parser_classes([JSONParser])
@permission_classes([HasWorkplace])
def exports_view(request: Request) -> HttpResponse | Response:
    """Экспорт по приказу № 88: файлы PROF выбранных планов."""
    workplace = _workplace(request)
    body = ExportRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    data: dict[str, Any] = body.validated_data
    wanted = set(data["plans"])
    plans = list(scope(ProphylaxisPlan.objects.select_related("mo"), workplace).filter(pk__in=wanted))
    if len(plans) != len(wanted) or len({p.mo_id for p in plans}) != 1:
        raise Http404
    smos = list(Smo.objects.filter(code__in=data["smo"], is_active=True))
    if len(smos) != len(set(data["smo"])):
        raise ValidationError({"smo": ["Неизвестный код СМО."]})
    export_request = ExportRequest(plans, smos, data["month"], data["year"], data["quarter"], data["number"])
    try:
        result = plans_export(mo=plans[0].mo, request=export_request, user=request.user)
    except PlanRefused as exc:
        return Response({"detail": str(exc)}, status=400)
    audit_record(
        action=AuditAction.EXPORT,
        request=request._request,
        details={"files": [e.file_name for e in result.exports], "api": True},
    )
    name, content = exports_bundle(result.exports)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@extend_schema(
    request={
        "multipart/form-data": {
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary"}},
        }
    },
    responses={
        200: inline_serializer(
            "PlanErrorReplyResult",
            {
                "export": serializers.CharField(),
                "accepted": serializers.IntegerField(),
                "errors": serializers.IntegerField(),
                "unknown_records": serializers.ListField(child=serializers.IntegerField()),
            },
        ),
        400: OpenApiResponse(description="файл не принят (причина в detail)"),
        413: OpenApiResponse(description="файл слишком велик"),
    },
)
@api_view(["POST"])
@parser_classes([MultiPartParser])
@permission_classes([HasWorkplace])
def error_replies_view(request: Request) -> Response:
    """Ответ ТФОМС OSHIB_PR (zip или xml, «ERR» в имени); АРМ администратора МО и ЦОД."""
    workplace = _workplace(request, SENDERS)
    upload = request.FILES.get("file")
    if upload is None:
        return Response({"detail": "Приложите файл ответа ТФОМС в поле file."}, status=400)
    if upload.size is not None and upload.size > settings.UPLOAD_MAX_FILE_BYTES:
        return Response({"detail": "Файл слишком велик."}, status=413)
    name = upload.name or "file"
    try:
        result = error_reply_load(
            mo=None if workplace.sees_all_mo else workplace.mo,
            name=name,
            data=upload.read(),
            user=request.user,
        )
    except PlanRefused as exc:
        return Response({"detail": str(exc)}, status=400)
    audit_record(
        action=AuditAction.UPLOAD, request=request._request, obj=result.export, details={"api": True}
    )
    return Response(
        {
            "export": result.export.file_name,
            "accepted": result.accepted,
            "errors": result.errors,
            "unknown_records": result.unknown,
        }
    )
