"""The consumer's side: each inbound message applied once, in one transaction with its effect (DESIGN §3).

A message that cannot be parsed, validated or handled is stored as Отклонен with its errors and
answered with ANSWER ERROR (through the outbox), and the consumer acks it: never a requeue loop.
Only a database failure propagates, so the message stays unacked and comes back when it recovers.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from lxml import etree

from registry.models import Mo
from tfoms_portal import messaging
from tfoms_portal.formats.xml import XmlRejected, load_schema, parse_xml, validate

from .formats import ANSWER_XSD, IszlReply, IszlReplyUnreadable, answer_parse, iszl_reply_parse
from .forming import content_hash, package_form
from .models import (
    Attempt,
    Direction,
    InboundMessage,
    LogEntry,
    Operation,
    Package,
    PackageStatus,
    RunTrigger,
    SentObject,
    ServiceRun,
)
from .registry import get_inbound_type, get_package_type, iszl_reply_queues
from .rpc import rpc_reply_apply
from .runs import standing_run
from .statuses import log_write, package_set_status

S = PackageStatus
logger = logging.getLogger(__name__)
DEFAULT_SERVICE = "tfoms_auto"
# F012-style codes of our ANSWER ERROR (formats §8.6)
CODE_INVALID = 0  # a message that is not XML or fails its XSD: RESULT_CODE 0 (formats §2.4)
CODE_WRONG_VALUE = 904


class InboundRejected(Exception):
    """A domain handler refuses the fund's package; each error becomes an ERROR_RESULT."""

    def __init__(self, errors: list[str], code: int = CODE_WRONG_VALUE, mo: Mo | None = None) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.code = code
        self.mo = mo  # the МО of the person the refused package is about, when known


def receiving_run(service_code: str) -> ServiceRun:
    """The service's standing run "Приём пакетов" of today, where inbound packages belong."""
    return standing_run(service_code, RunTrigger.CONSUMER)


def storable(text: str) -> str:
    """Text PostgreSQL can hold: a NUL (which no text column accepts) is kept as the four characters
    \\x00, so a hostile message is stored as evidence instead of failing like a database outage
    and coming back for ever (G7, issue 16)."""
    return text.replace("\x00", "\\x00")


def storable_message(message: messaging.InMessage) -> messaging.InMessage:
    extra = (message.correlation_id or "") + (message.reply_to or "")
    if "\x00" not in message.queue + message.message_id + message.type + extra:
        return message
    return dataclasses.replace(
        message,
        queue=storable(message.queue)[:128],
        message_id=storable(message.message_id)[:255],  # the column's width, after escaping
        type=storable(message.type)[:64],
        correlation_id=storable(message.correlation_id) if message.correlation_id else None,
        reply_to=storable(message.reply_to) if message.reply_to else None,
    )


def inbound_handle(message: messaging.InMessage) -> None:
    """Apply one inbound message, once. Called by the consumer, which acks after this returns."""
    message = storable_message(message)
    with transaction.atomic():
        try:
            with transaction.atomic():
                inbox = InboundMessage.objects.create(source=message.queue, message_id=message.message_id)
        except IntegrityError:
            log_write(
                run=receiving_run(DEFAULT_SERVICE),
                message=f"Повторное сообщение {message.message_id} из очереди {message.queue} пропущено: "
                f"оно уже обработано.",
            )
            return
        if message.queue == messaging.queue_name(messaging.RPC_REPLY):
            rpc_reply_apply(message, inbox)  # matched by correlation_id, whatever its body
            return
        iszl_service = _iszl_service(message.queue)
        try:
            root = parse_xml(message.body)
        except XmlRejected as exc:  # an ISZL reply is kept in its service, never answered
            _reject_unreadable(message, inbox, [str(exc)], service=iszl_service, answer=iszl_service is None)
            return
        if iszl_service is not None:
            _iszl_reply_apply(message, root, inbox, iszl_service)
        elif root.tag == "ANSWER":
            _answer_apply(message, root, inbox)
        else:
            _package_apply(message, root, inbox)


# --- the fund's answers to our packages ------------------------------------------------------


def _answered(message_id: str) -> Package | None:
    """Our outbound package an ANSWER names (locked: its status changes in this transaction)."""
    try:
        answered_uuid = uuid.UUID(message_id.strip())
    except ValueError:
        return None
    return Package.objects.select_for_update().filter(uuid=answered_uuid, direction=Direction.OUT).first()


