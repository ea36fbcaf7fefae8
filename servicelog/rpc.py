"""Synchronous requests to the fund (RPC: free beds, online identification; DESIGN §3).

The web process records the call (an RpcCall row and its Query package, in the journal) and hands
the publishing to the background, so no web worker waits on the broker. The request carries a
unique `correlation_id`, `reply_to` our reply queue and an `expiration` (the broker drops a request
nobody waits for any more). Any consumer process takes the reply from that queue and writes it to
the row, in one transaction with its inbox row (a repeated reply is not applied twice); any web
process shows it, as the page polls the row. After the deadline the call ends "Нет ответа" and its
kind's fallback runs once; a reply that comes later is stored and shown as late, never applied.

A domain app registers an RpcKind: its package type (envelope + XSD of the request), its reply's
XSD, how to read a reply, how to apply it, and its fallback.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from celery import shared_task
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from lxml import etree

from registry.models import Mo
from tfoms_portal import background, messaging
from tfoms_portal.formats.xml import XmlRejected, load_schema, parse_xml, validate

from .envelope import Envelope
from .formats import ANSWER_XSD
from .forming import PersonKeys, package_form
from .models import (
    RPC_IN_FLIGHT,
    Attempt,
    InboundMessage,
    LogEntry,
    Operation,
    Package,
    PackageStatus,
    RpcCall,
    RpcState,
    RunTrigger,
)
from .registry import PackageType, get_package_type, register_package_type
from .runs import standing_run
from .statuses import log_write, package_set_status

S = PackageStatus
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RpcReply:
    """What a kind read from the fund's reply: whether it is an answer or an error, the data the page
    shows (JSON), and the sentence that sums it up."""

    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    message: str = ""


class ReplyUnreadable(ValueError):
    """A reply valid by its XSD that still says nothing usable; the text is Russian."""


@dataclass(frozen=True)
class RpcKind:
    code: str
    service: str  # the journal service its Query packages belong to
    package_type: str  # a registered PackageType: the request's envelope, XSD and queue
    timeout_seconds: Callable[[], float]  # read at each call (a setting)
    read: Callable[[etree._Element], RpcReply]  # the reply (valid by its XSD) in words and data
    # the reply's root tag → its XSD (an answer, or the fund's ANSWER ERROR); any other root refused
    reply_xsd: Mapping[str, Path] = field(default_factory=lambda: {"ANSWER": ANSWER_XSD})
    # apply(call, reply) -> what applying it came to (ok or refused, in words), or None to keep the
    # reply's; runs in the consumer's transaction (a savepoint), only for a reply in time that was
    # read (an answer or the fund's error answer, not an unreadable one)
    apply: Callable[[RpcCall, RpcReply], RpcReply | None] | None = None
    # expired(call) -> what the page says once nobody answered in time (the fallback is done here)
    expired: Callable[[RpcCall], str] | None = None
    template: str = ""  # the pane that shows a call of this kind (polled while in flight)
    context: Callable[[RpcCall], dict[str, Any]] | None = None  # what else its pane needs


_kinds: dict[str, RpcKind] = {}


def register_rpc_kind(
    kind: RpcKind, *, request_xsd: Path, envelope: Envelope, queue: str, title: str
) -> RpcKind:
    """A kind, with the package type of its request: a Query published by its call (no order among
    them), its reply on our RPC queue; `title` names it in the journal."""
    register_package_type(
        PackageType(
            kind.package_type,
            family="rpc",
            rank=0,
            xsd=request_xsd,
            envelope=envelope,
            queue=queue,
            reply_queue=messaging.RPC_REPLY,
            title=title,
            ordered=False,
        )
    )
    _kinds[kind.code] = kind
    return kind


def get_rpc_kind(code: str) -> RpcKind:
    return _kinds[code]


# --- asking ------------------------------------------------------------------------------------


def rpc_call_start(
    *,
    kind: str,
    mo: Mo,
    user: Any,
    subject: str,
    payload: dict[str, Any],
    request: dict[str, Any] | None = None,
    person: PersonKeys | None = None,
) -> RpcCall:
    """Record a call and have it published in the background; returns at once. A call of the same
    kind about the same subject still in flight is returned instead of a second one (a double
    click asks once)."""
    spec = get_rpc_kind(kind)
    now = timezone.now()
    in_flight = RpcCall.objects.filter(kind=kind, mo=mo, subject=subject, state__in=RPC_IN_FLIGHT)
    existing = in_flight.first()
    if existing is not None and existing.deadline < now:
        rpc_expire(existing)  # its time is up: this click asks anew
    elif existing is not None:
        return existing
    try:
        with transaction.atomic():
            run = standing_run(spec.service, RunTrigger.ONLINE)
            package = package_form(
                run=run,
                package_type=spec.package_type,
                operation=Operation.QUERY,
                object_id=subject,
                payload=payload,
                mo=mo,
                person=person,
            )
            call = RpcCall(
                kind=kind,
                correlation_id=uuid.uuid4(),
                mo=mo,
                user=user if getattr(user, "pk", None) else None,
                subject=subject,
                request=request if request is not None else payload,
                package=package,
                deadline=now + dt.timedelta(seconds=spec.timeout_seconds()),
            )
            if package is None or package.status == S.FORM_ERROR:
                why = package.result if package is not None else "данные не изменились после ошибки"
                call.state, call.message = RpcState.FAILED, f"Запрос не сформирован: {why}"
            call.save()
    except IntegrityError:  # the same call recorded a moment ago by another request (a double click)
        existing = in_flight.first() or RpcCall.objects.filter(kind=kind, mo=mo, subject=subject).first()
        if existing is None:
            raise
        return existing
    if call.state == RpcState.SENDING:
        transaction.on_commit(partial(_publish_later, call.pk))
    return call


def _publish_later(call_id: int) -> None:
    try:
        background.enqueue(rpc_send, call_id, retry=False)  # a Celery broker down: said now
    except Exception as exc:  # the task queue refused it: said on the call at once, not after the deadline
        logger.warning("RPC call %s not queued for publishing", call_id, exc_info=True)
        _send_failed(call_id, f"очередь фоновых задач недоступна ({type(exc).__name__})")


@shared_task(name="servicelog.rpc_send", ignore_result=True)
def rpc_send(call_id: int) -> str:
    """Publish a recorded call (a background task: the web process never waits on the broker)."""
    call = RpcCall.objects.select_related("package").get(pk=call_id)
    if call.state != RpcState.SENDING or call.package is None:
        return str(call.state)
    remaining = (call.deadline - timezone.now()).total_seconds()
    if remaining <= 0:
        rpc_expire(call)
        return RpcState.EXPIRED
    package = call.package
    with transaction.atomic():  # claimed: a redelivered task (acks_late after a crash) publishes nothing
        RpcCall.objects.select_for_update().filter(pk=call_id).first()
        if Attempt.objects.filter(package=package, kind=Attempt.Kind.PUBLISH).exists():
            return str(call.state)
        attempt = Attempt.objects.create(package=package, kind=Attempt.Kind.PUBLISH, ok=None)
    kind = get_package_type(package.package_type)
    message = messaging.OutMessage(
        queue=messaging.queue_name(kind.queue),
        body=package.body.encode("utf-8"),
        message_id=package.message_id,
        type=package.package_type,
        reply_to=messaging.queue_name(messaging.RPC_REPLY),
        correlation_id=str(call.correlation_id).upper(),
        expiration_ms=max(int(remaining * 1000), 1),
    )
    outcome = messaging.get_backend().publish([message])[0]
    Attempt.objects.filter(pk=attempt.pk).update(ok=outcome.ok, detail=outcome.error)
    if not outcome.ok:
        _send_failed(call_id, outcome.error, recorded=True)
        return RpcState.FAILED
    with transaction.atomic():
        # the call first, then its package: the order the consumer locks them in (no deadlock)
        RpcCall.objects.filter(pk=call_id, state=RpcState.SENDING).update(state=RpcState.WAITING)
        locked = Package.objects.select_for_update().get(pk=package.pk)
        if locked.status == S.FORMED:  # the reply may have been applied already (it is that fast)
            package_set_status(locked, S.SENT)
    return RpcState.WAITING


def _send_failed(call_id: int, error: str, *, recorded: bool = False) -> None:
    with transaction.atomic():
        # no join: PostgreSQL locks no row of the nullable side of an outer join (the package)
        call = RpcCall.objects.select_for_update().get(pk=call_id)
        if call.state not in RPC_IN_FLIGHT:
            return
        call.state = RpcState.FAILED
        call.message = f"Запрос не отправлен в ТФОМС: {error}"
        call.save(update_fields=["state", "message"])
        if call.package_id is not None:
            package = Package.objects.select_for_update().get(pk=call.package_id)
            if not recorded:
                Attempt.objects.create(package=package, kind=Attempt.Kind.PUBLISH, ok=False, detail=error)
            if package.status == S.FORMED:
                package_set_status(package, S.SEND_ERROR, errors=[error])


# --- the deadline ------------------------------------------------------------------------------


def rpc_expire(call: RpcCall) -> bool:
    """End a call nobody answered in time, once (whoever comes first: the page's poll, the sweep,
    a late reply); its kind's fallback runs in the same transaction. False: not due, or done."""
    now = timezone.now()
    with transaction.atomic():
        ended = RpcCall.objects.filter(pk=call.pk, state__in=RPC_IN_FLIGHT, deadline__lt=now).update(
            state=RpcState.EXPIRED
        )
        if not ended:
            return False
        call.refresh_from_db()
        spec = get_rpc_kind(call.kind)
        waited = (call.deadline - call.created_at).total_seconds()
        message = f"ТФОМС не ответил за {waited:.0f} с"
        if spec.expired is not None:
            message = spec.expired(call)
        call.message = message
        call.save(update_fields=["message"])
        if call.package is not None:
            package = Package.objects.select_for_update().get(pk=call.package.pk)
            if package.status == S.FORMED:  # never published (the background task was lost or late)
                package_set_status(package, S.SEND_ERROR, errors=["срок ожидания ответа истёк до отправки"])
            log_write(
                package=package,
                run=package.run,
                level=LogEntry.Level.WARNING,
                message=f"Нет ответа ТФОМС за {waited:.0f} с: {message}",
            )
    return True


