"""The pane of one online request to the fund: polled every second while it waits (DESIGN §3 RPC)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from registry.access import WorkplaceRequest, get_scoped_or_404, parse_id, workplace_required

from .models import RpcCall
from .rpc import get_rpc_kind, rpc_refresh

POLL_SECONDS = 1


def rpc_call_pane(request: WorkplaceRequest, call: RpcCall, **context: object) -> HttpResponse:
    """The call's pane as its kind draws it; it asks again every second while the call is in flight."""
    call = rpc_refresh(call)
    kind = get_rpc_kind(call.kind)
    extra = kind.context(call) if kind.context is not None else {}
    return render(request, kind.template, {"call": call, "poll_seconds": POLL_SECONDS, **extra, **context})


@workplace_required()
def rpc_call_view(request: WorkplaceRequest, call_id: str) -> HttpResponse:
    call = get_scoped_or_404(
        RpcCall.objects.select_related("mo", "package"), request.workplace, pk=parse_id(call_id)
    )
    return rpc_call_pane(request, call)
