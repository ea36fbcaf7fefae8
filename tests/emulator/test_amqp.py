"""`python -m tfoms_emulator` as a separate process against the real RabbitMQ, on its own test queues."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pika
import pytest

from tfoms_emulator import Queues

from . import iszl_samples
from .samples import REPO, answer_of, district, message_id

pytestmark = pytest.mark.amqp


class Process:
    """A child process whose stdout lines are collected by a thread, so waiting can time out."""

    def __init__(self, *args: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "tfoms_emulator", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, predicate, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.popen.poll() is None, f"the emulator exited: {self.seen}"
                continue
            self.seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"no such line within {timeout} s: {self.seen}")

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=10)


@pytest.fixture
def url() -> str:
    return os.environ["TFOMS_AMQP_URL"]


@pytest.fixture
def queues(url) -> Iterator[Queues]:
    """Queues of this test only (prefix unique per run, the ISZL ones too); deleted afterwards."""
    prefix = f"test.emulator.{uuid.uuid4().hex[:10]}."
    names = Queues.with_prefix(prefix, iszl_request=f"{prefix}iszl.request", iszl_reply=f"{prefix}iszl.reply")
    yield names
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    for name in names.declared():
        channel.queue_delete(name)
    connection.close()


def serve(url: str, queues: Queues, *extra: str) -> Process:
    """`python -m tfoms_emulator serve` on these queues."""
    prefix = queues.from_mis.removesuffix("from_mis")
    names = ("--iszl-request", queues.iszl_request, "--iszl-reply", queues.iszl_reply)
    return Process("serve", "--amqp", url, "--queue-prefix", prefix, *names, *extra)


def get_one(channel, queue_name: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue_name, auto_ack=True)
        if method is not None:
            return properties, body
        time.sleep(0.1)
    raise AssertionError(f"nothing arrived in {queue_name} within {timeout} s")


def test_serve_answers_a_district_package_and_stops_on_sigterm(url, queues):
    emulator = serve(url, queues)
    try:
        emulator.wait_for(lambda line: line == "ready")
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        mid = message_id()
        channel.basic_publish(
            "",
            queues.from_mis,
            district("Insert", 7),
            pika.BasicProperties(
                type="DISTRICT",
                message_id=mid,
                content_type="Xml",
                content_encoding="utf-8",
                app_id="Promed",
                delivery_mode=2,
            ),
        )
        properties, body = get_one(channel, queues.to_mis_answer)
        connection.close()

        answer = answer_of(body)
        assert (answer["message_id"], answer["result"], answer["type"]) == (mid, "OK", "DISTRICT")
        assert answer["queue_name"] == queues.from_mis
        assert properties.type == "ANSWER" and properties.app_id == "TFOMS"
        assert properties.delivery_mode == 2 and properties.message_id != mid
        assert emulator.wait_for(lambda line: mid in line) == f"DISTRICT {mid} Insert → OK"

        emulator.popen.send_signal(signal.SIGTERM)
        assert emulator.popen.wait(timeout=15) == 0
    finally:
        emulator.kill()


def test_push_publishes_the_funds_package_to_the_mo(url, queues, tmp_path):
    package = tmp_path / "polis.xml"
    package.write_bytes(b'<?xml version="1.0" encoding="utf-8"?><PKG/>')
    prefix = queues.from_mis.removesuffix("from_mis")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfoms_emulator",
            "push",
            "POLIS",
            str(package),
            "--amqp",
            url,
            "--queue-prefix",
            prefix,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )
    assert done.returncode == 0, done.stderr

    connection = pika.BlockingConnection(pika.URLParameters(url))
    properties, body = get_one(connection.channel(), queues.to_mis)
    connection.close()
    assert body == package.read_bytes()
    assert properties.type == "POLIS" and properties.reply_to == queues.from_mis_answer
    assert properties.message_id in done.stdout


def test_serve_replies_to_iszl_packages_on_the_iszl_reply_queue(url, queues):
    emulator = serve(url, queues)
    try:
        emulator.wait_for(lambda line: line == "ready")
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        branch_id, accepted_mid, refused_mid = iszl_samples.guid(), message_id(), message_id()
        unknown = iszl_samples.branch("Update", iszl_samples.guid())
        for mid, body in ((accepted_mid, iszl_samples.branch("Insert", branch_id)), (refused_mid, unknown)):
            channel.basic_publish(
                "",
                queues.iszl_request,
                body,
                pika.BasicProperties(
                    type="BRANCH", message_id=mid, content_type="Xml", app_id="Promed", delivery_mode=2
                ),
            )
        first_properties, first = get_one(channel, queues.iszl_reply)
        second_properties, second = get_one(channel, queues.iszl_reply)
        connection.close()

        assert first_properties.type == "BRANCH" and first_properties.correlation_id == accepted_mid
        assert iszl_samples.accepted(first) == ("BRANCH", "Insert", branch_id, "1", "Принято")
        assert second_properties.type == "ERROR" and second_properties.correlation_id == refused_mid
        description, original = iszl_samples.refused(second)
        assert original == unknown and "не найден" in description
        assert emulator.wait_for(lambda line: accepted_mid in line) == f"BRANCH {accepted_mid} Insert → OK"
        assert "→ ERROR 904" in emulator.wait_for(lambda line: refused_mid in line)
    finally:
        emulator.kill()