@shared_task(name="servicelog.rpc_expire", ignore_result=True)
def rpc_expire_due(limit: int = 200) -> int:
    """The sweep: calls whose deadline passed while nobody looked get their fallback too."""
    due = RpcCall.objects.filter(state__in=RPC_IN_FLIGHT, deadline__lt=timezone.now()).order_by("deadline")
    ended = 0
    for call in due[:limit]:
        try:
            ended += rpc_expire(call)
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # one call's fallback failing must not hold back the others
            logger.exception("RPC call %s: the fallback failed", call.pk)
            RpcCall.objects.filter(pk=call.pk, state__in=RPC_IN_FLIGHT).update(
                state=RpcState.EXPIRED, message="ТФОМС не ответил; действие по истечении срока не выполнено"
            )
    return ended


def rpc_refresh(call: RpcCall) -> RpcCall:
    """The call as the page shows it now (ended first when its deadline passed)."""
    if call.in_flight and call.deadline < timezone.now() and rpc_expire(call):
        call.refresh_from_db()
    return call


# --- the reply (the consumer) ------------------------------------------------------------------


def rpc_reply_apply(message: messaging.InMessage, inbox: InboundMessage) -> None:
    """A reply from our RPC reply queue, in the consumer's transaction (the inbox row is already
    there: a redelivered copy never comes here). An unknown correlation_id is logged and dropped; a
    reply that cannot be read, or whose handling fails, ends its call with the reason; the consumer
    always goes on (only a database failure propagates, and the reply comes back)."""
    try:
        with transaction.atomic():
            _reply_apply(message, inbox)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:  # a kind's bug must not make the reply come back for ever (G7)
        logger.exception("RPC reply %s not handled", message.message_id)
        call = _call_of(message.correlation_id)
        text = (
            f"Ответ ТФОМС не обработан: внутренняя ошибка ({type(exc).__name__}), "
            f"подробности в журнале сервера"
        )
        if call is not None and call.in_flight:
            RpcCall.objects.filter(pk=call.pk).update(
                state=RpcState.FAILED, message=text, answered_at=timezone.now()
            )
        log_write(
            run=standing_run("tfoms_auto"),
            mo=call.mo if call is not None else None,
            level=LogEntry.Level.ERROR,
            message=f"{text}: сообщение {message.message_id}.",
        )


