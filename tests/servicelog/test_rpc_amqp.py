"""RPC over real RabbitMQ with the emulator as a separate process (DESIGN §3 RPC, B8, C2 stage 3):
answered, late, never answered, an error answer; and two web processes (gunicorn) with one consumer
process (`manage.py runconsumer`) on several persons at once — every reply reaches its own row, and
either web process shows any call."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from identification.models import IdentificationRecord, RecordStatus
from identification.online import identify_online_start
from registry.models import Person, Policy
from servicelog.inbox import inbound_handle
from servicelog.models import PackageStatus, RpcCall, RpcState
from servicelog.rpc import rpc_expire_due, rpc_send
from tests.attachment.test_district_amqp import Emulator, amqp  # noqa: F401
from tests.factories import AttachmentFactory, DocumentFactory, PersonFactory, SmoFactory
from tests.faults import Process, amqp_url, celery_worker, consumer, own_vhost, portal_env, until
from tfoms_portal import messaging

pytestmark = [pytest.mark.amqp]
BIN = Path(sys.executable).parent
SECRET = "rpc-test-secret-" + "k" * 50


def register_of(persons: list[Person], smo) -> dict:
    return {
        "persons": [
            {
                "bdzid": 8800000 + n,
                "fam": p.last_name,
                "im": p.first_name,
                "ot": p.middle_name,
                "dr": p.birth_date.isoformat(),
                "w": p.sex,
                "snils": p.snils,
                "policies": [
                    {
                        "type": 3,
                        "enp": f"59{n:014d}",
                        "smo": smo.code,
                        "smo_ogrn": smo.ogrn,
                        "dbeg": "2022-03-01",
                    }
                ],
            }
            for n, p in enumerate(persons, start=1)
        ]
    }


def people(mo, count: int) -> list[Person]:
    persons = []
    for n in range(count):
        person = PersonFactory(last_name=f"Рпцов{n}", first_name="Иван", sex=1)
        AttachmentFactory(person=person, mo=mo)
        DocumentFactory(person=person)
        persons.append(person)
    return persons


@pytest.fixture
def smo():
    return SmoFactory(code="59021", ogrn="1025900000006")


def fund(amqp_prefix: str, register: dict, tmp_path: Path, *extra: str) -> Emulator:
    path = tmp_path / "register.json"
    path.write_text(json.dumps(register, ensure_ascii=False), encoding="utf-8")
    return Emulator(os.environ["TFOMS_AMQP_URL"], amqp_prefix, "--register", str(path), *extra)


def take_replies(done, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    messaging.get_backend().consume(
        [messaging.queue_name(messaging.RPC_REPLY)],
        inbound_handle,
        should_stop=lambda: done() or time.monotonic() > deadline,
    )


def ask(person: Person, mo) -> RpcCall:
    call = identify_online_start(person=person, mo=mo, user=None)
    rpc_send(call.pk)  # what the web process's background does after the commit
    call.refresh_from_db()
    return call


def state(call: RpcCall) -> str:
    call.refresh_from_db()
    return str(call.state)


@pytest.mark.django_db
def test_answered_over_rabbitmq(mo_a, smo, amqp, tmp_path):  # noqa: F811
    (person,) = people(mo_a, 1)
    emulator = fund(amqp, register_of([person], smo), tmp_path)
    try:
        call = ask(person, mo_a)
        assert call.state == RpcState.WAITING and call.package.status == PackageStatus.SENT
        take_replies(lambda: state(call) != RpcState.WAITING)
        emulator.wait_for("PERS")
    finally:
        emulator.stop()
    assert call.state == RpcState.ANSWERED, call.message
    assert Policy.objects.get(person=person).enp == "59" + "1".zfill(14)
    assert IdentificationRecord.objects.get(person=person).status == RecordStatus.IDENTIFIED


@pytest.mark.django_db
def test_error_answer_over_rabbitmq(mo_a, smo, amqp, tmp_path):  # noqa: F811
    (person,) = people(mo_a, 1)
    emulator = fund(amqp, register_of([], smo), tmp_path)  # the register does not know them
    try:
        call = ask(person, mo_a)
        take_replies(lambda: state(call) != RpcState.WAITING)
    finally:
        emulator.stop()
    assert call.state == RpcState.FAILED and "Р01" in call.message


@pytest.mark.django_db
def test_never_answered_over_rabbitmq(mo_a, smo, amqp, tmp_path, settings):  # noqa: F811
    settings.TFOMS_RPC_IDENTIFY_SECONDS = 1.0
    (person,) = people(mo_a, 1)
    emulator = fund(amqp, register_of([person], smo), tmp_path, "--rpc-fault", "silent")
    try:
        call = ask(person, mo_a)
        emulator.wait_for("без ответа (имитация)")
        take_replies(lambda: timezone.now() > call.deadline + dt.timedelta(milliseconds=300), timeout=5)
        assert rpc_expire_due() == 1
    finally:
        emulator.stop()
    assert state(call) == RpcState.EXPIRED and not call.late
    person.refresh_from_db()
    assert person.identification_request_reason == Person.IdentificationReason.ONLINE_TIMEOUT


@pytest.mark.django_db
def test_late_answer_over_rabbitmq(mo_a, smo, amqp, tmp_path, settings):  # noqa: F811
    settings.TFOMS_RPC_IDENTIFY_SECONDS = 1.0
    (person,) = people(mo_a, 1)
    emulator = fund(amqp, register_of([person], smo), tmp_path, "--rpc-fault", "late", "--rpc-late", "2")
    try:
        call = ask(person, mo_a)
        take_replies(lambda: RpcCall.objects.filter(pk=call.pk, late=True).exists(), timeout=20)
    finally:
        emulator.stop()
    call.refresh_from_db()
    assert call.state == RpcState.EXPIRED and call.late and "после завершения запроса" in call.message
    assert not Policy.objects.filter(person=person).exists()  # stored and shown, not applied


# --- several web processes and a consumer ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def web(env: dict[str, str], name: str) -> tuple[Process, str]:
    port = _free_port()
    argv = [str(BIN / "gunicorn"), "tfoms_portal.wsgi", "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", "1", "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-"]
    process = Process(argv, env, name)
    process.wait_for("Booting worker")
    base = f"http://127.0.0.1:{port}"
    until(lambda: _up(base), timeout=30, what=f"{name} answering")
    return process, base


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code in (200, 503)
    except requests.RequestException:
        return False


def browser(base: str, session_key: str, person: Person) -> requests.Session:
    """A user's browser on one web process: the session cookie and the CSRF token of a page."""
    session = requests.Session()
    session.cookies.set("sessionid", session_key)
    page = session.get(f"{base}/persons/{person.pk}/", timeout=10)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    session.headers.update({"X-CSRFToken": token.group(1), "HX-Request": "true"})
    return session


