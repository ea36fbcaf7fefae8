"""The person's card: "Отправить прикрепление в ТФОМС" for one patient, at once (C4)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from audit.models import AuditAction
from audit.services import audit_record
from registry.access import WorkplaceRequest, workplace_required
from registry.models import ADMIN_ROLES, Person, Workplace
from registry.selectors import person_card
from servicelog.services import RunRefused

from .selectors import person_attachment_packages
from .services import attachment_package_type, person_attachment_send

SENDERS = ADMIN_ROLES


def person_attachment_section(person: Person, workplace: Workplace | None) -> dict[str, Any]:
    has_attachments, packages = person_attachment_packages(
        person_id=person.pk, workplace=workplace, package_type=attachment_package_type()
    )
    return {
        "can_send": workplace is not None and workplace.role in SENDERS and has_attachments,
        "packages": packages,
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
