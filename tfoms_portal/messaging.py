"""The portal's only pika user: confirmed publishing and consuming, over RabbitMQ or in-process (DESIGN §3).

Two backends with one interface: `amqp` (production and CI) when TFOMS_AMQP_URL is set, `locmem`
(unit tests and the embedded demo) otherwise. Callers never see pika: they get outcomes and messages.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlsplit

import pika
import pika.exceptions
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# Logical queue names of DESIGN §3; the broker's names come from settings (with an optional prefix).
FROM_MIS = "from_mis"  # our packages to the fund
FROM_MIS_ANSWER = "from_mis_answer"  # our answers to the fund's packages
TO_MIS = "to_mis"  # the fund's packages to us
TO_MIS_ANSWER = "to_mis_answer"  # the fund's answers to our packages
ISZL_REQUEST = "iszl_request"
ISZL_REPLY = "iszl_reply"
ISZL_RPC = "iszl_rpc"
RPC_REPLY = "rpc_reply"  # ours: the replies to our RPC requests (reply_to), read by every consumer
LOCMEM_RETRY_PAUSE = 1.0  # seconds before the in-process consumer tries a failed batch again


def queue_name(logical: str) -> str:
    return f"{settings.TFOMS_QUEUE_PREFIX}{settings.TFOMS_QUEUES[logical]}"


def all_queues() -> list[str]:
    return [queue_name(logical) for logical in settings.TFOMS_QUEUES]


class MessagingError(Exception):
    """The broker cannot be used now; the message is Russian and goes into the package's log."""


@dataclass(frozen=True)
class OutMessage:
    queue: str  # the broker's queue name (routing key on the default exchange)
    body: bytes
    message_id: str
    type: str
    reply_to: str | None = None
    correlation_id: str | None = None
    expiration_ms: int | None = None  # an RPC request the broker drops once its asker stopped waiting


@dataclass(frozen=True)
class PublishOutcome:
    message_id: str
    error: str = ""  # empty: the broker confirmed it (persisted); otherwise why it was not

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class InMessage:
    queue: str
    body: bytes
    message_id: str  # the AMQP message_id, or a hash of the body when the sender gave none
    type: str
    redelivered: bool = False
    reply_to: str | None = None
    correlation_id: str | None = None


Handler = Callable[[InMessage], None]
BatchHandler = Callable[[list[InMessage]], None]


class Backend(Protocol):
    def publish(self, messages: Sequence[OutMessage]) -> list[PublishOutcome]: ...

    def consume(
        self, queues: Sequence[str], handler: Handler, *, should_stop: Callable[[], bool]
    ) -> None: ...

    def consume_batches(
        self,
        queues: Sequence[str],
        handler: BatchHandler,
        *,
        should_stop: Callable[[], bool],
        max_batch: int,
    ) -> None: ...

    def ping(self) -> str: ...

    def queue_depth(self, queue: str) -> int | None: ...

    def close(self) -> None: ...


def _message_id(message_id: str | None, body: bytes) -> str:
    return message_id or f"sha256:{hashlib.sha256(body).hexdigest()}"


def _properties(message: OutMessage, user_id: str | None) -> pika.BasicProperties:
    """AMQP properties of formats §2.2."""
    return pika.BasicProperties(
        app_id=settings.TFOMS_APP_ID,
        user_id=user_id,
        type=message.type,
        message_id=message.message_id,
        content_type="Xml",
        content_encoding="utf-8",
        delivery_mode=pika.DeliveryMode.Persistent,
        reply_to=message.reply_to,
        correlation_id=message.correlation_id,
        expiration=str(message.expiration_ms) if message.expiration_ms is not None else None,
        timestamp=int(time.time()),
    )


# --- amqp ------------------------------------------------------------------------------------


