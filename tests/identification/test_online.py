"""Online identification (B8) over the in-process broker and fund: «Идентифицировать онлайн» on the
card, the PERS query as an RPC call, the fund's answer saved by the B5 rules, its error, no answer
(the batch queue), a late answer (stored, not applied), a repeated one, a malformed one, an unknown
correlation_id, a double click, the broker down, another МО's 404, and the API."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

import tfoms_emulator
from identification.models import IdentificationRecord, RecordStatus
from registry.models import Person, Policy
from servicelog.inbox import inbound_handle
from servicelog.models import InboundMessage, LogEntry, Package, PackageStatus, RpcCall, RpcState, RunTrigger
from servicelog.rpc import rpc_expire_due
from tests.factories import AttachmentFactory, DocumentFactory, PersonFactory, fund_person
from tfoms_emulator import ident
from tfoms_emulator.rpc import RpcFaults
from tfoms_portal import messaging

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]
HTMX = {"HTTP_HX_REQUEST": "true"}
ENP = "5956410834000014"


@pytest.fixture
def person(mo_a, smo) -> Person:
    person = PersonFactory(last_name="Онлайнов", first_name="Пётр", middle_name="Сергеевич", sex=1)
    person.birth_date = dt.date(1980, 5, 4)
    person.save()
    AttachmentFactory(person=person, mo=mo_a)
    DocumentFactory(person=person)
    return person


@pytest.fixture
def fund(person, smo):
    """The emulator's register knows the person, with a unified policy of the СМО."""
    emulator = tfoms_emulator.default_emulator()
    emulator.persons = ident.Register(
        [fund_person(person, smo, bdzid=7700123, enp=ENP, dbeg=dt.date(2021, 2, 1))]
    )
    return emulator


@pytest.fixture
def post(post_committed):
    return post_committed


def replies(backend) -> int:
    return backend.drain([messaging.queue_name(messaging.RPC_REPLY)], inbound_handle)


