"""Writes of the attachment service: DISTRICT packages from what the fund already knows (C4)."""

from __future__ import annotations

from django.db.models import QuerySet

from registry.models import Mo, Site
from servicelog.models import Operation, Package, PackageStatus, SentObject, ServiceRun
from servicelog.services import content_hash, package_form, run_beat

from .formats import district_delete_payload, district_payload

DISTRICT = "DISTRICT"
S = PackageStatus
# The latest package of an object in these states says the same thing is already on its way or was
# refused by the fund for this very content: forming it again would only repeat it.
IN_FLIGHT = (S.FORMED, S.SENT, S.SEND_ERROR, S.REJECTED_BY_FUND)


def _latest_packages(object_ids: list[str]) -> dict[str, Package]:
    latest: dict[str, Package] = {}
    for package in Package.objects.filter(package_type=DISTRICT, object_id__in=object_ids).order_by("-id"):
        latest.setdefault(package.object_id, package)
    return latest


def district_packages_form(*, run: ServiceRun, mo: Mo) -> int:
    """Insert for sites the fund does not know, Update for changed ones, Delete for removed ones."""
    sites: QuerySet[Site] = Site.objects.filter(mo=mo).select_related(
        "mo", "doctor", "department__subdivision"
    )
    known = {so.object_id: so for so in SentObject.objects.filter(package_type=DISTRICT, mo=mo)}
    site_ids = [str(pk) for pk in sites.values_list("pk", flat=True)]
    gone = [object_id for object_id, so in known.items() if not so.deleted and object_id not in site_ids]
    latest = _latest_packages(site_ids + gone)
    formed = 0
    for site in sites.order_by("number"):
        payload = district_payload(site)
        object_id = str(site.pk)
        digest = content_hash(DISTRICT, object_id, payload)
        last = latest.get(object_id)
        if last is not None and last.status in IN_FLIGHT and last.content_hash == digest:
            continue
        sent = known.get(object_id)
        if sent is not None and not sent.deleted and sent.accepted_hash == digest:
            continue
        operation = Operation.INSERT if sent is None or sent.deleted else Operation.UPDATE
        if package_form(
            run=run, package_type=DISTRICT, operation=operation, object_id=object_id, payload=payload, mo=mo
        ):
            formed += 1
    for object_id in gone:  # deleted in reverse: after everything else of this run
        last = latest.get(object_id)
        if last is not None and last.operation == Operation.DELETE and last.status in IN_FLIGHT:
            continue
        payload = district_delete_payload(mo.code, mo.oid, object_id)
        if package_form(
            run=run,
            package_type=DISTRICT,
            operation=Operation.DELETE,
            object_id=object_id,
            payload=payload,
            mo=mo,
        ):
            formed += 1
    return formed


def district_job(*, run: ServiceRun, mo: Mo | None) -> None:
    """tfoms_auto step: DISTRICT packages for one МО, or for every МО of the region."""
    for one in [mo] if mo is not None else Mo.objects.filter(is_active=True).order_by("code"):
        district_packages_form(run=run, mo=one)
        run_beat(run)
