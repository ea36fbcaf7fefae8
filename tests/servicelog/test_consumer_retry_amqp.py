"""Issue 16: with our database down the consumer backs off (2, 4 … 60 s) instead of spinning, and
the batch is applied once the database is back; over the real RabbitMQ."""

from __future__ import annotations

import itertools
import time

import pytest
from django.db import OperationalError

from tests.attachment.test_district_amqp import amqp  # noqa: F401  (the test's own queues)
from tfoms_portal import messaging

pytestmark = pytest.mark.amqp


def test_a_batch_that_fails_comes_back_later_and_later_then_is_handled(amqp, settings):  # noqa: F811
    settings.TFOMS_CONSUMER_RETRY_SECONDS = 0.2
    backend = messaging.get_backend()
    queue = messaging.queue_name(messaging.TO_MIS_ANSWER)
    [outcome] = backend.publish(
        [messaging.OutMessage(queue=queue, body=b"<ANSWER/>", message_id="m1", type="ANSWER")]
    )
    assert not outcome.error
    tries: list[float] = []
    handled: list[str] = []

    def handler(batch: list[messaging.InMessage]) -> None:
        tries.append(time.monotonic())
        if len(tries) < 4:
            raise OperationalError("could not connect to server")  # our database is down
        handled.extend(m.message_id for m in batch)

    deadline = time.monotonic() + 20
    backend.consume_batches(
        [queue], handler, should_stop=lambda: bool(handled) or time.monotonic() > deadline, max_batch=10
    )
    gaps = [later - earlier for earlier, later in itertools.pairwise(tries)]
    assert handled == ["m1"]  # nothing lost: the same message, applied once the database is back
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8  # backing off, not spinning
