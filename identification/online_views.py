"""«Идентифицировать онлайн» on the person's card (B8): the call's pane, polled until it ends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.models import AuditAction
from audit.services import audit_record
from registry.access import WorkplaceRequest, get_scoped_or_404, scope, workplace_required
from registry.models import ADMIN_ROLES, Person, Workplace
from servicelog.models import RpcCall
from servicelog.rpc import rpc_refresh
from servicelog.rpc_views import POLL_SECONDS, rpc_call_pane

from .online import KIND, identify_online_start

RECENT = dt.timedelta(hours=1)  # the card keeps showing the last answer this long


@require_POST
@workplace_required(*ADMIN_ROLES)
def identify_online_view(request: WorkplaceRequest, person_id: int) -> HttpResponse:
    workplace = request.workplace
    assert workplace is not None
    person = get_scoped_or_404(Person.objects.all(), workplace, pk=person_id)
    call = identify_online_start(person=person, mo=workplace.mo, user=request.user)
    audit_record(action=AuditAction.IDENTIFY_REQUEST, request=request, obj=person)
    if request.htmx:
        return rpc_call_pane(request, call)
    return redirect(reverse("person_card", args=[person.pk]) + "#online-identification")


def online_section(person: Person, workplace: Workplace | None) -> dict[str, Any]:
    """The card's top: the button for the admins and the person's latest online call of the hour."""
    calls = scope(RpcCall.objects.filter(kind=KIND, subject=str(person.pk)), workplace)
    latest = calls.filter(created_at__gte=timezone.now() - RECENT).select_related("mo").first()
    return {
        "call": rpc_refresh(latest) if latest is not None else None,
        "can_ask": workplace is not None and workplace.role in ADMIN_ROLES,
        "poll_seconds": POLL_SECONDS,
        "timeout": int(settings.TFOMS_RPC_IDENTIFY_SECONDS),
    }
