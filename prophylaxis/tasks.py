"""Celery tasks of the prophylaxis plans."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth.models import User

from servicelog.models import ServiceRun

from .models import ProphylaxisPlan
from .plans import plan_send_carry_out


@shared_task(name="prophylaxis.send_plan", ignore_result=True)
def send_plan(plan_id: int, run_id: int, candidates: int, user_id: int | None) -> None:
    """The forming of a plan's send started by "Отправить" (its run was opened by the page)."""
    plan = ProphylaxisPlan.objects.select_related("mo").get(pk=plan_id)
    opened = ServiceRun.objects.select_related("service", "mo").get(pk=run_id)
    user = User.objects.filter(pk=user_id).first() if user_id else None
    plan_send_carry_out(plan=plan, opened=opened, candidates=candidates, user=user)
