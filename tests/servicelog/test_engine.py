"""The journal core: package statuses and their C1 log texts, forming with XSD, runs (C1, C9, E3)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from lxml import etree

from servicelog import registry as pkg_registry
from servicelog.models import LogEntry, Package, PackageStatus, RunResult, RunTrigger, ServiceRun
from servicelog.services import (
    InvalidTransition,
    PersonKeys,
    RunRefused,
    package_form,
    package_set_status,
    run_beat,
    run_open,
    runs_close_dead,
    service_execute,
)

S = PackageStatus
pytestmark = pytest.mark.django_db

XSD = """<?xml version="1.0" encoding="utf-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="PKG">
    <xs:complexType><xs:sequence>
      <xs:element name="HEADER"><xs:complexType><xs:sequence>
        <xs:element name="OPERATIONTYPE" type="xs:string"/>
        <xs:element name="MESSAGE_ID" type="xs:string"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="BODY"><xs:complexType><xs:sequence>
        <xs:element name="NAME"><xs:simpleType><xs:restriction base="xs:string">
          <xs:maxLength value="5"/></xs:restriction></xs:simpleType></xs:element>
      </xs:sequence></xs:complexType></xs:element>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""


def build(payload: dict, operation: str, message_id: str) -> etree._Element:
    root = etree.Element("PKG")
    header = etree.SubElement(root, "HEADER")
    etree.SubElement(header, "OPERATIONTYPE").text = operation
    etree.SubElement(header, "MESSAGE_ID").text = message_id
    body = etree.SubElement(root, "BODY")
    etree.SubElement(body, "NAME").text = payload["NAME"]
    return root


@pytest.fixture
def test_type(tmp_path: Path):
    xsd = tmp_path / "test.xsd"
    xsd.write_text(XSD, encoding="utf-8")
    kind = pkg_registry.register_package_type(
        pkg_registry.PackageType(code="TESTPKG", family="test", rank=1, xsd=xsd, builder=build)
    )
    yield kind
    pkg_registry.unregister_package_type("TESTPKG")


@pytest.fixture
def a_run(mo_a) -> ServiceRun:
    return run_open("tfoms_auto", mo=mo_a)


def form(a_run, mo_a, name="Иван", object_id="1", **kw) -> Package | None:
    return package_form(
        run=a_run,
        package_type="TESTPKG",
        operation="Insert",
        object_id=object_id,
        payload={"NAME": name},
        mo=mo_a,
        person=PersonKeys(enp="5956410834000014", fio="Иванов Иван"),
        **kw,
    )


def log_of(package: Package) -> list[str]:
    return list(package.log.order_by("id").values_list("message", flat=True))


def test_formed_package_is_valid_xml_with_upper_case_message_id(test_type, a_run, mo_a):
    package = form(a_run, mo_a)
    assert package.status == S.FORMED and log_of(package) == ["Пакет сформирован"]
    assert package.message_id == str(package.uuid).upper()
    assert f"<MESSAGE_ID>{package.message_id}</MESSAGE_ID>" in package.body
    assert package.enp == "5956410834000014" and package.ordering_key == "tfoms_auto:590001:test"


def test_xsd_refusal_is_a_form_error_with_the_c1_text(test_type, a_run, mo_a):
    package = form(a_run, mo_a, name="Слишком длинное")
    assert package.status == S.FORM_ERROR
    (message,) = log_of(package)
    assert message.startswith("Пакет не сформирован: ") and "NAME" in message
    assert package.result == message


def test_unchanged_failed_package_is_not_formed_again(test_type, a_run, mo_a):
    assert form(a_run, mo_a, name="Слишком длинное").status == S.FORM_ERROR
    assert form(a_run, mo_a, name="Слишком длинное") is None
    assert Package.objects.count() == 1
    warning = LogEntry.objects.filter(run=a_run, level=LogEntry.Level.WARNING).get()
    assert "не сформирован повторно" in warning.message
    assert form(a_run, mo_a, name="Иван").status == S.FORMED  # changed content forms again


def test_builder_failure_is_a_form_error_not_a_crash(test_type, a_run, mo_a):
    package = package_form(
        run=a_run, package_type="TESTPKG", operation="Insert", object_id="9", payload={}, mo=mo_a
    )
    assert package.status == S.FORM_ERROR and "KeyError" in package.result


def test_sequence_grows_per_ordering_key(test_type, a_run, mo_a, mo_b):
    first, second = form(a_run, mo_a, object_id="1"), form(a_run, mo_a, object_id="2")
    other = form(a_run, mo_b, object_id="3")
    assert (first.sequence, second.sequence) == (1, 2)
    assert other.sequence == 1 and other.ordering_key == "tfoms_auto:590002:test"