def _answer_apply(message: messaging.InMessage, root: etree._Element, inbox: InboundMessage) -> None:
    errors = validate(root, load_schema(ANSWER_XSD))
    if errors:  # said to the МО of the package it answers, when it names one of ours
        answered = _answered(root.findtext("HEADER/MESSAGE_ID") or "")
        mo = answered.mo if answered is not None else None
        _reject_unreadable(message, inbox, errors, package_type="ANSWER", mo=mo)
        return
    answer = answer_parse(root)
    package = _answered(answer.message_id)
    if package is None:
        _reject_unreadable(
            message,
            inbox,
            [f"Ответ на неизвестный пакет: MESSAGE_ID={answer.message_id}"],
            package_type="ANSWER",
        )
        return
    errors_text = [f"{code} {text}".strip() for code, text in answer.errors] or (
        [] if answer.ok else ["ТФОМС вернул RESULT=ERROR без описания"]
    )
    _reply_apply(message, inbox, package, answer.ok, errors_text, answer.as_json())


def _reply_apply(
    message: messaging.InMessage,
    inbox: InboundMessage,
    package: Package,
    ok: bool,
    errors_text: list[str],
    reply: dict[str, Any],
) -> None:
    """The fund's verdict on one of our packages (an ANSWER, an ISZL reply): its status, what the fund
    now knows (SentObject), and the type's reply handler."""
    inbox.package = package
    inbox.save(update_fields=["package"])
    if package.status in (S.ACCEPTED, S.REJECTED_BY_FUND):
        log_write(
            package=package,
            run=package.run,
            message=f"Повторный ответ ТФОМС (сообщение {message.message_id}) пропущен: пакет уже "
            f"в статусе «{package.get_status_display()}».",
        )
        return
    package.reply = {**reply, "message_id": message.message_id, "at": timezone.now().isoformat()}
    package.save(update_fields=["reply"])
    Attempt.objects.create(
        package=package, kind=Attempt.Kind.REPLY, ok=ok, detail="; ".join(errors_text) or "OK"
    )
    package_set_status(package, S.ACCEPTED if ok else S.REJECTED_BY_FUND, errors=errors_text)
    if ok:
        SentObject.objects.update_or_create(
            package_type=package.package_type,
            object_id=package.object_id,
            defaults={
                "mo": package.mo,
                "accepted_hash": package.content_hash,
                "external_id": package.external_id,
                "accepted_at": timezone.now(),
                "last_package": package,
                "deleted": package.operation == Operation.DELETE,
            },
        )
    kind = get_package_type(package.package_type)
    if kind.reply_handler is not None:
        try:
            with transaction.atomic():
                kind.reply_handler(package, package.reply)
        except (OperationalError, InterfaceError):
            raise  # the database is down: the answer comes back
        except Exception as exc:  # a handler bug must not make the answer come back for ever (G7)
            logger.exception("reply handler of %s failed", package.package_type)
            log_write(
                package=package,
                run=package.run,
                level=LogEntry.Level.ERROR,
                message=f"Ответ ТФОМС принят, но его обработка не выполнена: {type(exc).__name__}: {exc}",
            )


# --- the ISZL side's replies to our order-263 packages (formats §3.6) -----------------------


def _iszl_answered(reply: IszlReply) -> Package | None:
    """Our package an ISZL reply is about, of its type, object GUID and operation (several types
    share a GUID, formats §3.3). An ERROR names it by the request it carries: the oldest Отправлен
    package with that body, else an answered one (a repeat). Any other reply: the oldest Отправлен
    (the side answers in order), else the newest answered one (a repeat). A package not sent yet
    is never taken for the answered one."""
    packages = Package.objects.select_for_update().filter(
        direction=Direction.OUT, package_type=reply.package_type, external_id=reply.external_id
    )
    if reply.operation in Operation.values:
        packages = packages.filter(operation=reply.operation)
    if reply.request is not None:
        packages = packages.filter(body=reply.request.decode("utf-8", errors="replace"))
    sent = packages.filter(status=S.SENT).order_by("sequence", "id").first()
    return sent or packages.filter(status__in=(S.ACCEPTED, S.REJECTED_BY_FUND)).order_by("-id").first()


def _iszl_service(queue: str) -> str | None:
    """The service whose ISZL-style replies arrive on this (broker) queue, if any."""
    for logical, service in iszl_reply_queues().items():
        if queue == messaging.queue_name(logical):
            return service
    return None


