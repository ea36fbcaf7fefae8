"""The attachment family (C4): DISTRICT, then the attachments, as the sync engine's declarations.

Order of a run (formats §2.3): DISTRICT Insert/Update, attachment Insert/Update, attachment Delete,
DISTRICT Delete — the engine forms inserts in rank order and deletes in the reverse one, and holds
an attachment whose district the fund neither knows nor is being sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from registry.models import Attachment, Mo, Person, Site, latest_document, policy_on
from registry.selectors import PersonRows, person_rows
from servicelog.forming import PersonKeys
from servicelog.models import LogEntry, ServiceRun
from servicelog.statuses import log_write
from servicelog.sync import Family, FamilyType, Parent, SyncContext, SyncObject, family_sync_person, told

from .formats import district_delete_payload, district_payload
from .formats.person_attach import delete_payload, person_attach_district_payload, person_attach_payload

DISTRICT = "DISTRICT"
PERSONATTACHDISTRICT = "PERSONATTACHDISTRICT"
PERSONATTACH = "PERSONATTACH"


def attachment_package_type() -> str:
    """PERSONATTACHDISTRICT by default; PERSONATTACH where the region's fund wants it (a setting)."""
    return str(getattr(settings, "TFOMS_ATTACHMENT_PACKAGE", PERSONATTACHDISTRICT))


# --- DISTRICT --------------------------------------------------------------------------------------


def _districts(ctx: SyncContext) -> Iterator[SyncObject]:
    sites = (
        Site.objects.filter(mo=ctx.mo)
        .select_related("mo", "doctor", "department__subdivision")
        .order_by("number")
    )
    for site in sites:
        yield SyncObject(str(site.pk), district_payload(site))


def _district_ids(ctx: SyncContext) -> Iterator[str]:
    return (str(pk) for pk in Site.objects.filter(mo=ctx.mo).values_list("pk", flat=True))


def _district_delete(ctx: SyncContext, object_id: str) -> dict[str, str]:
    return district_delete_payload(ctx.mo.code, ctx.mo.oid, object_id)


# --- attachments -----------------------------------------------------------------------------------


def _changed_attachments(mo: Mo, since: dt.date, person_id: int | None) -> QuerySet[Attachment]:
    """The МО's attachments that may need telling: for one person all of them; otherwise those whose
    dates or person changed within the period, or that the fund has never been told about. Each
    with its person; its МО and districts are set from one read of each (a region has ~100 districts
    per МО, not one per attachment)."""
    attachments = Attachment.objects.filter(mo=mo)
    if person_id is not None:
        attachments = attachments.filter(person_id=person_id)
    else:
        attachments = attachments.filter(
            Q(date_from__gte=since)
            | Q(date_to__gte=since)
            | Q(person__updated_at__date__gte=since)
            | ~told(attachment_package_type())
        )
    return attachments


def _loaded(attachments: QuerySet[Attachment], mo: Mo) -> list[Attachment]:
    rows = list(attachments.select_related("person").order_by("pk"))
    site_ids = {pk for a in rows for pk in (a.site_id, a.fap_site_id) if pk is not None}
    sites = Site.objects.select_related("doctor", "department__subdivision").in_bulk(site_ids)
    for attachment in rows:
        Attachment.mo.field.set_cached_value(attachment, mo)
        Attachment.site.field.set_cached_value(attachment, sites.get(attachment.site_id))  # type: ignore[arg-type]
        Attachment.fap_site.field.set_cached_value(attachment, sites.get(attachment.fap_site_id))  # type: ignore[arg-type]
    return rows


def _later_mo(rows: PersonRows, attachment: Attachment) -> int | None:
    """The МО of the person's next attachment after this one (by start date), if any."""
    return next(
        (
            mo_id
            for date_from, pk, mo_id in rows.history[attachment.person_id]
            if date_from > attachment.date_from and pk != attachment.pk
        ),
        None,
    )


def _attachments(ctx: SyncContext) -> Iterator[SyncObject]:
    """The attachment packages of the МО (or of one person), each waiting for its districts."""
    package_type = attachment_package_type()
    since = ctx.today - dt.timedelta(days=settings.TFOMS_ATTACHMENT_PERIOD_DAYS)
    changed = _changed_attachments(ctx.mo, since, ctx.person_id)
    attachments = _loaded(changed, ctx.mo)
    related = person_rows(changed.values("person_id"), with_attachments=True)
    for attachment in attachments:
        person = attachment.person
        parents = tuple(
            Parent(DISTRICT, str(site.pk), label=site.number)
            for site in (attachment.site, attachment.fap_site)
            if site is not None
        )
        policy = policy_on(related.policies[person.pk], ctx.today)
        keys = PersonKeys.of(person, policy)
        if package_type == PERSONATTACH:
            if not person.fund_person_id:
                log_write(
                    run=ctx.run,
                    mo=attachment.mo,
                    level=LogEntry.Level.WARNING,
                    message=f"{person.full_name}: нет идентификатора в РС ЕРЗ (BDZID), пакет PERSONATTACH "
                    f"не формируется; нужна идентификация в ТФОМС.",
                )
                continue
            yield SyncObject(str(attachment.pk), person_attach_payload(attachment), keys, parents)
            continue
        payload = person_attach_district_payload(
            attachment,
            policy=policy,
            document=latest_document(related.documents[person.pk]),
            later_mo_id=_later_mo(related, attachment),
            today=ctx.today,
        )
        yield SyncObject(str(attachment.pk), payload, keys, parents)


def _attachment_ids(ctx: SyncContext) -> Iterator[str]:
    return (str(pk) for pk in Attachment.objects.filter(mo=ctx.mo).values_list("pk", flat=True))


def _attachment_delete(ctx: SyncContext, object_id: str) -> dict[str, str]:
    return delete_payload(attachment_package_type(), ctx.mo.code, ctx.mo.oid, object_id)


HELD = (
    "Прикреплений к участку № {parent}, который не передан в ТФОМС, отложено: {count} "
    "(участок не сформирован или отклонён; они уйдут, когда ТФОМС примет участок)."
)
ATTACH = Family(
    code="attach",
    service="tfoms_auto",
    types=(
        FamilyType(DISTRICT, _districts, _district_ids, _district_delete),
        *(
            FamilyType(
                code,
                _attachments,
                _attachment_ids,
                _attachment_delete,
                held=HELD,
                enabled=lambda code=code: attachment_package_type() == code,  # type: ignore[misc]
            )
            for code in (PERSONATTACH, PERSONATTACHDISTRICT)
        ),
    ),
)


def person_attachment_send(*, person: Person, mo: Mo, user: Any) -> ServiceRun:
    """ "Отправить прикрепление в ТФОМС" on a person's card: one patient, at once (C4)."""
    return family_sync_person(
        family=ATTACH,
        person_id=person.pk,
        mo=mo,
        user=user,
        scope=f"p{person.pk}",
        scope_title=f"пациента {person.short_name}",
    )
