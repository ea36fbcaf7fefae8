"""Writes of the attachment service (C4): DISTRICT, then the attachments, from what the fund knows.

Order of a run (formats §2.3): DISTRICT Insert/Update, attachment Insert/Update, attachment Delete,
DISTRICT Delete — inserts in the fixed order, deletes in the reverse one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast
from django.utils import timezone

from registry.models import Attachment, Mo, Person, Policy, Site
from servicelog.models import LogEntry, Operation, Package, PackageStatus, SentObject, ServiceRun
from servicelog.services import PersonKeys, content_hash, log_write, package_form, run_beat

from .formats import district_delete_payload, district_payload
from .formats.person_attach import delete_payload, person_attach_district_payload, person_attach_payload

DISTRICT = "DISTRICT"
PERSONATTACHDISTRICT = "PERSONATTACHDISTRICT"
PERSONATTACH = "PERSONATTACH"
S = PackageStatus
# The latest package of an object in these states says the same thing is already on its way or was
# refused by the fund for this very content: forming it again would only repeat it.
IN_FLIGHT = (S.FORMED, S.SENT, S.SEND_ERROR, S.REJECTED_BY_FUND)


def attachment_package_type() -> str:
    """PERSONATTACHDISTRICT by default; PERSONATTACH where the region's fund wants it (a setting)."""
    return str(getattr(settings, "TFOMS_ATTACHMENT_PACKAGE", PERSONATTACHDISTRICT))


@dataclass(frozen=True)
class Item:
    """One object to tell the fund about: its id, the payload and who it is about."""

    object_id: str
    payload: dict[str, str]
    person: PersonKeys | None = None


def _latest_packages(package_type: str, object_ids: Iterable[str]) -> dict[str, Package]:
    latest: dict[str, Package] = {}
    ids = list(object_ids)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for package in Package.objects.filter(package_type=package_type, object_id__in=chunk).order_by("-id"):
            latest.setdefault(package.object_id, package)
    return latest


def _known(package_type: str, mo: Mo) -> dict[str, SentObject]:
    return {so.object_id: so for so in SentObject.objects.filter(package_type=package_type, mo=mo)}


def _upserts(
    *, run: ServiceRun, mo: Mo, package_type: str, items: list[Item], known: dict[str, SentObject]
) -> int:
    """Insert what the fund does not know, Update what changed; skip what is on its way already."""
    latest = _latest_packages(package_type, (item.object_id for item in items))
    formed = 0
    for item in items:
        digest = content_hash(package_type, item.object_id, item.payload)
        last = latest.get(item.object_id)
        if last is not None and last.status in IN_FLIGHT and last.content_hash == digest:
            continue
        sent = known.get(item.object_id)
        if sent is not None and not sent.deleted and sent.accepted_hash == digest:
            continue
        operation = Operation.INSERT if sent is None or sent.deleted else Operation.UPDATE
        if package_form(
            run=run,
            package_type=package_type,
            operation=operation,
            object_id=item.object_id,
            payload=item.payload,
            mo=mo,
            person=item.person,
        ):
            formed += 1
    return formed


def _deletes(
    *, run: ServiceRun, mo: Mo, package_type: str, gone: list[str], payload: Callable[[str], dict[str, str]]
) -> int:
    latest = _latest_packages(package_type, gone)
    formed = 0
    for object_id in gone:
        last = latest.get(object_id)
        if last is not None and last.operation == Operation.DELETE and last.status in IN_FLIGHT:
            continue
        if package_form(
            run=run,
            package_type=package_type,
            operation=Operation.DELETE,
            object_id=object_id,
            payload=payload(object_id),
            mo=mo,
        ):
            formed += 1
    return formed


# --- DISTRICT --------------------------------------------------------------------------------------


def _district_items(mo: Mo) -> list[Item]:
    sites = (
        Site.objects.filter(mo=mo)
        .select_related("mo", "doctor", "department__subdivision")
        .order_by("number")
    )
    return [Item(str(site.pk), district_payload(site)) for site in sites]


