"""DISTRICT end to end over the in-process broker and emulator (C1, C4, C8, C9; DESIGN §3)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

import tfoms_emulator
from registry.models import Staff
from servicelog.inbox import inbound_handle
from servicelog.models import (
    Attempt,
    InboundMessage,
    Package,
    PackageStatus,
    RunResult,
    SentObject,
)
from servicelog.relay import relay_run
from servicelog.services import package_set_status, service_execute
from tests.factories import SiteFactory, StaffFactory
from tfoms_portal import messaging

S = PackageStatus
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]


@pytest.fixture
def sites(mo_a):
    return [SiteFactory(mo=mo_a, number=str(n)) for n in (1, 2, 3)]


def consume(backend) -> int:
    queues = [messaging.queue_name(messaging.TO_MIS_ANSWER), messaging.queue_name(messaging.TO_MIS)]
    return backend.drain(queues, inbound_handle)


def exchange(mo, backend):
    """One manual cycle: run the service, relay, take the answers."""
    run = service_execute("tfoms_auto", mo=mo)
    relay_run()
    consume(backend)
    return run


def statuses(**filters) -> list[str]:
    return list(
        Package.objects.filter(package_type="DISTRICT", **filters)
        .order_by("id")
        .values_list("status", flat=True)
    )


def test_district_insert_is_accepted_and_known(mo_a, sites, locmem):
    run = exchange(mo_a, locmem)
    assert run.result == RunResult.SUCCESS
    assert statuses() == [S.ACCEPTED] * 3
    package = Package.objects.filter(package_type="DISTRICT").order_by("sequence").first()
    assert package.operation == "Insert" and package.payload["CODE_MO"] == "590001"
    assert package.reply["RESULT"] == "OK" and package.has_reply
    assert [m for m in package.log.values_list("message", flat=True)] == [
        "Пакет сформирован",
        "Пакет отправлен",
        "Принят ТФОМС",
    ]
    assert SentObject.objects.filter(package_type="DISTRICT").count() == 3
    published = locmem.published[0]
    assert published.queue == "tfoms.from_mis" and published.message_id == package.message_id
    assert published.type == "DISTRICT" and published.reply_to == "tfoms.to_mis.answer"


def test_nothing_new_then_update_then_delete(mo_a, sites, locmem):
    exchange(mo_a, locmem)
    exchange(mo_a, locmem)
    assert Package.objects.filter(package_type="DISTRICT").count() == 3  # the fund knows them all
    sites[0].number = "10"
    sites[0].save()
    gone_id = str(sites[1].pk)
    sites[1].delete()
    exchange(mo_a, locmem)
    update = Package.objects.get(package_type="DISTRICT", operation="Update")
    delete = Package.objects.get(package_type="DISTRICT", operation="Delete")
    assert update.status == S.ACCEPTED and update.payload["LPUREGION_NAME"] == "10"
    assert delete.status == S.ACCEPTED and delete.object_id == gone_id and "<BODY>" not in delete.body
    assert SentObject.objects.get(package_type="DISTRICT", object_id=gone_id).deleted is True


def test_site_without_doctor_fails_to_form_with_a_russian_reason(mo_a, locmem):
    SiteFactory(mo=mo_a, number="7", doctor=None)
    run = exchange(mo_a, locmem)
    package = Package.objects.get(package_type="DISTRICT")
    assert package.status == S.FORM_ERROR
    assert package.result == "Пакет не сформирован: У участка № 7 не указан врач (DOC_TYPE обязателен)"
    assert run.result == RunResult.ERROR
    assert not locmem.published
    exchange(mo_a, locmem)  # unchanged: not formed again
    assert Package.objects.filter(package_type="DISTRICT").count() == 1


def test_fund_rejection_is_shown_and_not_repeated_until_data_changes(mo_a, locmem):
    bad_doctor = StaffFactory(mo=mo_a)
    Staff.objects.filter(pk=bad_doctor.pk).update(snils="11223344596")  # wrong check digits, as if imported
    SiteFactory(mo=mo_a, number="5", doctor=bad_doctor)
    exchange(mo_a, locmem)
    package = Package.objects.get(package_type="DISTRICT")
    assert package.status == S.REJECTED_BY_FUND
    assert package.result.startswith("Получен ответ с ошибкой: 904")
    assert not SentObject.objects.exists()
    exchange(mo_a, locmem)
    assert Package.objects.filter(package_type="DISTRICT").count() == 1


def test_do_not_send_never_goes(mo_a, sites, locmem):
    service_execute("tfoms_auto", mo=mo_a)
    Package.objects.filter(package_type="DISTRICT").update(do_not_send=True)
    relay_run()
    assert not locmem.published
    assert statuses() == [S.FORMED] * 3


def test_unroutable_publish_is_a_send_error_with_retries_then_a_person(mo_a, sites, locmem, settings):
    service_execute("tfoms_auto", mo=mo_a)
    settings.TFOMS_QUEUE_PREFIX = "missing."  # the packages' queue does not exist any more
    settings.TFOMS_SEND_RETRY_FOR_HOURS = 0.5  # retries stop once the failure lasts half an hour
    relay_run()
    first = Package.objects.filter(package_type="DISTRICT").order_by("sequence").first()
    assert first.status == S.SEND_ERROR and first.send_attempts == 1
    assert first.result.startswith("Ошибка отправки пакета: сообщение не доставлено в очередь")
    assert first.next_attempt_at > timezone.now()
    relay_run()  # not due yet: nothing happens
    assert Attempt.objects.filter(package=first).count() == 1
    Package.objects.filter(package_type="DISTRICT").update(next_attempt_at=timezone.now())
    relay_run()  # a minute later: still within the half hour
    first.refresh_from_db()
    assert first.send_attempts == 2 and first.next_attempt_at is not None
    Attempt.objects.filter(package=first).update(at=timezone.now() - dt.timedelta(hours=1))
    Package.objects.filter(package_type="DISTRICT").update(next_attempt_at=timezone.now())
    relay_run()
    first.refresh_from_db()
    assert first.send_attempts == 3 and first.next_attempt_at is None
    note = first.log.get(message__startswith="Автоматические повторы исчерпаны").message
    assert "не отправляется 1.0 ч" in note and "предел 0.5 ч" in note
    settings.TFOMS_QUEUE_PREFIX = ""
    relay_run()  # left for a person: no more automatic attempts
    assert Attempt.objects.filter(package=first).count() == 3
    from servicelog.services import package_resend

    package_resend(package=first, user=None)  # the admin's "Повторная отправка": a new series
    settings.TFOMS_QUEUE_PREFIX = "missing."
    relay_run()
    first.refresh_from_db()
    assert first.status == S.SEND_ERROR and first.next_attempt_at is not None  # retried again, not given up
    assert statuses() == [S.SEND_ERROR] * 3


def test_a_pending_predecessor_holds_its_key_in_order(mo_a, sites, locmem):
    service_execute("tfoms_auto", mo=mo_a)
    first, second, third = Package.objects.filter(package_type="DISTRICT").order_by("sequence")
    package_set_status(first, S.SEND_ERROR, errors=["сбой"])
    Package.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))
    relay_run()
    assert not locmem.published
    second.refresh_from_db()
    assert second.status == S.FORMED
    assert second.log.filter(message__startswith="Ожидает отправки предшествующего пакета DISTRICT").exists()
    Package.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    relay_run()
    assert [m.message_id for m in locmem.published] == [first.message_id, second.message_id, third.message_id]


def test_duplicate_answers_have_no_second_effect(mo_a, sites, locmem):
    tfoms_emulator.default_emulator().faults = tfoms_emulator.Faults(duplicate_ratio=1.0)
    exchange(mo_a, locmem)
    package = Package.objects.filter(package_type="DISTRICT").first()
    assert package.status == S.ACCEPTED
    assert Attempt.objects.filter(package=package, kind="reply").count() == 1
    assert package.log.filter(message__startswith="Повторный ответ ТФОМС").count() == 1


def test_redelivered_message_is_applied_once(mo_a, sites, locmem):
    service_execute("tfoms_auto", mo=mo_a)
    relay_run()
    answers = list(locmem.queues[messaging.queue_name(messaging.TO_MIS_ANSWER)])
    for message in answers:  # the same deliveries again, as after a consumer crash before ack
        locmem.queues[messaging.queue_name(messaging.TO_MIS_ANSWER)].append(message)
    consume(locmem)
    assert InboundMessage.objects.count() == 3
    assert Attempt.objects.filter(kind="reply").count() == 3


def test_poison_message_is_stored_rejected_answered_and_not_requeued(locmem):
    locmem.deliver("to_mis", b"<not xml", {"type": "POLIS", "message_id": str(uuid.uuid4()).upper()})
    locmem.deliver(
        "to_mis",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        {"type": "POLIS", "message_id": str(uuid.uuid4()).upper()},
    )
    locmem.deliver("to_mis", b"<WHATEVER><HEADER/></WHATEVER>", {"type": "WHATEVER", "message_id": "A-1"})
    assert consume(locmem) == 3
    assert consume(locmem) == 0  # nothing came back
    rejected = Package.objects.filter(direction="in").order_by("id")
    assert [p.status for p in rejected] == [S.REJECTED] * 3
    assert "корректным XML" in rejected[0].result and "DOCTYPE" in rejected[1].result
    assert "root:" not in rejected[1].result
    assert rejected[2].result == "Пакет отклонен: Неизвестный тип пакета: WHATEVER"
    answers = Package.objects.filter(package_type="ANSWER").order_by("id")
    assert [a.payload["RESULT"] for a in answers] == ["ERROR"] * 3
    assert answers[2].payload["ERRORS"] == [[904, "Неизвестный тип пакета: WHATEVER"]]
    relay_run()  # our answers go to the fund's answer queue
    assert {m.queue for m in locmem.published} == {"tfoms.from_mis.answer"}


def test_answer_to_an_unknown_package_is_rejected(locmem):
    body = (
        b"<ANSWER><HEADER><QUEUE_NAME>tfoms.from_mis</QUEUE_NAME><TYPE>DISTRICT</TYPE>"
        b"<MESSAGE_ID>00000000-0000-0000-0000-000000000000</MESSAGE_ID></HEADER>"
        b"<BODY><RESULT>OK</RESULT></BODY></ANSWER>"
    )
    locmem.deliver("to_mis_answer", body, {"type": "ANSWER", "message_id": "X-1"})
    consume(locmem)
    stored = Package.objects.get(direction="in")
    assert stored.status == S.REJECTED and "Ответ на неизвестный пакет" in stored.result


def test_dead_consumer_day_runs_are_closed(locmem):
    from servicelog.inbox import receiving_run
    from servicelog.models import ServiceRun
    from servicelog.services import runs_close_dead

    run = receiving_run("tfoms_auto")
    ServiceRun.objects.filter(pk=run.pk).update(
        scope_key="in:2000-01-01", heartbeat_at=timezone.now() - dt.timedelta(days=1)
    )
    fresh = receiving_run("tfoms_auto")
    runs_close_dead()
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert run.result == RunResult.SUCCESS and fresh.result == RunResult.RUNNING


def test_healthz_reports_the_broker(client):
    data = client.get("/healthz").json()
    assert data["checks"]["broker"] == {"ok": True, "detail": "locmem"}
