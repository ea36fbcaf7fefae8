"""Order 263 over real RabbitMQ with the emulator as a separate process (C2, C8): the whole cycle on
iszl.request / iszl.reply, a refusal matched back through the base64 request, and Insert / Update /
Delete arriving in the order they were formed with two relays publishing at once."""

from __future__ import annotations

import datetime as dt
import os
import queue

import pytest

from hospitalisation import formats as f
from registry.models import Bed, BedProfile, Department
from servicelog.models import Direction, Package, PackageStatus
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.attachment.test_district_amqp import (  # noqa: F401
    Emulator,
    amqp,
    answered,
    consume_until,
    emulator,
    relays_in_parallel,
)
from tests.hospitalisation.conftest import make_movements, make_referral, make_stay

S = PackageStatus
pytestmark = [pytest.mark.amqp]


def out(package_type: str | None = None) -> list[Package]:
    rows = Package.objects.filter(direction=Direction.OUT).order_by("id")
    return list(rows.filter(package_type=package_type) if package_type else rows)


def exchange(mo) -> None:
    service_execute("iszl263", mo=mo)
    relay_run()
    consume_until(answered(len(out())))


@pytest.mark.django_db
def test_order_263_over_rabbitmq(region, emulator, amqp):  # noqa: F811
    referral = make_referral(region)
    stay = make_stay(region, referral=referral)
    make_movements(stay, region)
    exchange(region.hospital)  # the structure
    exchange(region.hospital)  # the stay, once its department was accepted
    exchange(region.hospital)  # the movements, once their HOSPITALISATION was accepted
    exchange(region.polyclinic_mo)
    assert {p.status for p in out()} == {S.ACCEPTED}
    assert len(out(f.MOTION)) == 2 and len(out(f.REFERRAL)) == 1

    # The fund loses its state (a new emulator process): an Update of what it no longer knows is
    # refused, and the refusal finds its package through the request it carries in base64.
    emulator.stop()
    fresh = Emulator(os.environ["TFOMS_AMQP_URL"], amqp)
    try:
        department = Department.objects.get(pk=region.therapy.pk)
        department.phone = "+7 (342) 200-00-01"
        department.save()
        exchange(region.hospital)
    finally:
        fresh.stop()
    update = out(f.DIVISION)[-1]
    assert update.operation == "Update" and update.status == S.REJECTED_BY_FUND
    assert update.result.startswith("Получен ответ с ошибкой: DIVISION ID ") and "не найден" in update.result


def _arrival(fund: Emulator) -> list[str]:
    """The message ids in the order the emulator received them (one line each on its stdout)."""
    while True:
        try:
            fund.seen.append(fund.lines.get(timeout=0.5))
        except queue.Empty:
            break
    return [line.split(" ")[1] for line in fund.seen if " → " in line]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_relays_keep_insert_update_delete_in_order(region, emulator, settings):  # noqa: F811
    settings.TFOMS_RELAY_BATCH = 10
    for n in range(20, 50):
        department = Department.objects.create(
            subdivision=region.building,
            code=f"{n:03d}",
            name=f"Отделение № {n}",
            group_type=Department.GroupType.ROUND_THE_CLOCK,
            profile_code="97",
        )
        profile = BedProfile.objects.create(
            department=department, profile_code="19", name="терапевтические", date_begin=dt.date(2013, 1, 1)
        )
        Bed.objects.create(bed_profile=profile, number=f"{n}-01", date_begin=dt.date(2013, 1, 1))
    service_execute("iszl263", mo=region.hospital)
    relays_in_parallel(2)
    consume_until(answered(len(out())), timeout=60)
    assert {p.status for p in out()} == {S.ACCEPTED}  # a child ahead of its parent would be refused

    for department in Department.objects.filter(code__gte="020", code__lt="035"):
        department.name += " (обновлено)"
        department.save()
    Department.objects.filter(code__gte="035").update(group_type=Department.GroupType.POLYCLINIC)
    service_execute("iszl263", mo=region.hospital)
    assert {p.operation for p in out() if p.status == S.FORMED} == {"Update", "Delete"}
    relays_in_parallel(2)
    consume_until(answered(len(out())), timeout=60)
    assert {p.status for p in out()} == {S.ACCEPTED}
    by_key: dict[str, list[Package]] = {}
    for package in out():
        by_key.setdefault(package.ordering_key, []).append(package)
    arrival = {message_id: index for index, message_id in enumerate(_arrival(emulator))}
    for packages in by_key.values():
        formed = [p.message_id for p in sorted(packages, key=lambda p: p.sequence)]
        assert sorted(formed, key=lambda m: arrival[m]) == formed
    deletes = [p for p in out() if p.operation == "Delete"]
    assert len(deletes) == 45  # 15 departments: AMOUNT_BED, DLSB, DIVISION each
    for department_id in {p.object_id for p in deletes if p.package_type == f.DIVISION}:
        profile = str(BedProfile.objects.get(department_id=department_id).pk)
        order = [
            next(p.sequence for p in deletes if p.package_type == t and p.object_id == oid)
            for t, oid in ((f.AMOUNT_BED, profile), (f.DLSB, profile), (f.DIVISION, department_id))
        ]
        assert order == sorted(order)
