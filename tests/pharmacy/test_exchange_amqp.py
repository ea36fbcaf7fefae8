"""«Передача справочников в ИС Фармация» over real RabbitMQ, answered by the emulator as a separate
process playing the pharmacy systems (SPEC F3; issue 17): each organisation's packages on its own
queue, accepted; an unchanged directory sends nothing; an organisation whose queue does not exist
is a send error that names the queue."""

from __future__ import annotations

import pytest

from pharmacy.services import DirectoryChoice
from registry.models import NsiEntry
from servicelog.models import Package, PackageStatus
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.attachment.test_district_amqp import amqp, answered, consume_until, emulator  # noqa: F401
from tests.factories import SmoFactory
from tests.pharmacy.test_exchange import organisation

S = PackageStatus
pytestmark = [pytest.mark.amqp, pytest.mark.django_db]


def test_directories_go_to_each_organisations_queue_and_are_answered(emulator):  # noqa: F811
    for _ in range(2):
        SmoFactory()
    NsiEntry.objects.create(directory="V005", code="1", name="Мужской")
    organisation("FARM59", F002=DirectoryChoice(True, "full"), V005=DirectoryChoice(True, "changes"))
    organisation("APT0002", F002=DirectoryChoice(True, "changes"))
    organisation("NOSUCH", V005=DirectoryChoice(True, "full"))
    service_execute("pharmacy", mo=None)
    assert relay_run().sent == 3
    consume_until(answered(3))
    got = {(p.object_id, p.package_type): p.status for p in Package.objects.filter(direction="out")}
    assert got == {
        ("FARM59", "PHARM_F002"): S.ACCEPTED,
        ("FARM59", "PHARM_V005"): S.ACCEPTED,
        ("APT0002", "PHARM_F002"): S.ACCEPTED,
        ("NOSUCH", "PHARM_V005"): S.SEND_ERROR,
    }
    lost = Package.objects.get(object_id="NOSUCH")
    assert "не доставлено в очередь «pharmacy.nosuch»" in lost.result
    service_execute("pharmacy", mo=None)
    assert relay_run().sent == 0  # nothing changed for the two the systems took