def _iszl_reply_apply(
    message: messaging.InMessage, root: etree._Element, inbox: InboundMessage, service: str
) -> None:
    try:
        reply = iszl_reply_parse(root, message.type, parse_xml)
    except (IszlReplyUnreadable, XmlRejected) as exc:
        _reject_unreadable(message, inbox, [f"Ответ ИСЗЛ не разобран: {exc}"], service=service, answer=False)
        return
    package = _iszl_answered(reply)
    if package is None:
        _reject_unreadable(
            message,
            inbox,
            [f"Ответ ИСЗЛ на неизвестный пакет: {reply.package_type} ID={reply.external_id}"],
            package_type=reply.package_type,
            service=service,
            answer=False,
        )
        return
    errors = [] if reply.ok else [storable(reply.description)]  # "Получен ответ с ошибкой: …"
    _reply_apply(message, inbox, package, reply.ok, errors, reply.as_json())


# --- the fund's own packages -----------------------------------------------------------------


def _payload_of(root: etree._Element) -> dict[str, Any]:
    """`<Tag>: <Data>` of the journal: the leaf elements, the first occurrence of each tag."""
    payload: dict[str, Any] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and len(element) == 0 and element.tag not in payload:
            payload[element.tag] = (element.text or "").strip()
    return payload


def inbound_package_new(
    message: messaging.InMessage,
    root: etree._Element | None,
    package_type: str,
    mo: Mo | None = None,
    service: str | None = None,
    *,
    taken: bool | None = None,
    run: ServiceRun | None = None,
) -> Package:
    """The fund's message as a package, not saved yet. `taken`: whether a package already has the
    message's id as its GUID (None: look it up); then it gets a GUID of its own. `run`: the standing
    run it belongs to, when the caller has it."""
    try:
        package_uuid = uuid.UUID(message.message_id)
    except ValueError:
        package_uuid = uuid.uuid4()
    if taken is None:
        taken = Package.objects.filter(uuid=package_uuid).exists()
    if taken:
        package_uuid = uuid.uuid4()
    inbound = get_inbound_type(package_type)
    operation = root.findtext("HEADER/OPERATIONTYPE") if root is not None else None
    payload = _payload_of(root) if root is not None else {}
    run = run or receiving_run(service or (inbound.service if inbound else DEFAULT_SERVICE))
    return Package(
        uuid=package_uuid,
        service=run.service,
        run=run,
        direction=Direction.IN,
        mo=mo,
        package_type=package_type[:64] or "НЕИЗВЕСТНЫЙ",
        operation=operation if operation in Operation.values else Operation.INSERT,
        payload=payload,
        body=storable(message.body.decode("utf-8", errors="replace")[:1_000_000]),
        content_hash=content_hash(package_type, message.message_id, payload),
        object_id=message.message_id[:64],
    )


def _inbound_package(
    message: messaging.InMessage,
    root: etree._Element | None,
    package_type: str,
    mo: Mo | None = None,
    service: str | None = None,
) -> Package:
    package = inbound_package_new(message, root, package_type, mo, service)
    package_set_status(package, S.RECEIVED)
    return package


