"""The outbox: outbound packages formed inside the business transaction, many at a time (DESIGN §3).

Forming a batch costs a constant number of queries, whatever its size: one block of sequence numbers
for the ordering key, one INSERT of the packages, one INSERT of their log lines (issue 10 item 6).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from lxml import etree

from registry.models import Mo, Person, Policy
from tfoms_portal.db import bulk_insert
from tfoms_portal.formats.xml import Schema, load_schema, validate
from tfoms_portal.search import fold

from .envelope import envelope_build
from .models import LogEntry, Operation, Package, PackageSequence, PackageStatus, Service, ServiceRun
from .registry import PackageType, get_package_type, package_type_title
from .statuses import LOG_LEVELS, STATUS_MESSAGES

S = PackageStatus
logger = logging.getLogger(__name__)


def fio_key(full_name: str) -> str:
    """A package's ФИО as the journal searches it: upper case, Ё as Е (tfoms_portal.search.fold), so
    a plain prefix comparison finds it and the column's index serves the search."""
    return fold(full_name)[:200]


@dataclass(frozen=True)
class PersonKeys:
    """Who a package is about, for searching the journal by person (E5)."""

    enp: str = ""
    snils: str = ""
    fio: str = ""

    @classmethod
    def of(cls, person: Person, policy: Policy | None) -> PersonKeys:
        """A person's keys, with the policy the package names (the caller has chosen it)."""
        enp = (policy.enp if policy else "") or ""
        return cls(enp=enp, snils=person.snils, fio=fio_key(person.full_name))


@dataclass(frozen=True)
class Draft:
    """One package to form: what it says about which object, and the object's GUID (ISZL header ID)."""

    operation: str
    object_id: str
    payload: dict[str, Any]
    person: PersonKeys | None = None
    external_id: str = ""
    digest: str = ""  # content_hash of the payload, when the caller computed it already


