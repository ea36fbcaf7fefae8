"""Writing a referral in the portal (SPEC C2): saved with the next number of its МО's year, then the
order-263 service of that МО runs at once, so its HOSPITALISATION_REFERRAL goes to the fund."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from registry.models import Mo, Person
from servicelog.models import RunTrigger
from servicelog.runs import RunRefused, run_start

from .models import Referral
from .services import SERVICE

logger = logging.getLogger(__name__)


def _next_number(mo: Mo, year: int) -> int:
    last = Referral.objects.filter(mo=mo, referral_date__year=year).aggregate(n=Max("number"))["n"]
    return (last or 0) + 1


def referral_create(*, mo: Mo, person: Person, fields: dict[str, Any]) -> Referral:
    """Save a referral numbered after the МО's last one of the year (a number taken at the same
    moment by another writer: the next one)."""
    for _ in range(5):
        try:
            with transaction.atomic():
                number = _next_number(mo, fields["referral_date"].year)
                return Referral.objects.create(mo=mo, person=person, number=number, **fields)
        except IntegrityError:
            continue
    raise RuntimeError("referral number not allocated after 5 attempts")


def referral_send_now(*, referral: Referral, user: Any) -> str:
    """Start the order-263 service for the referral's МО in the background; what the page says."""
    try:
        run_start(SERVICE, mo=referral.mo, user=user, trigger=RunTrigger.EVENT)
    except RunRefused as exc:  # a run of that МО works already: the next one takes the referral
        return f"Пакет направления будет сформирован следующим запуском сервиса. {exc}"
    return "Сервис сопровождения застрахованных лиц (263 приказ) запущен: пакет направления формируется."
