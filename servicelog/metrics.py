"""`/metrics` for the engineer on call (issue 16 item 4), in the Prometheus text format.

Read from the database on each scrape (a custom collector, so every web process answers the same and
nothing is kept in process memory): packages by service and status, the relay's lag (the age of the
oldest package due to be sent), answers overdue, runs and online requests of the last day by result,
the messages waiting in the fund's queues for our consumer. Open to the ЦОД admin's session, or to a
scraper sending `Authorization: Bearer <TFOMS_METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tfoms_portal import messaging

from .models import Operation, Package, PackageStatus, RpcCall, ServiceRun
from .relay import relay_due

S = PackageStatus


def relay_lag_seconds() -> float:
    """How long the oldest package the relay could send now has waited (0 when none waits). A key
    held by a package whose retries are over waits for a person, not for the relay: that package
    shows in tfoms_packages{status="send_error"}, and it must not make /healthz fail for ever."""
    now = timezone.now()
    held = Package.objects.filter(
        ordering_key=OuterRef("ordering_key"), status=S.SEND_ERROR, next_attempt_at__isnull=True
    )
    due = Package.objects.filter(relay_due(now)).exclude(Exists(held))
    oldest = due.aggregate(oldest=Min("status_changed_at"))["oldest"]
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


class PortalCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        packages = GaugeMetricFamily(
            "tfoms_packages", "Packages by service and status (Статус пакета)", labels=["service", "status"]
        )
        rows = Package.objects.values("service__code", "status").annotate(n=Count("pk")).order_by()
        for row in rows:
            packages.add_metric([row["service__code"], row["status"]], row["n"])
        yield packages

        yield GaugeMetricFamily(
            "tfoms_relay_lag_seconds", "Age of the oldest package due to be sent", value=relay_lag_seconds()
        )

        overdue_since = timezone.now() - timedelta(hours=settings.TFOMS_REPLY_OVERDUE_HOURS)
        overdue = (
            Package.objects.filter(status=S.SENT, status_changed_at__lt=overdue_since)
            .exclude(operation=Operation.QUERY)  # an online request's silence is its call's «Нет ответа»
            .count()
        )
        yield GaugeMetricFamily(
            "tfoms_answers_overdue", "Packages sent longer ago than TFOMS_REPLY_OVERDUE_HOURS", value=overdue
        )

        runs = GaugeMetricFamily(
            "tfoms_runs_last_day",
            "Service runs started in the last 24 h by result",
            labels=["service", "result"],
        )
        since = timezone.now() - timedelta(days=1)
        run_rows = (
            ServiceRun.objects.filter(started_at__gte=since)
            .values("service__code", "result")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for run_row in run_rows:
            runs.add_metric([run_row["service__code"], run_row["result"]], run_row["n"])
        yield runs

        calls = GaugeMetricFamily(
            "tfoms_rpc_calls_last_day",
            "Online requests to the fund (free beds, online identification) of the last 24 h by outcome",
            labels=["kind", "state", "late"],
        )
        call_rows = (
            RpcCall.objects.filter(created_at__gte=since)
            .values("kind", "state", "late")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for call_row in call_rows:
            calls.add_metric(
                [call_row["kind"], call_row["state"], str(call_row["late"]).lower()], call_row["n"]
            )
        yield calls

        waiting = GaugeMetricFamily(
            "tfoms_broker_queue_messages",
            "Messages waiting in the fund's queues for our consumer (-1: the broker cannot say)",
            labels=["queue"],
        )
        backend = messaging.get_backend()
        for logical in (messaging.TO_MIS_ANSWER, messaging.TO_MIS):
            name = messaging.queue_name(logical)
            depth = backend.queue_depth(name)
            waiting.add_metric([name], -1 if depth is None else depth)
        yield waiting


def _allowed(request: HttpRequest) -> bool:
    token = settings.TFOMS_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").strip(), token)
    workplace = getattr(request, "workplace", None)
    return bool(request.user.is_authenticated and workplace is not None and workplace.sees_all_mo)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404  # as any page another workplace may not see
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    return HttpResponse(generate_latest(registry), content_type="text/plain; version=0.0.4; charset=utf-8")