@pytest.mark.parametrize(
    ("path", "errors", "messages"),
    [
        ([S.SENT, S.ACCEPTED], (), ["Пакет отправлен", "Принят ТФОМС"]),
        (
            [S.SENT, S.REJECTED_BY_FUND],
            ("901 Нарушен порядок тегов",),
            ["Пакет отправлен", "Получен ответ с ошибкой: 901 Нарушен порядок тегов"],
        ),
        (
            [S.SEND_ERROR, S.SEND_ERROR, S.SENT],
            ("канал закрыт",),
            [
                "Ошибка отправки пакета: канал закрыт",
                "Ошибка отправки пакета: канал закрыт",
                "Пакет отправлен",
            ],
        ),
    ],
)
def test_outbound_transitions_write_the_c1_texts(test_type, a_run, mo_a, path, errors, messages):
    package = form(a_run, mo_a)
    for status in path:
        package_set_status(package, status, errors=errors)
    assert log_of(package) == ["Пакет сформирован", *messages]
    assert Package.objects.get(pk=package.pk).status == path[-1]


def test_inbound_transitions_write_the_c1_texts(mo_a):
    import uuid

    from servicelog.models import Service

    incoming = Package(
        uuid=uuid.uuid4(),
        service=Service.objects.get(code="tfoms_auto"),
        package_type="POLIS",
        operation="Insert",
        direction="in",
        content_hash="x",
    )
    package_set_status(incoming, S.RECEIVED)
    package_set_status(incoming, S.PROCESSED)
    other = Package(
        uuid=uuid.uuid4(),
        service=incoming.service,
        package_type="POLIS",
        operation="Insert",
        content_hash="y",
    )
    package_set_status(other, S.RECEIVED)
    package_set_status(other, S.REJECTED, errors=["Не найден человек"])
    assert log_of(incoming) == ["Пакет получен от ТФОМС", "Пакет обработан"]
    assert log_of(other) == ["Пакет получен от ТФОМС", "Пакет отклонен: Не найден человек"]


@pytest.mark.parametrize(
    ("path", "bad"),
    [([], S.RECEIVED), ([S.SENT, S.ACCEPTED], S.REJECTED_BY_FUND), ([], S.PROCESSED), ([S.SENT], S.FORMED)],
)
def test_impossible_transitions_are_refused(test_type, a_run, mo_a, path, bad):
    package = form(a_run, mo_a)
    for status in path:
        package_set_status(package, status)
    with pytest.raises(InvalidTransition):
        package_set_status(package, bad)


def test_a_form_error_package_never_moves(test_type, a_run, mo_a):
    package = form(a_run, mo_a, name="Слишком длинное")
    with pytest.raises(InvalidTransition):
        package_set_status(package, S.SENT)


# --- runs ------------------------------------------------------------------------------------


def test_second_run_of_the_same_scope_is_refused(mo_a, mo_b):
    run_open("tfoms_auto", mo=mo_a)
    with pytest.raises(RunRefused, match="уже выполняется для МО 590001 ГКБ"):
        run_open("tfoms_auto", mo=mo_a)
    run_open("tfoms_auto", mo=mo_b)  # another МО may run at the same time
    run_open("tfoms_auto")  # and so may the region-wide run
    with pytest.raises(RunRefused, match="уже выполняется для всего региона"):
        run_open("tfoms_auto")


def test_a_manual_start_that_sent_nothing_does_not_use_up_the_hour(mo_a):
    """Issue 15 item 10."""
    first = service_execute("tfoms_auto", mo=mo_a, trigger=RunTrigger.MANUAL)
    assert first.result == RunResult.SUCCESS and not first.packages.exists()
    assert run_open("tfoms_auto", mo=mo_a, trigger=RunTrigger.MANUAL).result == RunResult.RUNNING


def test_manual_start_within_the_timeout_is_refused(mo_a):
    from tests.factories import SiteFactory

    SiteFactory(mo=mo_a)  # the first start sends its district
    first = service_execute("tfoms_auto", mo=mo_a, trigger=RunTrigger.MANUAL)
    assert first.result == RunResult.SUCCESS and first.packages.exists()
    with pytest.raises(RunRefused, match=r"для МО 590001 ГКБ № 1 возможен не чаще одного раза в 60 мин"):
        run_open("tfoms_auto", mo=mo_a, trigger=RunTrigger.MANUAL)
    service_execute("tfoms_auto", mo=mo_a)  # the schedule is not limited
    ServiceRun.objects.filter(pk=first.pk).update(started_at=timezone.now() - timedelta(minutes=61))
    assert run_open("tfoms_auto", mo=mo_a, trigger=RunTrigger.MANUAL).result == RunResult.RUNNING