def district_packages_form(*, run: ServiceRun, mo: Mo, phase: str = "all") -> int:
    """DISTRICT: Insert for districts the fund does not know, Update for changed, Delete for removed."""
    known = _known(DISTRICT, mo)
    formed = 0
    if phase in ("all", "upsert"):
        formed += _upserts(run=run, mo=mo, package_type=DISTRICT, items=_district_items(mo), known=known)
    if phase in ("all", "delete"):
        present = {str(pk) for pk in Site.objects.filter(mo=mo).values_list("pk", flat=True)}
        gone = [oid for oid, so in known.items() if not so.deleted and oid not in present]
        formed += _deletes(
            run=run,
            mo=mo,
            package_type=DISTRICT,
            gone=gone,
            payload=lambda oid: district_delete_payload(mo.code, mo.oid, oid),
        )
    return formed


# --- attachments -----------------------------------------------------------------------------------


def _changed_attachments(mo: Mo, since: dt.date, person: Person | None) -> list[Attachment]:
    """The МО's attachments that may need telling: for one person all of them; otherwise those whose
    dates or person changed within the period, or that the fund has never been told about."""
    attachments = Attachment.objects.filter(mo=mo)
    if person is not None:
        attachments = attachments.filter(person=person)
    else:
        told = SentObject.objects.filter(
            package_type=attachment_package_type(), object_id=Cast(OuterRef("pk"), CharField())
        )
        attachments = attachments.filter(
            Q(date_from__gte=since)
            | Q(date_to__gte=since)
            | Q(person__updated_at__date__gte=since)
            | ~Exists(told)
        )
    return list(
        attachments.select_related(
            "mo",
            "person",
            "site__doctor",
            "site__department__subdivision",
            "fap_site__doctor",
            "fap_site__department__subdivision",
        )
        .prefetch_related("person__documents", "person__policies__smo")
        .order_by("pk")
    )


def _later_attachments(persons: set[int]) -> dict[int, list[Attachment]]:
    by_person: dict[int, list[Attachment]] = defaultdict(list)
    for other in Attachment.objects.filter(person_id__in=persons).order_by("date_from", "pk"):
        by_person[other.person_id].append(other)
    return by_person


def _policy_on(person: Person, day: dt.date) -> Policy | None:
    policies = sorted(person.policies.all(), key=lambda p: p.valid_from, reverse=True)
    valid = [p for p in policies if p.is_valid_on(day)]
    chosen = valid or policies
    return chosen[0] if chosen else None


def _sendable_sites(site_ids: set[int]) -> set[int]:
    """Districts the fund has or is being told about: accepted, or their latest DISTRICT on its way.
    An attachment to any other district would only be refused (formats §2.3: districts first)."""
    ids = [str(pk) for pk in site_ids]
    known = set(
        SentObject.objects.filter(package_type=DISTRICT, object_id__in=ids, deleted=False).values_list(
            "object_id", flat=True
        )
    )
    going = {
        oid
        for oid, package in _latest_packages(DISTRICT, ids).items()
        if package.status in (S.FORMED, S.SENT, S.SEND_ERROR)
    }
    return {int(oid) for oid in known | going}


