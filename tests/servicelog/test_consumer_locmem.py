"""The demo's in-process consumer lives through a failing batch, as `runconsumer` does on the broker.

A busy or lost database (SQLite's "database is locked" in the demo) once ended the consumer thread
for good: the fund's answers then waited for ever and nobody was told (C8)."""

from __future__ import annotations

import threading

from tfoms_portal import messaging


def test_a_failed_batch_comes_again_and_the_consumer_lives_on(settings, monkeypatch):
    monkeypatch.setattr(messaging, "LOCMEM_RETRY_PAUSE", 0.01)
    backend = messaging.LocmemBackend(settings.TFOMS_LOCMEM_PEER)
    queue = messaging.queue_name(messaging.TO_MIS_ANSWER)
    backend.deliver(queue, b"<ANSWER>1</ANSWER>", {"message_id": "m1"})
    backend.deliver(queue, b"<ANSWER>2</ANSWER>", {"message_id": "m2"})
    attempts: list[list[str]] = []
    handled: list[str] = []
    done = threading.Event()

    def handler(batch: list[messaging.InMessage]) -> None:
        attempts.append([m.message_id for m in batch])
        if len(attempts) == 1:
            raise RuntimeError("database is locked")
        handled.extend(m.message_id for m in batch)
        if len(handled) == 3:
            done.set()

    consumer = threading.Thread(
        target=backend.consume_batches,
        args=([queue], handler),
        kwargs={"should_stop": done.is_set, "max_batch": 10},
        daemon=True,
    )
    consumer.start()
    while len(attempts) < 2 and consumer.is_alive():
        threading.Event().wait(0.01)
    backend.deliver(queue, b"<ANSWER>3</ANSWER>", {"message_id": "m3"})  # after the failure
    consumer.join(timeout=5)

    assert attempts[0] == ["m1", "m2"]  # failed, back to the queue's head
    assert handled == ["m1", "m2", "m3"]  # in order, none lost, and the consumer went on
