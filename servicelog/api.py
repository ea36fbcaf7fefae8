"""Journal API under /api/v1/servicelog/ (E6 of issue 6): the same selectors, services and scoping."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import api_workplace, parse_id
from registry.models import ADMIN_ROLES

from .audit import audit_record
from .models import AuditAction
from .selectors import (
    PackageFilter,
    journal_runs,
    package_get,
    package_search,
    run_package_counts,
    service_get,
    services_visible,
)
from .serializers import (
    DoNotSendSerializer,
    PackageDetailSerializer,
    PackageSerializer,
    RunSerializer,
    ServiceSerializer,
)
from .services import (
    PackageActionRefused,
    RunRefused,
    package_do_not_send,
    package_resend,
    run_start,
)

ADMINS = ADMIN_ROLES


def _require_admin(request: Request) -> None:
    workplace = api_workplace(request)
    if workplace is None or workplace.role not in ADMINS:
        raise PermissionDenied("В АРМ медицинского статистика журнал доступен только для чтения.")


class ServiceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ServiceSerializer
    lookup_field = "code"
    pagination_class = None

    def get_queryset(self) -> Any:
        return services_visible(api_workplace(self.request))

    @extend_schema(request=None, responses={202: RunSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, code: str) -> Response:
        _require_admin(request)
        workplace = api_workplace(request)
        assert workplace is not None
        service = service_get(workplace, code)
        if not service.manual_start:
            return Response({"detail": f"Сервис «{service.name}» не запускается вручную."}, status=400)
        user = request.user if request.user.is_authenticated else None
        try:
            run = run_start(
                code,
                mo=None if workplace.sees_all_mo else workplace.mo,
                user=user,  # type: ignore[arg-type]
                opened_hook=lambda opened: audit_record(
                    action=AuditAction.MANUAL_START, request=request._request, obj=opened
                ),
            )
        except RunRefused as exc:
            audit_record(
                action=AuditAction.MANUAL_START,
                request=request._request,
                obj=service,
                outcome=f"отказ: {exc}"[:250],
            )
            return Response({"detail": str(exc)}, status=409)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RunViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """`?service=CODE` (required) `&mo=MCOD`; counts are of the packages the caller may see."""

    serializer_class = RunSerializer

    def get_queryset(self) -> Any:
        workplace = api_workplace(self.request)
        code = self.request.query_params.get("service", "")
        if not code:
            raise ValidationError({"service": "Укажите сервис: ?service=код (например, tfoms_auto)."})
        runs = journal_runs(workplace=workplace, service=service_get(workplace, code))
        mo = self.request.query_params.get("mo", "")
        return runs.filter(mo__code=mo) if mo else runs

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        runs = list(page or [])
        counts = run_package_counts(workplace=api_workplace(request), run_ids=[r.pk for r in runs])
        for run in runs:
            run.packages_total, run.packages_with_errors = counts.get(run.pk, (0, 0))  # type: ignore[attr-defined]
        return self.get_paginated_response(RunSerializer(runs, many=True).data)


class PackageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """`?status=&type=&run=&q=` (q: ФИО, ЕНП or СНИЛС) and the other filters of the search page."""

    serializer_class = PackageSerializer

    def get_queryset(self) -> Any:
        filters = PackageFilter.from_params(self.request.query_params)
        if filters.period_error:
            raise ValidationError({"date_from": [filters.period_error]})
        return package_search(workplace=api_workplace(self.request), filters=filters)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        package = self._package(kwargs["pk"])
        audit_record(action=AuditAction.PACKAGE_DATA_VIEWED, request=request._request, obj=package)
        return Response(PackageDetailSerializer(package).data)

    def _package(self, pk: Any) -> Any:
        package_id = parse_id(pk)
        if package_id is None:
            raise Http404
        return package_get(workplace=api_workplace(self.request), package_id=package_id)

    @extend_schema(request=DoNotSendSerializer, responses={200: PackageSerializer})
    @action(detail=True, methods=["post"], url_path="do-not-send")
    def do_not_send(self, request: Request, pk: str) -> Response:
        package = self._package(pk)
        _require_admin(request)
        body = DoNotSendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user if request.user.is_authenticated else None
        try:
            package = package_do_not_send(
                package=package,
                value=body.validated_data["value"],
                user=user,  # type: ignore[arg-type]
                reason=body.validated_data.get("reason", ""),
            )
        except PackageActionRefused as exc:
            return Response({"detail": str(exc)}, status=409)
        audit_record(
            action=AuditAction.DO_NOT_SEND,
            request=request._request,
            obj=package,
            details={"value": body.validated_data["value"]},
        )
        return Response(PackageSerializer(package).data)

    @extend_schema(request=None, responses={200: PackageSerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str) -> Response:
        package = self._package(pk)
        _require_admin(request)
        user = request.user if request.user.is_authenticated else None
        try:
            package = package_resend(package=package, user=user)  # type: ignore[arg-type]
        except PackageActionRefused as exc:
            return Response({"detail": str(exc)}, status=409)
        audit_record(action=AuditAction.RESEND, request=request._request, obj=package)
        return Response(PackageSerializer(package).data)
