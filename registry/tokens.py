"""API tokens without a browser first (issue 15 item 12): django-rest-knox tokens bound to a workplace.

`POST /api/v1/auth/token/` {username, password[, workplace]} gives a token that acts in one workplace:
the one named, else the only one the user has, else their default; a user with several and no
choice gets a 400 that lists them. Tokens are stored hashed and expire (API_TOKEN_TTL_HOURS). A user
lists and revokes their own (`GET/DELETE /api/v1/auth/tokens/…`, `POST /api/v1/auth/logout/`); the
ЦОД admin anyone's. `GET /api/v1/me/` says who and where the caller is.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditAction
from audit.services import audit_record
from registry.access import api_workplace, default_workplace, parse_id, user_workplaces

from .auth import login_check
from .forms import LoginForm
from .models import ApiToken, Role, Workplace


class WorkplaceOut(serializers.ModelSerializer):
    role_title = serializers.CharField(source="get_role_display")
    mo = serializers.CharField(source="mo.code")
    mo_name = serializers.CharField(source="mo.name_short")

    class Meta:
        model = Workplace
        fields = ["id", "role", "role_title", "mo", "mo_name", "unit", "post"]


class TokenOut(serializers.ModelSerializer):
    id = serializers.CharField(source="token_key")
    username = serializers.CharField(source="user.username")
    workplace = WorkplaceOut()

    class Meta:
        model = ApiToken
        fields = ["id", "username", "workplace", "created", "expiry"]


def _chosen_workplace(user: User, requested: Any) -> tuple[Workplace | None, list[Workplace]]:
    offered = list(user_workplaces(user).order_by("mo__code", "role"))
    if requested not in (None, ""):
        wanted = parse_id(str(requested))
        return next((w for w in offered if w.pk == wanted), None), offered
    if len(offered) == 1:
        return offered[0], offered
    default = default_workplace(user)
    return (default if default in offered else None), offered


@extend_schema(
    request=inline_serializer(
        "TokenRequest",
        {
            "username": serializers.CharField(),
            "password": serializers.CharField(),
            "workplace": serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1),
        },
    ),
    responses={
        200: inline_serializer(
            "TokenResponse",
            {
                "token": serializers.CharField(),
                "expiry": serializers.DateTimeField(),
                "workplace": WorkplaceOut(),
            },
        ),
        400: inline_serializer(
            "TokenRefused",
            # the workplaces only when the user has several and named none of them
            {"detail": serializers.CharField(), "workplaces": WorkplaceOut(many=True, required=False)},
        ),
    },
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def token_view(request: Request) -> Response:
    data = request.data if isinstance(request.data, dict) else {}
    form = LoginForm(data)
    if not form.is_valid():
        return Response({"detail": "Введите имя пользователя и пароль.", "errors": form.errors}, status=400)
    result = login_check(request._request, **form.cleaned_data)
    if result.user is None:
        return Response({"detail": result.error}, status=400)
    workplace, offered = _chosen_workplace(result.user, data.get("workplace"))
    if workplace is None:
        detail = (
            "Место работы с этим идентификатором пользователю недоступно."
            if data.get("workplace") not in (None, "")
            else "У пользователя несколько мест работы: укажите нужное в поле «workplace»."
        )
        if not offered:
            detail = "У пользователя нет действующего места работы в портале."
        return Response({"detail": detail, "workplaces": WorkplaceOut(offered, many=True).data}, status=400)
    token, key = ApiToken.objects.create(user=result.user, workplace=workplace)
    audit_record(action=AuditAction.TOKEN_ISSUED, request=request._request, user=result.user, obj=workplace)
    return Response({"token": key, "expiry": token.expiry, "workplace": WorkplaceOut(workplace).data})


@extend_schema(
    responses=inline_serializer(
        "Me",
        {
            "username": serializers.CharField(),
            "full_name": serializers.CharField(),
            "workplace": WorkplaceOut(),
            "token_expiry": serializers.DateTimeField(allow_null=True),
        },
    )
)
@api_view(["GET"])
def me_view(request: Request) -> Response:
    token = request.auth if isinstance(request.auth, ApiToken) else None
    return Response(
        {
            "username": request.user.get_username(),
            "full_name": request.user.get_full_name(),  # type: ignore[union-attr]
            "workplace": WorkplaceOut(api_workplace(request)).data,
            "token_expiry": token.expiry if token else None,
        }
    )


def _tokens_visible(request: Request) -> QuerySet[ApiToken]:
    live = Q(expiry__gt=timezone.now()) | Q(expiry__isnull=True)
    tokens = ApiToken.objects.select_related("user", "workplace__mo").filter(live)
    workplace = api_workplace(request)
    if workplace is not None and workplace.role == Role.DC_ADMIN:
        username = request.query_params.get("user", "")
        return tokens.filter(user__username=username) if username else tokens
    return tokens.filter(user=request.user)


@extend_schema(responses=TokenOut(many=True))
@api_view(["GET"])
def tokens_view(request: Request) -> Response:
    """The caller's live tokens (the ЦОД admin: everyone's, `?user=` narrows)."""
    return Response(TokenOut(_tokens_visible(request).order_by("-created")[:500], many=True).data)


@extend_schema(request=None, responses={204: None, 404: None})
@api_view(["DELETE"])
def token_revoke_view(request: Request, key: str) -> Response:
    """Revoke a token by its id (the first characters of the token, as listed): one's own, or any for
    the ЦОД admin; another user's token is not found."""
    tokens = list(_tokens_visible(request).filter(token_key=key))
    if not tokens:
        raise Http404
    for token in tokens:
        audit_record(
            action=AuditAction.TOKEN_REVOKED,
            request=request._request,
            obj=token.workplace,
            details={"token": f"{token.token_key}…", "user": token.user.get_username()},
        )
        token.delete()
    return Response(status=204)


@extend_schema(request=None, responses={204: None})
@api_view(["POST"])
def logout_view(request: Request) -> Response:
    """Revoke the token of this call."""
    if isinstance(request.auth, ApiToken):
        audit_record(
            action=AuditAction.TOKEN_REVOKED,
            request=request._request,
            obj=request.auth.workplace,
            details={"token": f"{request.auth.token_key}…", "user": request.user.get_username()},
        )
        request.auth.delete()
    return Response(status=204)
