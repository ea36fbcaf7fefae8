"""Issue 16 (G7): a message whose bytes PostgreSQL text cannot hold (a NUL) is stored as the evidence
of a rejected message and acknowledged — never taken for "the database is down" and requeued for ever
ahead of the fund's real answers."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from servicelog.inbox import inbound_handle
from servicelog.models import InboundMessage, Package, PackageStatus
from tfoms_portal import messaging

pytestmark = [pytest.mark.django_db]


@pytest.mark.parametrize(
    ("queue", "body", "message_id", "kind"),
    [
        ("tfoms.to_mis.answer", b"<POLIS>\x00</POLIS>", None, "ANSWER"),
        ("tfoms.to_mis", b"<POLIS>\x00</POLIS>", None, "POLIS"),
        ("tfoms.to_mis", b"<POLIS><A>x</A></POLIS>", "id-with-\x00-nul", "PO\x00LIS"),
        ("tfoms.to_mis", b"\xff\xfe\x00\x00 not xml at all \x00", None, ""),
    ],
)
def test_unstorable_bytes_are_rejected_and_kept(queue, body, message_id, kind):
    message = messaging.InMessage(
        queue=queue, body=body, message_id=message_id or str(uuid.uuid4()), type=kind
    )
    inbound_handle(message)  # no exception: the consumer acks it
    package = Package.objects.get(direction="in")
    assert package.status == PackageStatus.REJECTED
    stored = package.body + package.package_type + package.result + InboundMessage.objects.get().message_id
    assert "\x00" not in stored and "\\x00" in stored  # the evidence, escaped
    inbound_handle(message)  # the same message again: recognised, no second package
    assert Package.objects.filter(direction="in").count() == 1
    assert InboundMessage.objects.count() == 1


@pytest.mark.postgres
def test_poison_on_postgresql_is_not_requeued(settings):
    """The probe's case on the real database: 60 NUL messages were requeued 342 times in 60 s."""
    settings.TFOMS_AMQP_URL = ""
    messaging.reset_backend()
    backend = messaging.get_backend()
    queue = messaging.queue_name(messaging.TO_MIS_ANSWER)
    for _ in range(3):
        backend.deliver(queue, b"<POLIS>\x00</POLIS>", {"type": "ANSWER", "message_id": str(uuid.uuid4())})
    backend.drain([queue], inbound_handle)
    assert Package.objects.filter(direction="in", status=PackageStatus.REJECTED).count() == 3
    messaging.reset_backend()


@pytest.mark.postgres  # SQLite casts the text to 0 instead of refusing it
def test_a_handler_database_error_rejects_the_message_instead_of_requeueing(mo_a):
    """Only our database being down leaves a message unacknowledged: a value the database refuses
    inside a handler is this message's fault (G7)."""
    from django.db import connection

    from servicelog import registry as pkg_registry

    def handler(package, root):
        with connection.cursor() as cursor:
            cursor.execute("SELECT CAST('not a number' AS integer)")  # DataError

    pkg_registry.register_inbound_type(pkg_registry.InboundType("TOYBAD", "tfoms_auto", None, handler))
    try:
        message = messaging.InMessage(
            queue="tfoms.to_mis",
            body=b"<TOYBAD><X>1</X></TOYBAD>",
            message_id=str(uuid.uuid4()),
            type="TOYBAD",
        )
        inbound_handle(message)  # no exception: acked
    finally:
        pkg_registry.unregister_inbound_type("TOYBAD")
    package = Package.objects.get(package_type="TOYBAD")
    assert package.status == PackageStatus.REJECTED and "Внутренняя ошибка обработки" in package.result
    assert Package.objects.filter(
        package_type="ANSWER", status=PackageStatus.FORMED
    ).exists()  # ERROR answered


def test_a_failing_reply_handler_keeps_the_answer_and_says_why(mo_a, monkeypatch):
    """G7 on the answer path: a reply handler's bug is written on the package; the answer is applied
    and acknowledged, not requeued for ever."""
    from servicelog import registry as pkg_registry
    from servicelog.models import Service
    from tfoms_emulator.answer import build_answer

    def broken(package, reply):
        raise ValueError("ошибка обработчика")

    kind = pkg_registry.get_package_type("DISTRICT")
    monkeypatch.setitem(
        pkg_registry._package_types, "DISTRICT", dataclasses.replace(kind, reply_handler=broken)
    )
    ours = Package.objects.create(
        uuid=uuid.uuid4(),
        service=Service.objects.get(code="tfoms_auto"),
        mo=mo_a,
        package_type="DISTRICT",
        operation="Insert",
        status=PackageStatus.SENT,
        content_hash="x",
    )
    body = build_answer("tfoms.from_mis", "DISTRICT", str(ours.uuid).upper(), [])
    inbound_handle(
        messaging.InMessage(
            queue="tfoms.to_mis.answer", body=body, message_id=str(uuid.uuid4()), type="ANSWER"
        )
    )
    ours.refresh_from_db()
    assert ours.status == PackageStatus.ACCEPTED
    assert ours.log.filter(message__contains="обработка не выполнена: ValueError").exists()
