"""The emulator over RabbitMQ (pika): declare the queues, consume the МО's messages, publish the answers.

Consumed: tfoms.from_mis, tfoms.from_mis.answer and iszl.request; each reply goes to the queue it names
(tfoms.to_mis.answer for the fund's ANSWERs, iszl.reply for the ISZL's replies)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from .core import Emulator, Message, Outcome, Queues

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
HEARTBEAT_SECONDS = 60
MAX_BACKOFF_SECONDS = 30.0
PROPERTY_NAMES = (
    "content_type",
    "content_encoding",
    "headers",
    "delivery_mode",
    "priority",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_id",
    "timestamp",
    "type",
    "user_id",
    "app_id",
    "cluster_id",
)
# Errors a reconnect cannot fix: wrong credentials or permissions.
_FATAL = (
    pika.exceptions.AuthenticationError,
    pika.exceptions.ProbableAuthenticationError,
    pika.exceptions.ProbableAccessDeniedError,
)


def amqp_url(url: str | None = None) -> str:
    """The broker URL: the argument, else TFOMS_AMQP_URL, else the local guest broker."""
    return url or os.environ.get("TFOMS_AMQP_URL") or DEFAULT_URL


def connection_parameters(url: str) -> pika.URLParameters:
    """URL parameters with a heartbeat unless the URL sets one, and a name visible in the management UI."""
    parameters = pika.URLParameters(url)
    if "heartbeat" not in parse_qs(urlsplit(url).query):
        parameters.heartbeat = HEARTBEAT_SECONDS
    parameters.client_properties = {"connection_name": "tfoms_emulator"}
    return parameters


def declare_queues(connection: BlockingConnection, queues: Queues) -> BlockingChannel:
    """Declare the durable classic queues; one that exists with other arguments (quorum) is kept as is."""
    channel = connection.channel()
    for name in queues.declared():
        try:
            channel.queue_declare(name, durable=True, arguments={"x-queue-type": "classic"})
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 406:  # PRECONDITION_FAILED: declared before with other arguments
                raise
            channel = connection.channel()
            channel.queue_declare(name, passive=True)
    return channel


def publish(channel: BlockingChannel, message: Message) -> None:
    """Publish persistently to the default exchange; with confirms on, returns after the broker's ack."""
    channel.basic_publish(
        exchange="",
        routing_key=message["queue"],
        body=message["body"],
        properties=pika.BasicProperties(**message["properties"]),
        mandatory=True,
    )


def properties_dict(properties: pika.BasicProperties) -> dict[str, Any]:
    return {name: value for name in PROPERTY_NAMES if (value := getattr(properties, name)) is not None}


def describe(outcome: Outcome, delay: float = 0.0) -> str:
    """One stdout line per message, e.g. `DISTRICT 1A2B… Insert → ERROR 904 Участок не найден (…)`."""
    head = f"{outcome.package_type or '-'} {outcome.message_id or '-'}"
    if outcome.recorded:
        line = f"{head} → записан ответ МО: {outcome.result or '?'}"
    else:
        line = f"{head} {outcome.operation or '-'} → {outcome.result}"
    if outcome.errors:
        details = "; ".join(f"{e.code} {e.name}" for e in outcome.errors)
        line += f" {details[:300]}{'…' if len(details) > 300 else ''}"
    notes = [
        "повтор message_id" if outcome.replayed else "",
        "ответ потерян (имитация)" if outcome.dropped else "",
        "ответ продублирован (имитация)" if outcome.duplicated else "",
        f"задержка {delay:g} с" if delay and outcome.replies else "",
        outcome.note,
    ]
    return line + "".join(f" [{note}]" for note in notes if note)


class Server:
    """Consume tfoms.from_mis, tfoms.from_mis.answer, iszl.request and iszl.rpc; publish the replies
    (confirmed), each to the queue it names (an RPC answer to its reply_to), before each ack."""

    def __init__(
        self,
        emulator: Emulator,
        url: str,
        *,
        prefetch: int = 10,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.emulator = emulator
        self.url = url
        self.prefetch = prefetch
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._stopping = False
        self._pending = 0  # delayed messages not yet answered and acked
        self._consuming = False  # set once a connection reached `ready`: the back-off starts over

    def stop(self) -> None:
        """Ask the loop to finish: no new deliveries, delayed answers still published, then close."""
        self._stopping = True

    def run(self) -> None:
        """Serve until stop(); reconnect with back-off when the broker goes away (state is kept)."""
        backoff = 1.0
        while not self._stopping:
            self._consuming = False
            try:
                self._serve()
                return
            except _FATAL:
                raise
            except pika.exceptions.AMQPError as exc:
                backoff = 1.0 if self._consuming else backoff
                self._say(f"нет связи с RabbitMQ ({exc!r}); повтор через {backoff:g} с", self.err)
            deadline = time.monotonic() + backoff
            while not self._stopping and time.monotonic() < deadline:
                time.sleep(0.1)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _say(self, line: str, stream: TextIO | None = None) -> None:
        print(line, file=stream or self.out, flush=True)

    def _serve(self) -> None:
        connection = pika.BlockingConnection(connection_parameters(self.url))
        try:
            queues = self.emulator.queues
            channel = declare_queues(connection, queues)
            channel.confirm_delivery()
            channel.basic_qos(prefetch_count=self.prefetch)
            self._pending = 0
            tags = [
                channel.basic_consume(queue, self._on_message_from(connection, queue))
                for queue in (
                    queues.from_mis,
                    queues.from_mis_answer,
                    queues.iszl_request,
                    queues.iszl_rpc,
                    *queues.pharmacies,
                )
            ]
            self._consuming = True
            self._say("ready")
            while not self._stopping:
                connection.process_data_events(time_limit=0.5)
            for tag in tags:
                channel.basic_cancel(tag)
            while self._pending:
                connection.process_data_events(time_limit=0.2)
            channel.close()
            self._say("stopped")
        finally:
            if connection.is_open:
                connection.close()

    def _on_message_from(self, connection: BlockingConnection, queue: str) -> Callable[..., None]:
        def on_message(
            channel: BlockingChannel,
            method: pika.spec.Basic.Deliver,
            properties: pika.BasicProperties,
            body: bytes,
        ) -> None:
            try:
                outcome = self.emulator.process(
                    properties.type or "", properties_dict(properties), body, queue
                )
            except Exception as exc:  # a message our code cannot handle is said and acked, never a crash loop
                self._say(
                    f"{properties.type or '-'} {properties.message_id or '-'} → не обработано: {exc!r}",
                    self.err,
                )
                channel.basic_ack(method.delivery_tag)
                return
            # a late RPC answer asks for its own delay (rpc.py)
            delay = max([self.emulator.faults.delay_seconds, *(r.get("delay", 0) for r in outcome.replies)])
            tag = method.delivery_tag
            if delay > 0 and outcome.replies:
                self._pending += 1

                def later() -> None:
                    self._pending -= 1
                    self._finish(channel, tag, outcome, delay)

                connection.call_later(delay, later)
            else:
                self._finish(channel, tag, outcome, 0.0)

        return on_message

    def _finish(self, channel: BlockingChannel, tag: int, outcome: Outcome, delay: float) -> None:
        line = describe(outcome, delay)
        for reply in outcome.replies:
            try:
                publish(channel, reply)
            except pika.exceptions.UnroutableError:
                # The answer queue is gone: nothing to retry into; the answer is lost like a dropped one.
                line += f" [ответ не доставлен: нет очереди {reply['queue']}]"
        channel.basic_ack(tag)
        self._say(line)