def _attachment_items(
    attachments: list[Attachment], package_type: str, today: dt.date, run: ServiceRun
) -> list[Item]:
    items = []
    history = _later_attachments({a.person_id for a in attachments})
    sites = {site for a in attachments for site in (a.site_id, a.fap_site_id) if site}
    sendable = _sendable_sites(sites)
    held: dict[str, int] = defaultdict(int)
    for attachment in attachments:
        person = attachment.person
        missing = [
            s for s in (attachment.site, attachment.fap_site) if s is not None and s.pk not in sendable
        ]
        if missing:
            for site in missing:
                held[site.number] += 1
            continue
        keys = PersonKeys(
            enp=(_policy_on(person, today) or Policy()).enp or "",
            snils=person.snils,
            fio=person.full_name.upper(),
        )
        if package_type == PERSONATTACH:
            if not person.fund_person_id:
                log_write(
                    run=run,
                    mo=attachment.mo,
                    level=LogEntry.Level.WARNING,
                    message=f"{person.full_name}: нет идентификатора в РС ЕРЗ (BDZID), пакет PERSONATTACH "
                    f"не формируется; нужна идентификация в ТФОМС.",
                )
                continue
            items.append(Item(str(attachment.pk), person_attach_payload(attachment), keys))
            continue
        later = next(
            (o for o in history[person.pk] if o.date_from > attachment.date_from and o.pk != attachment.pk),
            None,
        )
        documents = sorted(person.documents.all(), key=lambda d: d.issued_at or dt.date.min, reverse=True)
        payload = person_attach_district_payload(
            attachment,
            policy=_policy_on(person, today),
            document=documents[0] if documents else None,
            later=later,
            today=today,
        )
        items.append(Item(str(attachment.pk), payload, keys))
    for number, count in sorted(held.items()):
        log_write(
            run=run,
            mo=attachments[0].mo,
            level=LogEntry.Level.WARNING,
            message=f"Прикреплений к участку № {number}, который не передан в ТФОМС, отложено: {count} "
            f"(участок не сформирован или отклонён; они уйдут, когда ТФОМС примет участок).",
        )
    return items


def attachment_packages_form(
    *, run: ServiceRun, mo: Mo, person: Person | None = None, phase: str = "all"
) -> int:
    """Attachment packages of the МО (or of one person): Insert / Update / Delete against what the
    fund knows. The period of changes looked at is bounded by TFOMS_ATTACHMENT_PERIOD_DAYS."""
    package_type = attachment_package_type()
    today = timezone.localdate()
    since = today - dt.timedelta(days=settings.TFOMS_ATTACHMENT_PERIOD_DAYS)
    known = _known(package_type, mo)
    formed = 0
    if phase in ("all", "upsert"):
        items = _attachment_items(_changed_attachments(mo, since, person), package_type, today, run)
        formed += _upserts(run=run, mo=mo, package_type=package_type, items=items, known=known)
    if phase in ("all", "delete") and person is None:  # deletes go with the МО's run, not one person's
        ids = {str(pk) for pk in Attachment.objects.filter(mo=mo).values_list("pk", flat=True)}
        gone = [oid for oid, so in known.items() if not so.deleted and oid not in ids]
        formed += _deletes(
            run=run,
            mo=mo,
            package_type=package_type,
            gone=gone,
            payload=lambda oid: delete_payload(package_type, mo.code, mo.oid, oid),
        )
    return formed


def tfoms_auto_job(*, run: ServiceRun, mo: Mo | None) -> None:
    """tfoms_auto step for one МО or every МО: the order of formats §2.3, each МО in its own transaction."""
    for one in [mo] if mo is not None else Mo.objects.filter(is_active=True).order_by("code"):
        with transaction.atomic():
            district_packages_form(run=run, mo=one, phase="upsert")
            attachment_packages_form(run=run, mo=one, phase="upsert")
            attachment_packages_form(run=run, mo=one, phase="delete")
            district_packages_form(run=run, mo=one, phase="delete")
        run_beat(run)


tfoms_auto_job.own_transactions = True  # type: ignore[attr-defined]


def person_attachment_send(*, person: Person, mo: Mo, user: Any) -> ServiceRun:
    """ "Отправить прикрепление в ТФОМС" on a person's card: one patient, at once (C4)."""
    import servicelog
    from servicelog.models import RunTrigger

    with (
        servicelog.run(
            "tfoms_auto", mo=mo, trigger=RunTrigger.MANUAL, user=user, scope=f"p{person.pk}"
        ) as run,
        transaction.atomic(),
    ):
        district_packages_form(run=run, mo=mo, phase="upsert")
        attachment_packages_form(run=run, mo=mo, person=person, phase="upsert")
    return run
