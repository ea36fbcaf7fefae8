"""DISP, DISPOUT and PERSCANCER over real RabbitMQ, answered by the emulator as a separate process
(C5, C7, C8): accepted, and refused with the fund's code for a bad diagnosis."""

from __future__ import annotations

import datetime as dt

import pytest

from prophylaxis.models import DispensaryCard
from servicelog.models import Package, PackageStatus
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.attachment.test_district_amqp import amqp, answered, consume_until, emulator  # noqa: F401
from tests.factories import DispensaryCardFactory

S = PackageStatus
pytestmark = [pytest.mark.amqp, pytest.mark.django_db]


def test_dispensary_packages_over_rabbitmq(mo_a, emulator):  # noqa: F811
    good = DispensaryCardFactory(mo=mo_a, diagnosis="C18.7")
    DispensaryCardFactory(mo=mo_a, diagnosis="I1O")  # a letter O for a zero: the fund refuses it
    service_execute("tfoms_auto", mo=mo_a)
    assert relay_run().sent == 3  # two DISP, one PERSCANCER
    consume_until(answered(3))
    statuses = dict(Package.objects.values_list("package_type", "status").filter(object_id=str(good.pk)))
    assert statuses == {"DISP": S.ACCEPTED, "PERSCANCER": S.ACCEPTED}
    refused = Package.objects.exclude(object_id=str(good.pk)).get()
    assert refused.status == S.REJECTED_BY_FUND and "904" in refused.result and "МКБ-10" in refused.result

    DispensaryCard.objects.filter(pk=good.pk).update(date_out=dt.date(2026, 2, 1), result_out=1)
    service_execute("tfoms_auto", mo=mo_a)
    assert relay_run().sent == 2  # DISPOUT and the PERSCANCER update with its DATE_OUT
    consume_until(answered(5))
    out = Package.objects.get(package_type="DISPOUT")
    assert out.status == S.ACCEPTED
