"""Issue 19 item 2 over real RabbitMQ: when the broker refuses a message inside a confirm window (a
full queue with `reject-publish`), no later package of the same ordering key is marked Отправлен
ahead of it; they stay behind it and go again after it, in order."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pika
import pytest
from lxml import etree

from servicelog import registry as pkg_registry
from servicelog.models import Package, PackageStatus, Service
from servicelog.relay import relay_run
from tfoms_portal import messaging

S = PackageStatus
pytestmark = [pytest.mark.amqp, pytest.mark.django_db]


@pytest.fixture
def full_queue(settings) -> Iterator[str]:
    """This test's queues; the one of type TOYFULL holds one message and refuses the next."""
    url = os.environ["TFOMS_AMQP_URL"]
    prefix = f"test{uuid.uuid4().hex[:8]}."
    settings.TFOMS_AMQP_URL, settings.TFOMS_QUEUE_PREFIX = url, prefix
    settings.TFOMS_CONFIRM_TIMEOUT_SECONDS = 10
    connection = pika.BlockingConnection(pika.URLParameters(url))
    connection.channel().queue_declare(
        f"{prefix}iszl.request", durable=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
    )
    connection.close()
    messaging.reset_backend()
    assert messaging.get_backend().ping() == ""
    names = messaging.all_queues()
    for code, queue in (("TOYFULL", "iszl_request"), ("TOYOPEN", "from_mis")):
        pkg_registry.register_package_type(
            pkg_registry.PackageType(
                code, "toyorder", 1, None, builder=lambda *a: etree.Element("X"), queue=queue
            )
        )
    yield prefix
    pkg_registry.unregister_package_type("TOYFULL")
    pkg_registry.unregister_package_type("TOYOPEN")
    messaging.reset_backend()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    for name in names:
        connection.channel().queue_delete(name)
    connection.close()


def test_no_later_package_is_sent_ahead_of_a_refused_one(full_queue, mo_a):
    service = Service.objects.get(code="tfoms_auto")
    kinds = ["TOYFULL", "TOYOPEN", "TOYFULL", "TOYOPEN", "TOYFULL"]  # the 3rd and 5th find it full
    packages = [
        Package.objects.create(
            uuid=uuid.uuid4(),
            service=service,
            mo=mo_a,
            package_type=kind,
            operation="Insert",
            status=S.FORMED,
            body="<X/>",
            content_hash=str(n),
            ordering_key="tfoms_auto:590001:toyorder",
            sequence=n + 1,
        )
        for n, kind in enumerate(kinds)
    ]
    stats = relay_run()
    assert stats.sent == 2 and stats.failed == 2
    statuses = [Package.objects.get(pk=p.pk).status for p in packages]
    assert statuses == [S.SENT, S.SENT, S.SEND_ERROR, S.FORMED, S.SEND_ERROR]  # none sent after the refusal
    later = Package.objects.get(pk=packages[3].pk)
    assert later.attempts.get().ok  # the broker took it; it goes again, in order, after the refused one
    relay_run()  # the refused one's retry is not due yet: the rest of the key waits
    assert Package.objects.get(pk=packages[3].pk).status == S.FORMED