def test_run_is_opened_outside_the_business_transaction(mo_a):
    with pytest.raises(RuntimeError, match="outside the business transaction"), transaction.atomic():
        run_open("tfoms_auto", mo=mo_a)


def test_failure_inside_a_run_is_recorded_and_raised(mo_a):
    import servicelog

    with pytest.raises(ZeroDivisionError), servicelog.run("tfoms_auto", mo=mo_a):
        1 / 0  # noqa: B018
    run = ServiceRun.objects.get()
    assert run.result == RunResult.ERROR and run.finished_at is not None
    assert run.log.filter(level="error", message__contains="ZeroDivisionError").exists()


def test_run_with_an_error_line_ends_with_error(test_type, mo_a):
    import servicelog

    with servicelog.run("tfoms_auto", mo=mo_a) as run:
        form(run, mo_a, name="Слишком длинное")
    run.refresh_from_db()
    assert run.result == RunResult.ERROR


def test_registered_jobs_run_in_order_and_a_failing_job_rolls_back(mo_a):
    from registry.models import Smo

    calls = []

    def good(*, run, mo):
        calls.append(("good", mo.code))

    def bad(*, run, mo):
        Smo.objects.create(code="59999", ogrn="1024400519330", name_full="x", name_short="x")
        raise ValueError("сбой задания")

    pkg_registry.register_service_job("iszl263")(good)
    pkg_registry.register_service_job("iszl263")(bad)
    try:
        run = service_execute("iszl263", mo=mo_a)
    finally:
        pkg_registry.unregister_service_job("iszl263", good)
        pkg_registry.unregister_service_job("iszl263", bad)
    assert calls == [("good", "590001")]
    assert run.result == RunResult.ERROR
    assert not Smo.objects.filter(code="59999").exists()
    assert "сбой задания" in run.log.get(level="error").message


def test_service_without_jobs_says_so(mo_a):
    run = service_execute("dispplan_exchange", mo=mo_a)
    assert run.result == RunResult.SUCCESS
    assert run.log.filter(message__contains="пока нет заданий").exists()


def test_dead_runs_are_closed_with_error_and_live_ones_kept(mo_a, mo_b):
    dead = run_open("tfoms_auto", mo=mo_a)
    alive = run_open("tfoms_auto", mo=mo_b)
    ServiceRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    ServiceRun.objects.filter(pk=alive.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    run_beat(alive)
    assert runs_close_dead(silent_for=timedelta(minutes=15)) == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.result == RunResult.ERROR and dead.log.filter(message__startswith="Запуск прерван").exists()
    assert alive.result == RunResult.RUNNING
    run_open("tfoms_auto", mo=mo_a)  # the scope is free again


def test_dead_run_sweep_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["close-dead-runs"]
    assert entry["task"] == "servicelog.close_dead_runs" and float(entry["schedule"]) <= 300


def test_run_service_command(mo_a, capsys):
    call_command("run_service", "tfoms_auto", "--mo", "590001")
    out = capsys.readouterr().out
    assert "Запуск сервиса: из командной строки" in out and "Успешно" in out
    with pytest.raises(CommandError, match="не найдена"):
        call_command("run_service", "tfoms_auto", "--mo", "599999")
    with pytest.raises(CommandError, match="не найден"):
        call_command("run_service", "nope")


def test_services_are_scheduled_by_beat(settings):
    scheduled = {
        entry["args"][0]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "servicelog.run_scheduled"
    }
    assert scheduled == {"tfoms_auto", "iszl263", "ident_batch", "ident_responses", "pharmacy"}
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "servicelog.relay",
        "servicelog.close_dead_runs",
        "servicelog.notify_overdue",
        "servicelog.purge_bodies",
    } <= tasks


def test_a_scheduled_run_is_region_wide_and_skips_when_one_is_running(mo_a):
    from servicelog.tasks import run_scheduled

    assert run_scheduled("dispplan_exchange") == RunResult.SUCCESS
    run = ServiceRun.objects.get(service__code="dispplan_exchange")
    assert run.mo is None and run.trigger == RunTrigger.SCHEDULE
    run_open("dispplan_exchange")
    assert run_scheduled("dispplan_exchange") == "skipped"