class AmqpBackend:
    """pika over a BlockingConnection, one per thread (pika connections are single-threaded).

    Publishing keeps a window of unconfirmed messages: it publishes on the channel's underlying
    asynchronous implementation and collects the broker's acks, nacks and returns as they come,
    instead of one round trip per message (BlockingChannel.confirm_delivery would wait for each).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.user_id = urlsplit(url).username or None
        self._local = threading.local()

    # connection ----------------------------------------------------------------------------

    def _parameters(self) -> pika.URLParameters:
        params = pika.URLParameters(self.url)
        if "heartbeat" not in self.url:
            params.heartbeat = settings.TFOMS_AMQP_HEARTBEAT
        params.blocked_connection_timeout = settings.TFOMS_CONFIRM_TIMEOUT_SECONDS
        params.connection_attempts = 1
        params.socket_timeout = 10
        return params

    def _connect(self) -> Any:
        """A connection with the topology checked; retried with back-off, then a clear error."""
        delay = 0.5
        last_error: Exception | None = None
        for _ in range(settings.TFOMS_AMQP_CONNECT_ATTEMPTS):
            try:
                connection = pika.BlockingConnection(self._parameters())
                self._check_topology(connection)
                return connection
            except MessagingError:
                raise
            except pika.exceptions.AMQPError as exc:
                last_error = exc
                time.sleep(delay)
                delay = min(delay * 2, 8)
        raise MessagingError(f"Брокер RabbitMQ недоступен: {_describe(last_error)}")

    def _check_topology(self, connection: Any) -> None:
        """Passive declaration first (works with classic and quorum queues alike); a missing queue is
        declared durable only when we own the topology (development, CI), else it is an error."""
        channel = connection.channel()
        for name in all_queues():
            try:
                channel.queue_declare(name, passive=True)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code != 404 or not settings.TFOMS_DECLARE_QUEUES:
                    connection.close()
                    raise MessagingError(f"Очередь «{name}» не найдена у брокера: {exc.reply_text}") from exc
                channel = connection.channel()  # the broker closed the channel that asked
                channel.queue_declare(name, durable=True)
        channel.close()

    def _channel(self) -> tuple[Any, Any]:
        connection = getattr(self._local, "connection", None)
        channel = getattr(self._local, "channel", None)
        if connection is None or not connection.is_open or channel is None or not channel.is_open:
            self.close()
            connection = self._connect()
            channel = connection.channel()
            self._local.connection, self._local.channel = connection, channel
            self._local.confirming = False
        return connection, channel

    def close(self, *, abandon: bool = False) -> None:
        """Close this thread's connection; `abandon` after the broker stopped answering drops the
        socket instead, since pika's close waits for the broker's Close-Ok without a time limit and a
        stalled link would hold the relay for ever (integration.md T5, issue 16)."""
        connection = getattr(self._local, "connection", None)
        self._local.connection = self._local.channel = None
        if connection is None or not connection.is_open:
            return
        with contextlib.suppress(pika.exceptions.AMQPError):
            if abandon:  # pika has no public abort: its own stream-lost path, as when the peer vanishes
                # a private method: pyproject keeps pika below 1.5 (tested with 1.4), so a release that
                # renames it is taken only with this line checked
                connection._impl._terminate_stream(pika.exceptions.StreamLostError("соединение брошено"))
                connection.process_data_events(time_limit=0)
            else:
                connection.close()

    def ping(self) -> str:
        try:
            self._channel()
        except MessagingError as exc:
            return str(exc)
        return ""

    def queue_depth(self, queue: str) -> int | None:
        """Messages waiting in a queue (a passive declare), None when the broker cannot say."""
        try:
            connection, _ = self._channel()
            channel = connection.channel()
            try:
                return int(channel.queue_declare(queue, passive=True).method.message_count)
            finally:
                if channel.is_open:
                    channel.close()
        except (MessagingError, pika.exceptions.AMQPError):
            return None

    # publishing ----------------------------------------------------------------------------

    def publish(self, messages: Sequence[OutMessage]) -> list[PublishOutcome]:
        if not messages:
            return []
        try:
            return self._publish(messages)
        except MessagingError as exc:
            self.close(abandon=True)
            return [PublishOutcome(m.message_id, str(exc)) for m in messages]
        except pika.exceptions.AMQPError as exc:
            self.close(abandon=True)
            error = f"соединение с брокером потеряно: {_describe(exc)}"
            return [PublishOutcome(m.message_id, error) for m in messages]

    def _publish(self, messages: Sequence[OutMessage]) -> list[PublishOutcome]:
        connection, channel = self._channel()
        impl = channel._impl  # the asynchronous channel under the blocking one
        state = _ConfirmState()
        if not self._local.confirming:
            impl.confirm_delivery(ack_nack_callback=lambda frame: self._local.state.on_confirm(frame))
            impl.add_on_return_callback(
                lambda _ch, method, props, _body: self._local.state.on_return(method, props)
            )
            connection.process_data_events(time_limit=0)
            self._local.confirming = True
            self._local.next_tag = 0
        self._local.state = state
        deadline = time.monotonic() + settings.TFOMS_CONFIRM_TIMEOUT_SECONDS
        window = settings.TFOMS_CONFIRM_WINDOW
        for message in messages:
            while len(state.pending) >= window:
                self._wait(connection, deadline)
            self._local.next_tag += 1
            state.pending[self._local.next_tag] = message.message_id
            impl.basic_publish(
                exchange="",
                routing_key=message.queue,
                body=message.body,
                properties=_properties(message, self.user_id),
                mandatory=True,
            )
        while state.pending:
            self._wait(connection, deadline)
        return [PublishOutcome(m.message_id, state.errors.get(m.message_id, "")) for m in messages]

    def _wait(self, connection: Any, deadline: float) -> None:
        if time.monotonic() > deadline:
            raise MessagingError(
                f"брокер не подтвердил приём за {settings.TFOMS_CONFIRM_TIMEOUT_SECONDS} с "
                f"(возможно, сработало ограничение ресурсов брокера)"
            )
        connection.process_data_events(time_limit=0.001)

    # consuming -----------------------------------------------------------------------------

    def consume(self, queues: Sequence[str], handler: Handler, *, should_stop: Callable[[], bool]) -> None:
        """Deliver messages to `handler` one by one; ack only after it returned (it commits first).
        A handler exception (the database is down) rejects with requeue after a pause."""

        def one_by_one(messages: list[InMessage]) -> None:
            handler(messages[0])

        self.consume_batches(queues, one_by_one, should_stop=should_stop, max_batch=1)

    def consume_batches(
        self,
        queues: Sequence[str],
        handler: BatchHandler,
        *,
        should_stop: Callable[[], bool],
        max_batch: int,
    ) -> None:
        """Deliver what has arrived, up to `max_batch` messages in delivery order, to `handler`; ack
        them together only after it returned (it commits first). A handler exception (the database
        is down) rejects them with requeue after a pause. A batch is not waited for: whatever came
        within a few milliseconds goes, so a lone message is not delayed."""
        connection, channel = self._channel()
        # The next batch is already here while one is applied: no round trip to the broker between them.
        channel.basic_qos(prefetch_count=max(settings.TFOMS_CONSUMER_PREFETCH, 2 * max_batch))
        pending: list[tuple[int, InMessage]] = []
        pause = 0.0  # after a failed batch (our database down): 2, 4 … 60 s, said once

        def on_message(ch: Any, method: Any, props: Any, body: bytes) -> None:
            message = InMessage(
                queue=method.routing_key,  # the queue's name: we publish on the default exchange
                body=body,
                message_id=_message_id(props.message_id, body),
                type=props.type or "",
                redelivered=bool(method.redelivered),
                reply_to=props.reply_to,
                correlation_id=props.correlation_id,
            )
            pending.append((method.delivery_tag, message))

        try:
            tags = [channel.basic_consume(q, on_message_callback=on_message, auto_ack=False) for q in queues]
            while not should_stop():
                connection.process_data_events(time_limit=0 if pending else 1)
                deadline = time.monotonic() + 0.01
                while pending and len(pending) < max_batch and time.monotonic() < deadline:
                    connection.process_data_events(time_limit=0.002)
                if not pending:
                    continue
                batch, pending[:] = pending[:max_batch], pending[max_batch:]
                last = batch[-1][0]  # delivery tags grow in delivery order: `multiple` covers the batch
                try:
                    handler([message for _, message in batch])
                except Exception:
                    if not pause:
                        logger.exception("%d inbound message(s) not handled; requeued", len(batch))
                    pause = min(pause * 2, 60.0) if pause else settings.TFOMS_CONSUMER_RETRY_SECONDS
                    logger.warning("inbound batch requeued; next try in %.0f s", pause)
                    # back to the queue: the batch and whatever was delivered after it, in order
                    channel.basic_nack(pending[-1][0] if pending else last, multiple=True, requeue=True)
                    pending.clear()
                    connection.sleep(pause)
                    continue
                if pause:
                    logger.warning("inbound messages handled again after a failure")
                    pause = 0.0
                channel.basic_ack(last, multiple=True)
            for tag in tags:
                channel.basic_cancel(tag)
        except pika.exceptions.AMQPError as exc:
            self.close()
            raise MessagingError(f"соединение с брокером потеряно: {_describe(exc)}") from exc


@dataclass
class _ConfirmState:
    pending: dict[int, str] = field(default_factory=dict)  # delivery tag → message_id
    returned: dict[str, str] = field(default_factory=dict)  # message_id → why it was unroutable
    errors: dict[str, str] = field(default_factory=dict)

    def on_return(self, method: Any, props: Any) -> None:
        # The broker sends basic.return before the basic.ack of an unroutable mandatory message.
        self.returned[props.message_id] = (
            f"сообщение не доставлено в очередь «{method.routing_key}» "
            f"({method.reply_code} {method.reply_text})"
        )

    def on_confirm(self, frame: Any) -> None:
        method = frame.method
        tags = (
            [t for t in self.pending if t <= method.delivery_tag]
            if method.multiple
            else [method.delivery_tag]
        )
        nack = isinstance(method, pika.spec.Basic.Nack)
        for tag in tags:
            message_id = self.pending.pop(tag, None)
            if message_id is None:
                continue
            if nack:
                self.errors[message_id] = "брокер отказал в приёме (basic.nack)"
            elif message_id in self.returned:
                self.errors[message_id] = self.returned[message_id]


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "нет ответа"
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if text != exc.__class__.__name__ else text


# --- locmem ----------------------------------------------------------------------------------


class LocmemBackend:
    """In-process: our packages go straight to the peer (the emulator's `handle`), its replies wait in
    in-memory queues until consumed. Same interface and the same refusals as the real broker."""

    def __init__(self, peer_path: str) -> None:
        self.peer_path = peer_path
        self.known = set(all_queues())  # "declared" once, as a broker's queues are
        self.queues: dict[str, deque[InMessage]] = {}
        self.lock = threading.Lock()
        self.published: list[OutMessage] = []  # for tests and the demo's curiosity

    def _peer(self) -> Callable[..., list[dict[str, Any]]]:
        """handle(type, properties, body, queue=...) -> [{"queue", "properties", "body"}, …]"""
        peer: Callable[..., list[dict[str, Any]]] = import_string(self.peer_path)
        return peer

    def publish(self, messages: Sequence[OutMessage]) -> list[PublishOutcome]:
        outcomes = []
        known = self.known
        peer_queues = {
            queue_name(FROM_MIS),
            queue_name(FROM_MIS_ANSWER),
            queue_name(ISZL_REQUEST),
            queue_name(ISZL_RPC),
        }
        # the queues of other peers the emulator plays (each pharmacy organisation's ИС Фармация)
        others = tuple(settings.TFOMS_LOCMEM_PEER_QUEUE_PREFIXES)
        for message in messages:
            another_peer = bool(others) and message.queue.startswith(others)
            to_peer = another_peer or message.queue in peer_queues
            if message.queue not in known and not another_peer:
                outcomes.append(
                    PublishOutcome(
                        message.message_id,
                        f"сообщение не доставлено в очередь «{message.queue}» (312 NO_ROUTE)",
                    )
                )
                continue
            with self.lock:
                self.published.append(message)
            if to_peer:
                properties = {
                    "type": message.type,
                    "message_id": message.message_id,
                    "reply_to": message.reply_to,
                    "correlation_id": message.correlation_id,
                    "app_id": settings.TFOMS_APP_ID,
                }
                for reply in self._peer()(message.type, properties, message.body, queue=message.queue):
                    self._deliver_later(reply)
            else:
                self.deliver(
                    message.queue, message.body, {"type": message.type, "message_id": message.message_id}
                )
            outcomes.append(PublishOutcome(message.message_id))
        return outcomes

    def _deliver_later(self, reply: dict[str, Any]) -> None:
        """A peer's reply, now or after the `delay` it asks for (the emulator's late RPC answer)."""
        delay = float(reply.get("delay") or 0)
        deliver = partial(self.deliver, reply["queue"], reply["body"], reply.get("properties", {}))
        if delay <= 0:
            deliver()
            return
        timer = threading.Timer(delay, deliver)
        timer.daemon = True
        timer.start()

    def deliver(self, queue: str, body: bytes, properties: dict[str, Any]) -> None:
        """Put a message into an in-memory queue (the peer's replies; tests' own inbound packages)."""
        name = queue if queue in self.known else queue_name(queue)  # a broker name or a logical one
        message = InMessage(
            queue=name,
            body=body,
            message_id=_message_id(properties.get("message_id"), body),
            type=properties.get("type") or "",
            reply_to=properties.get("reply_to"),
            correlation_id=properties.get("correlation_id"),
        )
        with self.lock:
            self.queues.setdefault(name, deque()).append(message)

    def drain(self, queues: Sequence[str], handler: Handler) -> int:
        """Hand every waiting message to `handler`; a failing one goes back to the queue's head."""
        handled = 0
        for name in queues:
            while True:
                with self.lock:
                    pending = self.queues.get(name)
                    if not pending:
                        break
                    message = pending.popleft()
                try:
                    handler(message)
                except Exception:
                    with self.lock:
                        self.queues[name].appendleft(message)
                    raise
                handled += 1
        return handled

    def consume(self, queues: Sequence[str], handler: Handler, *, should_stop: Callable[[], bool]) -> None:
        while not should_stop():
            if not self.drain(queues, handler):
                time.sleep(0.2)

    def consume_batches(
        self,
        queues: Sequence[str],
        handler: BatchHandler,
        *,
        should_stop: Callable[[], bool],
        max_batch: int,
    ) -> None:
        """As the broker's: what waits, up to `max_batch` in queue order, handed over together; a
        failing batch (the database is down or busy) goes back to the heads of its queues and comes
        again after a pause: the consumer lives on, as the broker's does."""
        while not should_stop():
            batch: list[InMessage] = []
            with self.lock:
                for name in queues:
                    pending = self.queues.get(name)
                    while pending and len(batch) < max_batch:
                        batch.append(pending.popleft())
            if not batch:
                time.sleep(0.2)
                continue
            try:
                handler(batch)
            except Exception:
                logger.exception("%d inbound message(s) not handled; requeued", len(batch))
                with self.lock:
                    for message in reversed(batch):
                        self.queues.setdefault(message.queue, deque()).appendleft(message)
                time.sleep(LOCMEM_RETRY_PAUSE)

    def ping(self) -> str:
        return ""

    def queue_depth(self, queue: str) -> int | None:
        with self.lock:
            return len(self.queues.get(queue, ()))

    def close(self) -> None:
        return None


_backend: Backend | None = None
_backend_lock = threading.Lock()


def get_backend() -> Backend:
    """The process's backend: amqp when TFOMS_AMQP_URL is set, else locmem with the configured peer."""
    global _backend
    with _backend_lock:
        if _backend is None:
            url = settings.TFOMS_AMQP_URL
            _backend = AmqpBackend(url) if url else LocmemBackend(settings.TFOMS_LOCMEM_PEER)
        return _backend


def reset_backend() -> None:
    """Forget the process's backend (tests switch settings; a forked worker starts afresh)."""
    global _backend
    with _backend_lock:
        if _backend is not None:
            _backend.close()
        _backend = None