def ask(post, client, person) -> RpcCall:
    response = post(client, reverse("person_identify_online", args=[person.pk]), **HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="rpc-call"' in page
    return RpcCall.objects.get(pk=int(re.search(r'data-call="(\d+)"', page).group(1)))


def test_answer_saves_the_policy_marks_identified_and_adds_history(
    post, enter, mo_admin_a, person, fund, locmem
):
    client = enter(mo_admin_a)
    call = ask(post, client, person)
    assert call.state == RpcState.WAITING  # published (inline in tests), the reply not taken yet
    package = call.package
    assert package.package_type == "PERS" and package.operation == "Query"
    assert package.status == PackageStatus.SENT and package.run.trigger == RunTrigger.ONLINE
    published = locmem.published[-1]
    assert published.correlation_id == str(call.correlation_id).upper()
    assert published.reply_to == messaging.queue_name(messaging.RPC_REPLY)
    assert 0 < published.expiration_ms <= 30_000
    assert b"<OPERATIONTYPE>Query</OPERATIONTYPE>" in published.body

    pane = client.get(reverse("rpc_call", args=[call.pk]), **HTMX).content.decode()
    assert "ждём ответа" in pane and 'hx-trigger="every 1s"' in pane

    assert replies(locmem) == 1
    call.refresh_from_db()
    assert call.state == RpcState.ANSWERED and not call.late
    assert call.message.startswith("Онлайнов Пётр Сергеевич идентифицирован: ЕНП 5956410834000014")
    person.refresh_from_db()
    assert person.identified_in_tfoms and person.identified_at == timezone.localdate()
    assert person.fund_person_id == 7700123
    policy = Policy.objects.get(person=person)
    assert (policy.enp, policy.policy_type, policy.valid_from) == (ENP, 3, dt.date(2021, 2, 1))
    assert policy.source == Policy.Source.ONLINE
    history = IdentificationRecord.objects.get(person=person)
    assert (
        history.package is None and history.source == "online" and history.status == RecordStatus.IDENTIFIED
    )
    package.refresh_from_db()
    assert package.status == PackageStatus.ACCEPTED and package.reply["ok"] is True

    pane = client.get(reverse("rpc_call", args=[call.pk]), **HTMX).content.decode()
    assert "hx-trigger" not in pane and "идентифицирован" in pane  # the pane stops polling
    card = client.get(reverse("person_card", args=[person.pk])).content.decode()
    assert "Онлайн" in card and "онлайн-запрос" in card and ENP in card
    journal = client.get(reverse("journal_package", args=[package.pk])).content.decode()
    assert "Пакет Идентификация застрахованного лица (онлайн) — запрос" in journal
    assert "ТФОМС идентифицировал пациента" in journal  # the package keeps the fund's answer


def test_error_answer_is_said_and_kept_in_history(post, enter, mo_admin_a, person, locmem):
    tfoms_emulator.default_emulator().persons = ident.Register([])  # nobody is known
    call = ask(post, enter(mo_admin_a), person)
    replies(locmem)
    call.refresh_from_db()
    assert call.state == RpcState.FAILED
    assert call.message == "ТФОМС не идентифицировал: 1 Р01 Застрахованное лицо не найдено в РС ЕРЗ"
    record = IdentificationRecord.objects.get(person=person)
    assert record.status == RecordStatus.NOT_IDENTIFIED and "Р01" in record.error_text
    assert not Policy.objects.filter(person=person).exists()
    assert call.package.status == PackageStatus.REJECTED_BY_FUND


def test_no_answer_puts_the_person_in_the_batch_queue(
    post, enter, mo_admin_a, person, fund, locmem, settings
):
    fund.rpc_faults = RpcFaults("silent")
    client = enter(mo_admin_a)
    call = ask(post, client, person)
    RpcCall.objects.filter(pk=call.pk).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    pane = client.get(reverse("rpc_call", args=[call.pk]), **HTMX).content.decode()
    call.refresh_from_db()
    assert call.state == RpcState.EXPIRED
    assert "ТФОМС не ответил за" in pane and "поставлен в очередь пакетной идентификации" in pane
    person.refresh_from_db()
    assert person.identification_requested_at is not None
    assert person.identification_request_reason == Person.IdentificationReason.ONLINE_TIMEOUT
    assert person.identification_request_mo == mo_admin_a.mo
    assert rpc_expire_due() == 0  # the fallback ran once, whoever comes next
    card = client.get(reverse("person_card", args=[person.pk])).content.decode()
    assert "Нет ответа на онлайн-идентификацию" in card
    assert LogEntry.objects.filter(package=call.package, message__startswith="Нет ответа ТФОМС").count() == 1


def test_the_sweep_ends_a_call_nobody_watches(post, enter, mo_admin_a, person, fund, locmem):
    fund.rpc_faults = RpcFaults("silent")
    call = ask(post, enter(mo_admin_a), person)
    RpcCall.objects.filter(pk=call.pk).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    assert rpc_expire_due() == 1
    person.refresh_from_db()
    assert person.identification_request_reason == Person.IdentificationReason.ONLINE_TIMEOUT


def test_late_answer_is_stored_and_shown_as_late_never_applied(post, enter, mo_admin_a, person, fund, locmem):
    fund.rpc_faults = RpcFaults("late", late_seconds=0.3)
    client = enter(mo_admin_a)
    call = ask(post, client, person)
    RpcCall.objects.filter(pk=call.pk).update(deadline=timezone.now() - dt.timedelta(milliseconds=1))
    deadline = time.monotonic() + 5
    while not replies(locmem) and time.monotonic() < deadline:
        time.sleep(0.05)
    call.refresh_from_db()
    assert call.state == RpcState.EXPIRED and call.late and call.reply["ok"] is True
    assert "после завершения запроса" in call.message and "не применён" in call.message
    assert not Policy.objects.filter(person=person).exists()  # not applied
    person.refresh_from_db()
    assert not person.identified_in_tfoms and person.identification_requested_at is not None
    pane = client.get(reverse("rpc_call", args=[call.pk]), **HTMX).content.decode()
    assert 'data-testid="rpc-late"' in pane


def test_a_repeated_reply_is_applied_once(post, enter, mo_admin_a, person, fund, locmem):
    call = ask(post, enter(mo_admin_a), person)
    reply = locmem.queues[messaging.queue_name(messaging.RPC_REPLY)][0]
    locmem.queues[reply.queue].append(reply)  # the broker redelivers it
    assert replies(locmem) == 2
    assert IdentificationRecord.objects.filter(person=person).count() == 1
    assert Policy.objects.filter(person=person).count() == 1
    assert InboundMessage.objects.filter(source=reply.queue).count() == 1
    call.refresh_from_db()
    assert call.state == RpcState.ANSWERED


def test_a_second_answer_with_its_own_id_is_logged_not_applied(post, enter, mo_admin_a, person, fund, locmem):
    call = ask(post, enter(mo_admin_a), person)
    reply = locmem.queues[messaging.queue_name(messaging.RPC_REPLY)][0]
    locmem.deliver(
        reply.queue,
        reply.body,
        {"type": "ANSWER", "message_id": str(uuid.uuid4()), "correlation_id": reply.correlation_id},
    )
    assert replies(locmem) == 2
    assert IdentificationRecord.objects.filter(person=person).count() == 1
    assert LogEntry.objects.filter(package=call.package, message__startswith="Повторный ответ ТФОМС").exists()


def test_malformed_reply_ends_the_call_and_the_consumer_goes_on(
    post, enter, mo_admin_a, person, fund, locmem
):
    fund.rpc_faults = RpcFaults("malformed")
    call = ask(post, enter(mo_admin_a), person)
    assert replies(locmem) == 1
    call.refresh_from_db()
    assert call.state == RpcState.FAILED and call.message.startswith("Ответ ТФОМС не прочитан")
    assert not IdentificationRecord.objects.exists()


def test_reply_with_unknown_correlation_id_is_logged_and_dropped(locmem):
    locmem.deliver(
        messaging.queue_name(messaging.RPC_REPLY),
        b"<ANSWER/>",
        {"type": "ANSWER", "message_id": "M-1", "correlation_id": str(uuid.uuid4())},
    )
    locmem.deliver(messaging.queue_name(messaging.RPC_REPLY), b"<ANSWER/>", {"message_id": "M-2"})
    assert replies(locmem) == 2
    lines = LogEntry.objects.filter(message__startswith="Ответ на неизвестный запрос пропущен")
    assert lines.count() == 2 and lines.filter(level=LogEntry.Level.WARNING).count() == 2
    assert InboundMessage.objects.filter(message_id__in=["M-1", "M-2"]).count() == 2


def test_double_click_asks_once(post, enter, mo_admin_a, person, fund, locmem):
    client = enter(mo_admin_a)
    fund.rpc_faults = RpcFaults("silent")
    first = ask(post, client, person)
    post(client, reverse("person_identify_online", args=[person.pk]), **HTMX)
    assert RpcCall.objects.count() == 1 and Package.objects.filter(package_type="PERS").count() == 1
    assert RpcCall.objects.get() == first


def test_broker_down_is_said_at_once(post, enter, mo_admin_a, person, settings):
    settings.TFOMS_AMQP_URL = "amqp://guest:guest@127.0.0.1:1/%2F"  # nothing listens there
    settings.TFOMS_AMQP_CONNECT_ATTEMPTS = 1
    messaging.reset_backend()
    started = time.monotonic()
    response = post(enter(mo_admin_a), reverse("person_identify_online", args=[person.pk]), **HTMX)
    assert time.monotonic() - started < 5
    call = RpcCall.objects.get()
    assert call.state == RpcState.FAILED
    assert call.message.startswith("Запрос не отправлен в ТФОМС: Брокер RabbitMQ недоступен")
    assert "ждём ответа" in response.content.decode()  # the page answered before the publish
    pane = enter(mo_admin_a).get(reverse("rpc_call", args=[call.pk]), **HTMX).content.decode()
    assert "Запрос не отправлен в ТФОМС" in pane and "hx-trigger" not in pane  # said at the next poll
    assert call.package.status == PackageStatus.SEND_ERROR
    messaging.reset_backend()


def test_another_mo_gets_404_and_the_statistician_403(
    post, enter, mo_admin_a, mo_admin_b, statistician_a, person, fund, locmem
):
    call = ask(post, enter(mo_admin_a), person)
    other = enter(mo_admin_b)
    assert other.post(reverse("person_identify_online", args=[person.pk]), **HTMX).status_code == 404
    assert other.get(reverse("rpc_call", args=[call.pk]), **HTMX).status_code == 404
    assert other.get(reverse("rpc_call", args=["x"]), **HTMX).status_code == 404
    stat = enter(statistician_a)
    assert stat.post(reverse("person_identify_online", args=[person.pk])).status_code == 302  # refused
    assert RpcCall.objects.count() == 1
    assert (
        'data-testid="identify-online"'
        not in stat.get(reverse("person_card", args=[person.pk])).content.decode()
    )


def test_api_asks_and_shows_the_call(post, enter, mo_admin_a, mo_admin_b, person, fund, locmem):
    client = enter(mo_admin_a)
    response = post(client, f"/api/v1/persons/{person.pk}/identify-online/")
    assert response.status_code == 202
    call_id = response.json()["id"]
    assert client.get(f"/api/v1/rpc/{call_id}/").json()["state"] == "waiting"
    replies(locmem)
    body = client.get(f"/api/v1/rpc/{call_id}/").json()
    assert body["state"] == "answered" and body["reply"]["ok"] is True and ENP in body["message"]
    other = enter(mo_admin_b)
    assert other.get(f"/api/v1/rpc/{call_id}/").status_code == 404
    assert other.post(f"/api/v1/persons/{person.pk}/identify-online/").status_code == 404


def test_metrics_count_calls_by_outcome(post, enter, mo_admin_a, dc_admin, person, fund, locmem):
    ask(post, enter(mo_admin_a), person)
    replies(locmem)
    text = enter(dc_admin).get("/metrics").content.decode()
    assert 'tfoms_rpc_calls_last_day{kind="identify_online",late="false",state="answered"} 1.0' in text


def test_the_consumer_goes_on_after_replies_it_cannot_handle(
    post, enter, mo_admin_a, person, fund, locmem, monkeypatch
):
    """A NUL in correlation_id, a reply whose handling raises, a malformed body: each is said, the
    next good reply is still applied (no requeue loop, G7)."""
    from identification import online
    from servicelog import rpc

    queue = messaging.queue_name(messaging.RPC_REPLY)
    locmem.deliver(
        queue, b"<ANSWER/>", {"type": "ANSWER", "message_id": "NUL-1", "correlation_id": "ab\x00cd"}
    )
    assert replies(locmem) == 1
    assert LogEntry.objects.filter(message__contains="correlation_id=ab\\x00cd").exists()

    broken = rpc.get_rpc_kind(online.KIND)

    def boom(root):
        raise RuntimeError("a bug in a kind")

    monkeypatch.setitem(rpc._kinds, online.KIND, rpc.RpcKind(**{**broken.__dict__, "read": boom}))
    first = ask(post, enter(mo_admin_a), person)
    assert replies(locmem) == 1
    first.refresh_from_db()
    assert first.state == RpcState.FAILED and "внутренняя ошибка (RuntimeError)" in first.message
    monkeypatch.setitem(rpc._kinds, online.KIND, broken)

    second_person = PersonFactory(last_name="Второв")
    AttachmentFactory(person=second_person, mo=mo_admin_a.mo)
    fund.rpc_faults = RpcFaults("malformed")
    bad = ask(post, enter(mo_admin_a), second_person)
    fund.rpc_faults = RpcFaults()
    RpcCall.objects.filter(pk=first.pk).delete()
    good = ask(post, enter(mo_admin_a), person)
    assert replies(locmem) == 2
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.state == RpcState.FAILED and good.state == RpcState.ANSWERED


def test_a_reply_to_a_call_already_ended_is_never_applied(post, enter, mo_admin_a, person, fund, locmem):
    """The row decides, not a host's clock: a call whose publish was refused (or that expired) takes
    no answer, even one that seems in time."""
    call = ask(post, enter(mo_admin_a), person)
    RpcCall.objects.filter(pk=call.pk).update(state=RpcState.FAILED, message="Запрос не отправлен в ТФОМС: …")
    replies(locmem)
    call.refresh_from_db()
    assert call.state == RpcState.FAILED and call.late
    assert not Policy.objects.filter(person=person).exists()


def test_an_online_request_is_not_resent_from_the_journal(post, enter, mo_admin_a, person, settings):
    from servicelog.services import PackageActionRefused, package_resend

    settings.TFOMS_AMQP_URL = "amqp://guest:guest@127.0.0.1:1/%2F"
    settings.TFOMS_AMQP_CONNECT_ATTEMPTS = 1
    messaging.reset_backend()
    call = ask(post, enter(mo_admin_a), person)
    messaging.reset_backend()
    call.package.refresh_from_db()
    assert call.package.status == PackageStatus.SEND_ERROR
    with pytest.raises(PackageActionRefused, match="Онлайн-запрос не отправляется повторно"):
        package_resend(package=call.package, user=None)


def test_expiry_before_the_publish_marks_the_package(enter, mo_admin_a, person, fund, locmem):
    """The background task lost: the sweep ends the call and its package says it never went."""
    from identification.online import identify_online_start

    call = identify_online_start(person=person, mo=mo_admin_a.mo, user=None)  # no commit: never published
    RpcCall.objects.filter(pk=call.pk).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    assert rpc_expire_due() == 1
    call.package.refresh_from_db()
    assert call.package.status == PackageStatus.SEND_ERROR
    assert "срок ожидания ответа истёк до отправки" in call.package.result


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_the_same_moment_make_one_call(mo_a, person, fund, locmem):
    """Two requests of one user at once (two web workers): the partial unique index lets one call in."""
    import threading

    from django.db import connection

    from identification.online import identify_online_start

    fund.rpc_faults = RpcFaults("silent")
    barrier = threading.Barrier(2)
    made: list[int] = []

    def click() -> None:
        barrier.wait()
        made.append(identify_online_start(person=person, mo=mo_a, user=None).pk)
        connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 2 and len(set(made)) == 1
    assert RpcCall.objects.count() == 1


def test_an_answer_whose_policy_does_not_fit_is_said_not_taken_for_success(
    post, enter, mo_admin_a, person, fund, locmem, smo
):
    """The B5 rules refuse the fund's policy (ours starts later): the call says so, nothing saved."""
    from tests.factories import PolicyFactory

    PolicyFactory(person=person, smo=smo, enp="5956410834000022", valid_from=dt.date(2023, 1, 1))
    client = enter(mo_admin_a)
    call = ask(post, client, person)
    replies(locmem)
    call.refresh_from_db()
    assert call.state == RpcState.FAILED
    assert call.message.startswith("Пациент найден в РС ЕРЗ, но полис не сохранён: Не удалось обработать")
    assert Policy.objects.filter(person=person).count() == 1
    person.refresh_from_db()
    assert not person.identified_in_tfoms
    assert IdentificationRecord.objects.get(person=person).status == RecordStatus.NOT_IDENTIFIED
    pane = client.get(reverse("rpc_call", args=[call.pk]), **HTMX).content.decode()
    assert 'class="warning"' in pane and "Обновить карточку" not in pane


def test_the_policy_the_person_has_already_is_recognised_not_refused(
    post, enter, mo_admin_a, person, fund, locmem, smo
):
    """A unified policy is its ЕНП: the fund's POLISNUM carries it, ours keeps no number — the same
    policy, updated, not a conflicting one (found in the demo run-through)."""
    from tests.factories import PolicyFactory

    PolicyFactory(person=person, smo=smo, policy_type=3, number="", enp=ENP, valid_from=dt.date(2021, 2, 1))
    call = ask(post, enter(mo_admin_a), person)
    replies(locmem)
    call.refresh_from_db()
    assert call.state == RpcState.ANSWERED, call.message
    policy = Policy.objects.get(person=person)
    assert (policy.enp, policy.number, policy.source) == (ENP, "", Policy.Source.ONLINE)
    assert call.package.reply["message"] == call.message  # the journal says what the answer came to
