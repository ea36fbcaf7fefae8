"""The consumer's batch: the messages delivered together, applied in one transaction, in order.

Consecutive well-formed, XSD-valid packages of one type whose handler takes batches (POLIS) go to
it together and are stored in a few statements: their packages, inbox rows, log lines and our
ANSWERs. Every other message is applied as alone (inbox.inbound_handle, a savepoint of this
transaction), after the batch so far, so the order of delivery is the order of effect. The inbox's
unique key still decides what was applied: when another consumer stored one of these messages
meanwhile, the batch is undone and its messages are applied one by one (each duplicate recognised).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from lxml import etree

from tfoms_portal import messaging
from tfoms_portal.db import bulk_insert, bulk_update_fast
from tfoms_portal.formats.xml import Schema, XmlRejected, load_schema, parse_xml, validate

from .forming import Draft, packages_form
from .inbox import (
    answer_payload,
    answer_reply,
    inbound_handle,
    inbound_package_new,
    receiving_run,
    storable,
    storable_message,
)
from .models import InboundMessage, LogEntry, Operation, Package, PackageStatus
from .registry import InboundOutcome, InboundType, get_inbound_type
from .statuses import LOG_LEVELS, STATUS_MESSAGES

S = PackageStatus


@dataclass
class _Item:
    message: messaging.InMessage
    root: etree._Element
    kind: InboundType


def inbound_batch(messages: list[messaging.InMessage]) -> None:
    """Apply the consumer's batch once; the consumer acks it after this returns. Replies to our
    online requests each commit alone, first: a page waits for them, and a call's row is never held
    by the rest of a batch."""
    rpc_queue = messaging.queue_name(messaging.RPC_REPLY)
    for message in messages:
        if message.queue == rpc_queue:
            inbound_handle(message)
    messages = [message for message in messages if message.queue != rpc_queue]
    if not messages:
        return
    if len(messages) == 1:
        inbound_handle(messages[0])
        return
    try:
        with transaction.atomic():
            _apply_in_order([storable_message(message) for message in messages])
    except IntegrityError:
        for message in messages:
            inbound_handle(message)


def _apply_in_order(messages: list[messaging.InMessage]) -> None:
    fund_queue = messaging.queue_name(messaging.TO_MIS)
    known = set(
        InboundMessage.objects.filter(message_id__in=[m.message_id for m in messages]).values_list(
            "source", "message_id"
        )
    )
    group: list[_Item] = []
    schemas: dict[str, Schema] = {}
    for message in messages:
        key = (message.queue, message.message_id)
        item = _batchable(message, schemas) if message.queue == fund_queue and key not in known else None
        if item is None or (group and group[0].kind is not item.kind):
            _store(group)
            group = []
        if item is None:
            inbound_handle(message)  # as alone; its inbox row tells a repeat
        else:
            group.append(item)
        known.add(key)  # a second copy in the same batch is a repeat
    _store(group)


def _batchable(message: messaging.InMessage, schemas: dict[str, Schema]) -> _Item | None:
    kind = get_inbound_type(message.type)
    if kind is None or kind.batch_handler is None:
        return None
    try:
        root = parse_xml(message.body)
    except XmlRejected:
        return None
    if kind.xsd is not None:
        if kind.code not in schemas:  # once per batch: checking the files costs
            schemas[kind.code] = load_schema(kind.xsd)
        if validate(root, schemas[kind.code]):
            return None  # refused as alone, with the XSD's words
    return _Item(message, root, kind)


def _store(items: list[_Item]) -> None:
    """One type's packages: the handler's verdicts, then packages, inbox rows, answers, log lines."""
    if not items:
        return
    kind = items[0].kind
    assert kind.batch_handler is not None
    taken = set(
        Package.objects.filter(uuid__in=[_uuid(i.message) for i in items]).values_list("uuid", flat=True)
    )
    run = receiving_run(kind.service)
    packages = [
        inbound_package_new(item.message, item.root, kind.code, taken=_uuid(item.message) in taken, run=run)
        for item in items
    ]
    received_at = timezone.now()
    outcomes = kind.batch_handler(
        [(package, item.root) for package, item in zip(packages, items, strict=True)]
    )
    now = timezone.now()
    for package, outcome in zip(packages, outcomes, strict=True):
        package.status = S.REJECTED if outcome.errors else S.PROCESSED
        errors = "; ".join(storable(error) for error in outcome.errors) or "без описания"
        package.result = STATUS_MESSAGES[package.status].format(errors=errors)
        package.status_changed_at = now
    bulk_insert(Package, packages)
    InboundMessage.objects.bulk_create(
        InboundMessage(source=item.message.queue, message_id=item.message.message_id, package=package)
        for item, package in zip(items, packages, strict=True)
    )  # another consumer's copy of one of them: IntegrityError, and the batch goes one by one
    _answer(items, packages, outcomes)
    lines = []
    for package, outcome in zip(packages, outcomes, strict=True):
        mo_id, run_id = package.mo_id, package.run_id
        lines.append(
            LogEntry(
                at=received_at,
                run_id=run_id,
                package=package,
                mo_id=mo_id,
                message=STATUS_MESSAGES[S.RECEIVED],
            )
        )
        lines += [
            LogEntry(at=now, run_id=run_id, package=package, mo_id=mo_id, message=n) for n in outcome.notes
        ]
        lines += [
            LogEntry(
                at=now, run_id=run_id, package=package, mo_id=mo_id, level=LogEntry.Level.WARNING, message=w
            )
            for w in outcome.warnings
        ]
        level = LOG_LEVELS.get(package.status, LogEntry.Level.INFO)
        lines.append(
            LogEntry(at=now, run_id=run_id, package=package, mo_id=mo_id, level=level, message=package.result)
        )
    bulk_insert(LogEntry, lines)


def _uuid(message: messaging.InMessage) -> uuid.UUID | None:
    try:
        return uuid.UUID(message.message_id)
    except ValueError:
        return None


def _answer(items: list[_Item], packages: list[Package], outcomes: list[InboundOutcome]) -> None:
    """Our ANSWERs through the outbox, one forming per МО (its ordering key), then each package's reply."""
    by_mo: dict[int | None, list[int]] = defaultdict(list)
    for index, package in enumerate(packages):
        by_mo[package.mo_id].append(index)
    payloads = [
        answer_payload(
            item.message, package, [(outcome.code, storable(e)) for e in outcome.errors], outcome.answer
        )
        for item, package, outcome in zip(items, packages, outcomes, strict=True)
    ]
    for indexes in by_mo.values():
        first = packages[indexes[0]]
        assert first.run is not None
        formed = packages_form(
            run=first.run,
            mo=first.mo,
            package_type="ANSWER",
            drafts=[Draft(Operation.ANSWER, str(packages[i].uuid), payloads[i]) for i in indexes],
            latest={},
        )
        answers = {answer.object_id: answer for answer in formed}
        for i in indexes:
            packages[i].reply = answer_reply(payloads[i], answers.get(str(packages[i].uuid)))
    bulk_update_fast(packages, ["reply"])
