"""Pages of the fund's packages about persons: "Объединённые записи ТФОМС" (C7, DOUBLES) for the ЦОД
admin, and the person card's list of the fund's packages about them."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render

from audit.models import AuditAction
from audit.services import audit_record
from servicelog.models import Direction, Package

from .access import WorkplaceRequest, scope, workplace_required
from .fund_formats import XSD
from .models import FundMerge, Person, Policy, Role, Workplace

FUND_TYPES = tuple(XSD)  # the fund's package types about persons


def _persons(ids: set[int]) -> dict[int, Person]:
    """Both sides of the listed pairs with what tells them apart, in a fixed number of queries."""
    policies = Prefetch("policies", queryset=Policy.objects.select_related("smo").order_by("-valid_from"))
    persons = Person.objects.filter(pk__in=ids).prefetch_related("documents", policies, "attachments__mo")
    return {person.pk: person for person in persons}


@workplace_required(Role.DC_ADMIN)
def fund_merges_view(request: WorkplaceRequest) -> HttpResponse:
    """The fund's merged records, possible duplicates first: both cards side by side, nothing merged
    automatically (manual §4.2 "объединённые записи пациентов")."""
    only = request.GET.get("outcome", FundMerge.Outcome.POSSIBLE_DUPLICATE)
    merges = FundMerge.objects.all()
    if only in FundMerge.Outcome.values:
        merges = merges.filter(outcome=only)
    page = Paginator(merges.order_by("-received_at", "-id"), 20).get_page(request.GET.get("page"))
    rows = list(page)
    persons = _persons({pk for row in rows for pk in (row.person_id, row.duplicate_id) if pk})
    shown = [pk for row in rows for pk in (row.person_id, row.duplicate_id) if pk]
    audit_record(
        action=AuditAction.PERSON_VIEWED,
        request=request,
        details={"page": "Объединённые записи ТФОМС", "persons": shown},
    )  # personal data of many persons side by side
    context: dict[str, Any] = {
        "page": page,
        "rows": [(row, persons.get(row.person_id or 0), persons.get(row.duplicate_id or 0)) for row in rows],
        "outcomes": FundMerge.Outcome.choices,
        "only": only,
    }
    return render(request, "registry/fund_merges.html", context)


def person_fund_packages(person: Person, workplace: Workplace | None) -> dict[str, Any]:
    """The card's section: the fund's packages about this person the viewer may see."""
    packages = scope(
        Package.objects.filter(direction=Direction.IN, package_type__in=FUND_TYPES, object_id=str(person.pk)),
        workplace,
    ).order_by("-created_at", "-id")[:50]
    return {"packages": list(packages)}
