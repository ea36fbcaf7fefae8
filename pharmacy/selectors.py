"""What each directory for ИС Фармация holds today: items (code, name, fields) in code order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db.models import Q

from registry.models import Mo, NsiEntry, Site, Smo, Staff, Subdivision

from .formats import Item
from .models import Directory


def _mo_items(today: dt.date) -> list[Item]:
    return [
        {
            "code": mo.code,
            "name": mo.name_short,
            "fields": {"name_full": mo.name_full, "ogrn": mo.ogrn, "oid": mo.oid},
        }
        for mo in Mo.objects.filter(is_active=True).order_by("code")
    ]


def _subdivision_items(today: dt.date) -> list[Item]:
    open_ = Q(date_close__isnull=True) | Q(date_close__gte=today)
    rows = (
        Subdivision.objects.filter(open_, mo__is_active=True)
        .select_related("mo")
        .order_by("mo__code", "code")
    )
    return [
        {
            "code": f"{s.mo.code}-{s.code}",
            "name": s.name,
            "fields": {"mo": s.mo.code, "kind": s.get_kind_display(), "address": s.address, "phone": s.phone},
        }
        for s in rows
    ]


def _staff_items(today: dt.date) -> list[Item]:
    rows = Staff.objects.filter(mo__is_active=True).select_related("mo").order_by("mo__code", "pk")
    return [
        {
            "code": str(s.pk),
            "name": " ".join(p for p in (s.last_name, s.first_name, s.middle_name) if p),
            "fields": {
                "mo": s.mo.code,
                "snils": s.snils,
                "post": s.get_post_type_display(),
                "prescribes": "да" if s.post_type == Staff.PostType.DOCTOR else "нет",
            },
        }
        for s in rows
    ]


def _site_items(today: dt.date) -> list[Item]:
    live = Q(date_end__isnull=True) | Q(date_end__gte=today)
    rows = Site.objects.filter(live, mo__is_active=True, date_begin__lte=today).select_related("mo", "doctor")
    return [
        {
            "code": f"{s.mo.code}-{s.number}",
            "name": f"Участок № {s.number}",
            "fields": {
                "mo": s.mo.code,
                "type": s.get_site_type_display(),
                "doctor_snils": s.doctor.snils if s.doctor else "",
                "date_begin": s.date_begin.isoformat(),
            },
        }
        for s in rows.order_by("mo__code", "number")
    ]


def _smo_items(today: dt.date) -> list[Item]:
    return [
        {"code": smo.code, "name": smo.name_short, "fields": {"name_full": smo.name_full, "ogrn": smo.ogrn}}
        for smo in Smo.objects.filter(is_active=True).order_by("code")
    ]


def _nsi(directory: str) -> Callable[[dt.date], list[Item]]:
    def items(today: dt.date) -> list[Item]:
        valid = (Q(date_begin__isnull=True) | Q(date_begin__lte=today)) & (
            Q(date_end__isnull=True) | Q(date_end__gte=today)
        )
        return [
            {
                "code": e.code,
                "name": e.name,
                "fields": {"date_begin": e.date_begin.isoformat() if e.date_begin else ""},
            }
            for e in NsiEntry.objects.filter(valid, directory=directory).order_by("code")
        ]

    return items


DIRECTORY_ITEMS: dict[str, Callable[[dt.date], list[Item]]] = {
    Directory.MO: _mo_items,
    Directory.SUBDIVISIONS: _subdivision_items,
    Directory.STAFF: _staff_items,
    Directory.SITES: _site_items,
    Directory.F002: _smo_items,
    Directory.F008: _nsi("F008"),
    Directory.F011: _nsi("F011"),
    Directory.V005: _nsi("V005"),
}
