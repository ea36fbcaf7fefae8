"""What a peer was told, as a family that sends by changes needs it: the payload it last accepted,
and making the engine forget what it accepted (a pharmacy directory switched off)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Max
from django.utils import timezone

from .models import Direction, LogEntry, Package, PackageStatus, SentObject
from .statuses import log_write
from .sync import forgotten

S = PackageStatus


def accepted_payload(package_type: str, object_id: str) -> dict[str, Any] | None:
    """The payload of the object's package the peer last accepted (None: it has nothing, or was made
    to forget it): what a family that sends by changes compares with."""
    sent = (
        SentObject.objects.filter(package_type=package_type, object_id=object_id, deleted=False)
        .select_related("last_package")
        .first()
    )
    if sent is None or sent.last_package is None or forgotten(sent, sent.last_package):
        return None
    payload: dict[str, Any] = sent.last_package.payload
    return payload


def sent_objects_forget(*, package_type: str, object_ids: Iterable[str], reason: str) -> None:
    """Take these objects as unknown to the peer from now on, whatever it accepted or will accept of
    their packages so far: the next sync is an Insert of the whole (a pharmacy directory switched off,
    then on again). Their packages not sent yet are barred from sending, with `reason` in their log.
    The objects are found by type and id alone (no МО): for families whose ids are unique per type."""
    ids = list(object_ids)
    now = timezone.now()
    # Packages first, in id order, as the inbox and the relay lock them (then what the peer knows).
    pending = list(
        Package.objects.filter(
            package_type=package_type,
            object_id__in=ids,
            direction=Direction.OUT,
            status__in=(S.FORMED, S.SEND_ERROR),
            do_not_send=False,
        )
        .select_for_update(of=("self",))
        .select_related("run")
        .order_by("id")
    )
    for object_id in ids:
        upto = Package.objects.filter(package_type=package_type, object_id=object_id).aggregate(
            upto=Max("id")
        )["upto"]
        if upto is None:
            continue  # nothing of it was ever formed: nothing to forget
        SentObject.objects.update_or_create(
            package_type=package_type,
            object_id=object_id,
            defaults={"forgotten_upto": upto},
            create_defaults={
                "forgotten_upto": upto,
                "deleted": True,
                "accepted_hash": "",
                "accepted_at": now,
            },
        )
    for package in pending:
        package.do_not_send, package.do_not_send_at, package.do_not_send_reason = True, now, reason[:500]
        package.save(update_fields=["do_not_send", "do_not_send_at", "do_not_send_reason"])
        log_write(
            package=package,
            run=package.run,
            level=LogEntry.Level.WARNING,
            message=f"Установлен запрет отправки: {reason}",
        )