def content_hash(package_type: str, object_id: str, payload: dict[str, Any]) -> str:
    """What the package says about its object, whatever the operation: SentObject compares it."""
    canonical = json.dumps([package_type, object_id, payload], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def ordering_key_for(service: Service, mo: Mo | None, family: str, partition: str = "") -> str:
    """The key a family's packages are numbered and sent in order by: per МО, or per `partition` for
    a family whose objects belong to no МО (one pharmacy organisation: a refusal for one holds
    back no other)."""
    key = f"{service.code}:{mo.code if mo else 'region'}:{family}"
    return f"{key}:{partition}" if partition else key


def sequence_lock(ordering_key: str) -> PackageSequence:
    """Lock the key's counter row until the business transaction commits. Whoever forms for a key
    takes it first, so two formers of one МО and family never read the same state (issue 19) and a
    package with a higher number never commits before a lower one (the relay keeps the order)."""
    counter = PackageSequence.objects.select_for_update().filter(ordering_key=ordering_key).first()
    if counter is None:
        try:
            with transaction.atomic():
                counter = PackageSequence.objects.create(ordering_key=ordering_key)
        except IntegrityError:  # created concurrently: take the row lock as usual
            counter = PackageSequence.objects.select_for_update().get(ordering_key=ordering_key)
    return counter


def _sequence_block(ordering_key: str, count: int) -> int:
    """Allocate `count` numbers at once; returns the first."""
    counter = sequence_lock(ordering_key)
    first = counter.last + 1
    counter.last += count
    PackageSequence.objects.filter(pk=counter.pk).update(last=counter.last)
    return first


def _render(
    kind: PackageType, draft: Draft, message_id: str, schema: Schema | None, today: dt.date
) -> tuple[str, list[str]]:
    """(XML body, errors): the type's readable checks first, then its XSD."""
    try:
        errors = kind.check(draft.payload) if kind.check is not None else []
        if errors:
            return "", errors
        if kind.envelope is not None:
            root = envelope_build(
                kind.envelope, draft.payload, draft.operation, external_id=draft.external_id, today=today
            )
        else:
            assert kind.builder is not None
            root = kind.builder(draft.payload, draft.operation, message_id)
        body = etree.tostring(root, encoding="utf-8", xml_declaration=True).decode("utf-8")
        return body, validate(root, schema) if schema is not None else []
    except Exception as exc:  # a layout that cannot be built is a form error of this package, not of the run
        return "", [f"{type(exc).__name__}: {exc}"]


def packages_form(
    *,
    run: ServiceRun,
    mo: Mo | None,
    package_type: str,
    drafts: Sequence[Draft],
    latest: dict[str, Package] | None = None,
    partition: str = "",
) -> list[Package]:
    """Form many packages of one type inside the caller's transaction: each Сформирован, or Ошибка
    формирования with its errors. `latest` (object id → its newest package), when the caller read it
    already, saves the look-up: a draft whose same content already failed to form is not formed again."""
    if not drafts:
        return []
    kind = get_package_type(package_type)
    if latest is None:
        latest = latest_packages(package_type, [d.object_id for d in drafts])
    key = ordering_key_for(run.service, mo, kind.family, partition)
    packages: list[Package] = []
    skipped: list[LogEntry] = []
    first = _sequence_block(key, len(drafts)) if kind.ordered else 0
    now = timezone.now()
    today = timezone.localdate(now)
    schema = (
        load_schema(kind.xsd) if kind.xsd is not None else None
    )  # once per batch: checking its files costs
    for draft in drafts:
        digest = draft.digest or content_hash(package_type, draft.object_id, draft.payload)
        last = latest.get(draft.object_id)
        if last is not None and last.status == S.FORM_ERROR and last.content_hash == digest:
            skipped.append(
                LogEntry(
                    run=run,
                    mo=mo,
                    level=LogEntry.Level.WARNING,
                    message=f"Пакет «{package_type_title(package_type)}» (объект {draft.object_id}) не "
                    f"сформирован повторно: данные не изменились после ошибки формирования.",
                )
            )
            continue
        package_uuid = uuid.uuid4()
        body, errors = _render(kind, draft, str(package_uuid).upper(), schema, today)
        status = S.FORM_ERROR if errors else S.FORMED
        person = draft.person or PersonKeys()
        packages.append(
            Package(  # ids, not instances: a related-object assignment costs more than the rest
                uuid=package_uuid,
                service_id=run.service_id,
                run_id=run.pk,
                mo_id=mo.pk if mo is not None else None,
                package_type=package_type,
                operation=draft.operation,
                status=status,
                result=STATUS_MESSAGES[status].format(errors="; ".join(errors) or "без описания"),
                status_changed_at=now,
                object_id=draft.object_id,
                external_id=draft.external_id,
                payload=draft.payload,
                body=body if not errors else "",
                content_hash=digest,
                ordering_key=key,
                sequence=first + len(packages) if kind.ordered else 0,
                enp=person.enp,
                snils=person.snils,
                fio=person.fio[:200],
            )
        )
    bulk_insert(Package, packages)
    LogEntry.objects.bulk_create(skipped)
    _log_formed(packages, now)
    if any(p.status == S.FORMED and p.operation != Operation.QUERY for p in packages):
        _kick_on_commit()  # an online request (Query) is published by its call, not by the relay
    return packages


def _log_formed(packages: list[Package], now: dt.datetime) -> None:
    """Each package's line in its run's log (its result). On PostgreSQL one INSERT … SELECT from the
    packages just stored: no Python object per line."""
    if not packages:
        return
    if connection.vendor != "postgresql":
        bulk_insert(
            LogEntry,
            [
                LogEntry(
                    run_id=p.run_id,
                    package_id=p.pk,
                    mo_id=p.mo_id,
                    level=LOG_LEVELS.get(p.status, LogEntry.Level.INFO),
                    message=p.result,
                )
                for p in packages
            ],
        )
        return
    errors = [status for status, level in LOG_LEVELS.items() if level == LogEntry.Level.ERROR]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {LogEntry._meta.db_table} (at, run_id, package_id, mo_id, level, message)
            SELECT %(now)s, run_id, id, mo_id,
                CASE WHEN status = ANY(%(errors)s) THEN %(error)s ELSE %(info)s END, result
            FROM {Package._meta.db_table} WHERE id = ANY(%(ids)s) ORDER BY id
            """,
            {
                "now": now,
                "errors": [str(e) for e in errors],
                "error": LogEntry.Level.ERROR,
                "info": LogEntry.Level.INFO,
                "ids": [p.pk for p in packages],
            },
        )


def latest_packages(package_type: str, object_ids: Sequence[str]) -> dict[str, Package]:
    """The newest package of each object, read in chunks (1 query per 1,000 objects)."""
    latest: dict[str, Package] = {}
    ids = list(dict.fromkeys(object_ids))
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows = (
            Package.objects.filter(package_type=package_type, object_id__in=chunk)
            .only(
                "id",
                "object_id",
                "status",
                "operation",
                "content_hash",
                "external_id",
                "do_not_send",
                "next_attempt_at",
            )
            .order_by("-id")
        )
        for package in rows:
            latest.setdefault(package.object_id, package)
    return latest


@transaction.atomic
def package_form(
    *,
    run: ServiceRun,
    package_type: str,
    operation: str,
    object_id: str,
    payload: dict[str, Any],
    mo: Mo | None,
    person: PersonKeys | None = None,
    external_id: str = "",
) -> Package | None:
    """Form one outbound package (our ANSWER, a single send). Returns None (and logs why) when the
    same content already failed to form."""
    formed = packages_form(
        run=run,
        mo=mo,
        package_type=package_type,
        drafts=[Draft(operation, object_id, payload, person, external_id)],
    )
    return formed[0] if formed else None


# --- the relay's kick after commit ------------------------------------------------------------

_kickers: list[Callable[[], None]] = []


def register_relay_kick(kick: Callable[[], None]) -> None:
    """servicelog's AppConfig registers the Celery task here, so forming imports no task module."""
    if kick not in _kickers:
        _kickers.append(kick)


def relay_kick() -> None:
    """After a forming commit: let the relay publish now rather than at its next scheduled pass."""
    for kick in _kickers:
        try:
            kick()
        except Exception:  # the broker of Celery is down: the scheduled pass will publish instead
            logger.warning("relay kick failed; the scheduled relay will publish", exc_info=True)


def _kick_on_commit() -> None:
    if not any(entry[1] is relay_kick for entry in connection.run_on_commit):
        transaction.on_commit(relay_kick)  # once per transaction, however many packages it forms