def answer_payload(
    message: messaging.InMessage,
    package: Package,
    errors: list[tuple[int, str]],
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    """Our ANSWER to one of the fund's messages (formats §2.4)."""
    return {
        "QUEUE_NAME": message.queue,
        "TYPE": package.package_type,
        "MESSAGE_ID": message.message_id,
        "RESULT": "ERROR" if errors else "OK",
        "ERRORS": [[code, text] for code, text in errors],
        **(extra or {}),
    }


def answer_reply(payload: dict[str, Any], answer: Package | None) -> dict[str, Any]:
    """What the fund's package keeps as its reply: the ANSWER we sent (§4.6.3 "Ответ")."""
    reply = {key: value for key, value in payload.items() if key not in ("QUEUE_NAME", "TYPE", "MESSAGE_ID")}
    reply["ERRORS"] = [{"RESULT_CODE": code, "RESULT_NAME": text} for code, text in payload["ERRORS"]]
    sent = answer is not None and answer.status != S.FORM_ERROR  # an ANSWER its XSD refused never goes
    return {**reply, "sent": sent, "message_id": answer.message_id if answer is not None else ""}


def _answer_fund(
    message: messaging.InMessage,
    package: Package,
    errors: list[tuple[int, str]],
    extra: dict[str, Any] | None = None,
) -> None:
    """Our ANSWER goes through the outbox, in this same transaction: it cannot be lost. The fund's
    package keeps what we answered as its reply (§4.6.3 "Ответ": on import, the one sent)."""
    assert package.run is not None
    payload = answer_payload(message, package, errors, extra)
    answer = package_form(
        run=package.run,
        package_type="ANSWER",
        operation=Operation.ANSWER,
        object_id=str(package.uuid),
        payload=payload,
        mo=package.mo,
    )
    package.reply = answer_reply(payload, answer)
    package.save(update_fields=["reply"])


def _reject(message: messaging.InMessage, package: Package, errors: list[str], code: int) -> None:
    errors = [storable(error) for error in errors]
    package_set_status(package, S.REJECTED, errors=errors)
    _answer_fund(message, package, [(code, text) for text in errors])


def _reject_unreadable(
    message: messaging.InMessage,
    inbox: InboundMessage,
    errors: list[str],
    package_type: str = "",
    mo: Mo | None = None,
    service: str | None = None,
    answer: bool = True,
) -> None:
    """Stored as Отклонен with its errors; answered with ANSWER ERROR unless the side has no such
    answer (the ISZL side's replies are never answered)."""
    package = _inbound_package(message, None, package_type or message.type, mo, service)
    inbox.package = package
    inbox.save(update_fields=["package"])
    if answer:
        _reject(message, package, errors, CODE_INVALID)
    else:
        package_set_status(package, S.REJECTED, errors=[storable(error) for error in errors])


def _package_apply(message: messaging.InMessage, root: etree._Element, inbox: InboundMessage) -> None:
    package_type = message.type or str(root.tag)
    package = _inbound_package(message, root, package_type)
    inbox.package = package
    inbox.save(update_fields=["package"])
    inbound = get_inbound_type(package_type)
    if inbound is None:
        _reject(message, package, [f"Неизвестный тип пакета: {package_type}"], CODE_WRONG_VALUE)
        return
    errors = validate(root, load_schema(inbound.xsd)) if inbound.xsd is not None else []
    if errors:
        _reject(message, package, errors, CODE_INVALID)
        return
    try:
        with transaction.atomic():
            extra = inbound.handler(package, root)
    except InboundRejected as exc:
        package.refresh_from_db(fields=["mo", "object_id", "fio", "snils", "enp"])  # rolled back with it
        if exc.mo is not None:  # a refusal about a known patient is their МО's to see too
            package.mo = exc.mo
            package.save(update_fields=["mo"])
            LogEntry.objects.filter(package=package, mo__isnull=True).update(mo=exc.mo)
        _reject(message, package, exc.errors, exc.code)
        return
    except (OperationalError, InterfaceError):
        raise  # the database is down, not the message bad: it stays unacked and comes back
    except Exception as exc:
        # A handler bug or any other database error (a value a column refuses, a broken constraint)
        # is this message's: its savepoint is rolled back and it is rejected, never requeued (G7).
        # Its text may quote the message's values (any МО's patient): the server log has it, the
        # journal and the fund get its kind only.
        logger.exception("handler of %s failed", package_type)
        package.refresh_from_db(fields=["mo", "object_id", "fio", "snils", "enp"])
        _reject(
            message,
            package,
            [f"Внутренняя ошибка обработки ({type(exc).__name__}), подробности в журнале сервера"],
            999,
        )
        return
    package_set_status(package, S.PROCESSED)
    _answer_fund(message, package, [], extra)


def consume_forever(*, should_stop: Any) -> None:
    """The consumer loop of `runconsumer` (and the demo's thread): the fund's and the ISZL side's
    answers, then the fund's packages."""
    queues = [
        messaging.queue_name(messaging.RPC_REPLY),  # a page waits for these
        messaging.queue_name(messaging.TO_MIS_ANSWER),
        *(messaging.queue_name(queue) for queue in iszl_reply_queues()),
        messaging.queue_name(messaging.TO_MIS),
    ]
    messaging.get_backend().consume_batches(
        queues,
        _handle_with_fresh_connection,
        should_stop=should_stop,
        max_batch=settings.TFOMS_CONSUMER_BATCH,
    )


def _handle_with_fresh_connection(messages: list[messaging.InMessage]) -> None:
    from django.db import close_old_connections

    from .inbox_batch import inbound_batch

    close_old_connections()  # a long-lived process survives database restarts
    inbound_batch(messages)
