"""The person's card: "Отправить прикрепление в ТФОМС" for one patient, at once (C4)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from registry.models import Attachment, Person, Role, Workplace
from registry.selectors import person_card
from servicelog.audit import audit_record
from servicelog.models import AuditAction, PackageStatus
from servicelog.services import RunRefused
from tfoms_portal.access import WorkplaceRequest, scope, workplace_required

from .services import attachment_package_type, person_attachment_send

SENDERS = (Role.DC_ADMIN, Role.MO_ADMIN)


def person_attachment_section(person: Person, workplace: Workplace | None) -> dict[str, Any]:
    from servicelog.models import Package

    attachment_ids = [
        str(pk)
        for pk in scope(Attachment.objects.filter(person=person), workplace).values_list("pk", flat=True)
    ]
    packages = Package.objects.filter(
        package_type=attachment_package_type(), object_id__in=attachment_ids
    ).order_by("-id")[:10]
    return {
        "can_send": workplace is not None and workplace.role in SENDERS and bool(attachment_ids),
        "packages": list(packages),
        "accepted": PackageStatus.ACCEPTED,
    }


@require_POST
@workplace_required(*SENDERS)
def person_attachment_send_view(request: WorkplaceRequest, person_id: int) -> HttpResponse:
    card = person_card(workplace=request.workplace, person_id=person_id)  # 404 for another МО's person
    workplace = request.workplace
    assert workplace is not None
    user = request.user if request.user.is_authenticated else None
    try:
        run = person_attachment_send(person=card.person, mo=workplace.mo, user=user)
    except RunRefused as exc:
        messages.error(request, str(exc))
        return redirect("person_card", person_id=card.person.pk)
    audit_record(
        action=AuditAction.MANUAL_START, request=request, obj=run, details={"person": card.person.pk}
    )
    formed = run.packages.count()
    messages.success(
        request,
        f"Сформировано пакетов о прикреплении: {formed}. Их статусы — в «Журнале работы сервисов»."
        if formed
        else "ТФОМС уже знает прикрепления этого пациента к вашей МО: новых пакетов не нужно.",
    )
    return redirect("person_card", person_id=card.person.pk)