@pytest.fixture
def vhost(settings) -> Iterator[str]:
    with own_vhost() as name:
        settings.TFOMS_AMQP_URL, settings.TFOMS_QUEUE_PREFIX = amqp_url(name), ""
        messaging.reset_backend()
        assert messaging.get_backend().ping() == ""
        try:
            yield name
        finally:
            messaging.reset_backend()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_web_processes_one_consumer_each_reply_reaches_its_row(
    mo_a, mo_admin_a, smo, enter, vhost, tmp_path, settings
):
    settings.SECRET_KEY = SECRET  # the session made here is signed as the web processes check it
    url = amqp_url(vhost)
    persons = people(mo_a, 6)
    path = tmp_path / "register.json"
    path.write_text(json.dumps(register_of(persons, smo), ensure_ascii=False), encoding="utf-8")
    emulator = Emulator(url, "", "--register", str(path))
    # As in production: the web processes hand the publishing to Celery (a worker process), the
    # consumer process takes the replies; gunicorn serves with production settings (plain HTTP here).
    env = portal_env(TFOMS_AMQP_URL=url, CELERY_BROKER_URL=url)
    production = {**env, "DEBUG": "false", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "127.0.0.1"}
    production["SECURE_COOKIES"] = "false"
    processes = [consumer(env), celery_worker(env)]
    try:
        web_a, base_a = web(production, "web-a")
        web_b, base_b = web(production, "web-b")
        processes += [web_a, web_b]
        session_key = enter(mo_admin_a).session.session_key
        started = []
        for n, person in enumerate(persons):
            base = base_a if n % 2 == 0 else base_b
            response = browser(base, session_key, person).post(
                f"{base}/persons/{person.pk}/identify-online/", timeout=10
            )
            assert response.status_code == 200 and 'data-testid="rpc-call"' in response.text
            started.append(int(re.search(r'data-call="(\d+)"', response.text).group(1)))
        until(
            lambda: RpcCall.objects.filter(pk__in=started, state=RpcState.ANSWERED).count() == len(persons),
            timeout=60,
            what="every call answered",
        )
        # each reply is on its own row: the person the fund answered about is the one asked about
        for call_id, person in zip(started, persons, strict=True):
            call = RpcCall.objects.get(pk=call_id)
            assert call.subject == str(person.pk)
            assert call.reply["data"]["person"]["FAM"] == person.last_name
            assert Policy.objects.get(person=person).enp == f"59{persons.index(person) + 1:014d}"
        # the other web process shows a call it did not start
        pane = browser(base_b, session_key, persons[0]).get(f"{base_b}/rpc/{started[0]}/", timeout=10)
        assert "идентифицирован" in pane.text and "hx-trigger" not in pane.text
    finally:
        for process in processes:
            process.stop()
        emulator.stop()