def _reply_apply(message: messaging.InMessage, inbox: InboundMessage) -> None:
    call = _call_of(message.correlation_id)
    if call is None:
        logger.warning("RPC reply with an unknown correlation_id %r dropped", message.correlation_id)
        log_write(
            run=standing_run("tfoms_auto"),
            level=LogEntry.Level.WARNING,
            message=f"Ответ на неизвестный запрос пропущен: correlation_id={message.correlation_id or '—'}, "
            f"тип {message.type or '—'}, сообщение {message.message_id}.",
        )
        return
    package = (
        Package.objects.select_for_update().filter(pk=call.package_id).first() if call.package_id else None
    )
    inbox.package = package
    inbox.save(update_fields=["package"])
    if call.answered_at is not None:
        _log(call, package, f"Повторный ответ ТФОМС (сообщение {message.message_id}) пропущен.")
        return
    now = timezone.now()
    if call.in_flight and now > call.deadline:
        rpc_expire(call)  # the fallback first, if no one did it yet
        call.refresh_from_db()
    # Late is what the row says, not only the clock: a call already ended (no answer in time, or its
    # publish refused) is never answered again, whatever a host's clock says.
    late = not call.in_flight
    spec = get_rpc_kind(call.kind)
    reply = _read(spec, message.body)
    call.answered_at, call.late = now, late
    call.reply = {"ok": reply.ok, "data": reply.data}
    waited = (now - call.created_at).total_seconds()
    if late:
        call.message = (
            f"{call.message} Ответ ТФОМС пришёл после завершения запроса (через {waited:.0f} с) "
            f"и не применён."
        )
        call.message += f" Ответ: {reply.message}" if reply.message else ""
    else:
        call.state = RpcState.ANSWERED if reply.ok else RpcState.FAILED
        call.message = reply.message
        if spec.apply is not None and (reply.ok or reply.data):  # an error answer is applied too (history)
            verdict = _apply(spec, call, reply)
            if verdict is not None:  # what applying it came to: saved, or refused with the reason
                call.message = verdict.message
                call.state = RpcState.ANSWERED if verdict.ok else RpcState.FAILED
    call.save(update_fields=["answered_at", "late", "reply", "state", "message"])
    if package is not None:
        _package_answered(call, package, reply, late, message, waited)


