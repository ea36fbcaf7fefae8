"""DISPPLAN over real RabbitMQ, answered by the emulator as a separate process (C3, C8): each person
Отправлена в ТФОМС once the broker confirmed its message, then Принята ТФОМС or Ошибка with the code."""

from __future__ import annotations

import pytest

from prophylaxis.models import PlanPerson
from prophylaxis.plans import plan_send
from servicelog.relay import relay_run
from tests.attachment.test_district_amqp import amqp, answered, consume_until, emulator  # noqa: F401
from tests.factories import UserFactory

P = PlanPerson.Status
pytestmark = [pytest.mark.amqp, pytest.mark.django_db]


def test_plan_status_cycle_over_rabbitmq(plan, emulator):  # noqa: F811
    refused = plan.persons.order_by("pk").last()
    policy = refused.person.policies.get()
    policy.enp = policy.enp[:15] + str((int(policy.enp[15]) + 1) % 10)  # a wrong check digit
    policy.save()
    plan_send(plan=plan, user=UserFactory())
    assert set(plan.persons.values_list("status", flat=True)) == {P.NEW}
    assert relay_run().sent == 3
    assert set(plan.persons.values_list("status", flat=True)) == {P.SENT}
    consume_until(answered(3))
    statuses = dict(plan.persons.values_list("pk", "status"))
    assert statuses.pop(refused.pk) == P.ERROR
    assert set(statuses.values()) == {P.ACCEPTED}
    refused.refresh_from_db()
    assert refused.error_code == "904" and "ЕНП" in refused.error_text