NOT_APPLIED = "Ответ ТФОМС получен, но не применён"


def _call_of(correlation_id: str | None) -> RpcCall | None:
    try:
        key = uuid.UUID(str(correlation_id or "").strip())
    except ValueError:
        return None
    return RpcCall.objects.select_for_update().filter(correlation_id=key).first()


def _read(spec: RpcKind, body: bytes) -> RpcReply:
    try:
        root = parse_xml(body)
    except XmlRejected as exc:
        return RpcReply(False, message=f"Ответ ТФОМС не прочитан: {exc}")
    xsd = spec.reply_xsd.get(str(root.tag))
    if xsd is None:
        expected = ", ".join(spec.reply_xsd) or "—"
        return RpcReply(False, message=f"Ответ ТФОМС не прочитан: получен {root.tag}, ожидался {expected}")
    errors = validate(root, load_schema(xsd))
    if errors:
        return RpcReply(False, message=f"Ответ ТФОМС не соответствует схеме: {'; '.join(errors[:3])}")
    try:
        return spec.read(root)
    except ReplyUnreadable as exc:
        return RpcReply(False, message=f"Ответ ТФОМС не прочитан: {exc}")


def _apply(spec: RpcKind, call: RpcCall, reply: RpcReply) -> RpcReply | None:
    assert spec.apply is not None
    try:
        with transaction.atomic():
            return spec.apply(call, reply)
    except (OperationalError, InterfaceError):
        raise  # the database is down: the reply comes back
    except Exception as exc:  # the reply's data refused (a policy that does not fit): said on the call
        logger.exception("RPC reply of %s not applied", call.kind)
        return RpcReply(False, message=f"{NOT_APPLIED}: {exc}")


def _package_answered(
    call: RpcCall,
    package: Package,
    reply: RpcReply,
    late: bool,
    message: messaging.InMessage,
    waited: float,
) -> None:
    package.reply = {
        "RESULT": "OK" if reply.ok else "ERROR",
        "ok": reply.ok,
        "message": call.message,  # what the answer came to (a policy refused is said here too)
        "data": reply.data,
        "late": late,
        "message_id": message.message_id,
        "at": timezone.now().isoformat(),
    }
    package.save(update_fields=["reply"])
    Attempt.objects.create(
        package=package, kind=Attempt.Kind.REPLY, ok=reply.ok, detail=reply.message[:2000] or "OK"
    )
    if late:
        _log(call, package, f"Ответ ТФОМС получен после срока ожидания (через {waited:.0f} с).")
    if package.status in (S.FORMED, S.SENT, S.SEND_ERROR):
        package_set_status(package, S.ACCEPTED if reply.ok else S.REJECTED_BY_FUND, errors=[reply.message])


def _log(call: RpcCall, package: Package | None, text: str) -> None:
    log_write(
        package=package,
        run=package.run if package is not None else None,
        mo=call.mo,
        level=LogEntry.Level.WARNING,
        message=text,
    )
