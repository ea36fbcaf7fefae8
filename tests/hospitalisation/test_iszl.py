"""Order 263 (SPEC C2 stages 1 and 2, manual §4.4.5.1): the ten ISZL packages formed in order, field
by field as formats §3.3, against our XSD, answered by the emulator in process (accepted, refused in
the §3.6 error style), the selection rules, "since the last run", bad input, deletes in reverse."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.utils import timezone
from lxml import etree

import tfoms_emulator
from hospitalisation import formats as f
from hospitalisation.models import Payment, Referral, Stay
from registry.models import Department
from servicelog.inbox import inbound_handle
from servicelog.models import Direction, LogEntry, Package, PackageStatus, RunResult, ServiceRun
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.hospitalisation.conftest import make_movements, make_referral, make_stay
from tfoms_emulator.core import new_message_id
from tfoms_portal import messaging
from tfoms_portal.formats.xml import load_schema, validate

S = PackageStatus
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]
STAGE_1 = [f.BRANCH, f.DIVISION, f.DLSB, f.AMOUNT_BED, f.FREE_BEDS]


def cycle(mo):
    """One run of the service for the МО, the relay, and the ISZL side's replies taken in."""
    run = service_execute("iszl263", mo=mo)
    relay_run()
    messaging.get_backend().drain([messaging.queue_name(messaging.ISZL_REPLY)], inbound_handle)
    run.refresh_from_db()
    return run


def sent(package_type: str | None = None, **filters) -> list[Package]:
    rows = Package.objects.filter(direction=Direction.OUT, **filters)
    if package_type:
        rows = rows.filter(package_type=package_type)
    return list(rows.order_by("id"))


def xml(package: Package) -> etree._Element:
    return etree.fromstring(package.body.encode())


def log_text() -> str:
    return "\n".join(LogEntry.objects.values_list("message", flat=True))


def test_structure_goes_in_rank_order_valid_linked_by_guids(region):
    run = service_execute("iszl263", mo=region.hospital)
    assert run.result == RunResult.SUCCESS
    packages = sent()
    assert [p.package_type for p in packages] == [f.BRANCH, f.BRANCH, f.DIVISION, f.DIVISION, *STAGE_1[2:]]
    assert [p.sequence for p in packages] == sorted(p.sequence for p in packages)  # one ordering key
    schema = load_schema(f.XSD)
    for package in packages:
        assert package.status == S.FORMED and validate(xml(package), schema) == [], package.package_type
    branch, _polyclinic, admission, therapy, dlsb, amount, free = packages
    assert (
        xml(branch).findtext("body/BR_CODE") == "590001001" and xml(branch).findtext("body/CATEGORY") == "2"
    )
    # the polyclinic department (a group type the fund is not told about) is left out
    assert [xml(p).findtext("body/DV_CODE") for p in (admission, therapy)] == ["590001001001", "590001001010"]
    assert xml(therapy).findtext("body/BRANCH_ID") == branch.external_id == xml(branch).findtext("header/ID")
    assert (
        xml(therapy).findtext("body/DIVISION_TYPE") == "1"
        and xml(admission).findtext("body/DIVISION_TYPE") == "6"
    )
    assert xml(dlsb).findtext("body/DIVISION_ID") == "590001001010"
    assert (
        xml(dlsb).findtext("body/V020_STRUCTURE_BED") == "19"
        and xml(dlsb).findtext("body/STRUCTURE_BED") == "97"
    )
    # the bed-state record, its bed counts and its free beds are one object with one GUID (formats §3.3)
    assert amount.external_id == free.external_id == dlsb.external_id == xml(amount).findtext("body/DLSB")
    assert xml(amount).findtext("body/BEDS_COUNT") == "5"
    assert free.operation == "Update" and xml(free).findtext("header/TYPE") == "Update"
    assert xml(free).findtext("body/ACTUAL_DATE") == timezone.localdate().isoformat()
    assert xml(free).findtext("body/AMOUNT") == "5"


def test_whole_cycle_stay_after_its_department_motion_after_its_stay(region):
    stay = make_stay(region)
    make_movements(stay, region, date_out=dt.date(2026, 11, 30))
    stay.movements.filter(department=region.therapy).update(outcome=1)
    first = cycle(region.hospital)
    assert first.result == RunResult.SUCCESS
    assert {p.status for p in sent()} == {S.ACCEPTED}
    # the stay waits until the fund has accepted its department (another ordering key) …
    assert not sent(f.HOSPITALISATION) and not sent(f.MOTION)
    assert (
        "Информация о госпитализации: ожидают передачи в ТФОМС «Терапевтическое отделение (590001001010)» — 1"
        in log_text()
    )
    cycle(region.hospital)
    (hospitalisation,) = sent(f.HOSPITALISATION)
    assert hospitalisation.status == S.ACCEPTED
    # … and the movements until the fund has accepted the stay (§4.4.5.1.3)
    assert not sent(f.MOTION)
    assert "Движений в стационаре, ожидающих, пока ТФОМС примет госпитализацию и отделение: 2" in log_text()
    body = xml(hospitalisation)
    assert (
        body.findtext("body/POLICY_TYPE") == "3" and body.findtext("body/POLIS_NUMBER") == "5956410834000014"
    )
    assert body.findtext("body/SEX") == "10301" and body.findtext("body/LAST_NAME") == "ИВАНОВ"
    assert body.findtext("body/HOSPITALISATION_TIME") == "2026-11-25 10:30:00"
    assert body.findtext("body/PATIENT") == f.patient_guid(region.person.pk)
    assert body.findtext("body/BRANCH") == "590001001" and body.findtext("body/DIVISION") == "590001001010"

    cycle(region.hospital)
    admission, therapy = sent(f.MOTION)
    assert {admission.status, therapy.status} == {S.ACCEPTED}
    assert {xml(m).findtext("body/HOSPITALISATION_ID") for m in (admission, therapy)} == {
        hospitalisation.external_id
    }
    fields = ("DIVISION", "V020_STRUCTURE_BED", "STRUCTURE_BED", "DATE_IN", "DATE_OUT", "USL_OK", "OUTCOME")
    assert [xml(therapy).findtext(f"body/{tag}") for tag in fields] == [
        "590001001010",
        "19",
        "97",
        "2026-11-25",
        "2026-11-30",
        "1",
        "1",
    ]
    assert xml(admission).findtext("body/DIVISION") == "590001001001"
    assert (
        xml(admission).find("body/V020_STRUCTURE_BED") is None and xml(admission).find("body/OUTCOME") is None
    )
    free = tfoms_emulator.default_emulator().free_beds("590001")
    assert [(row["division"], row["v020"], row["planned"], row["free"]) for row in free] == [
        ("590001001010", "19", 5, 5)  # the patient left the profile on 30.11: none occupied today
    ]
    assert cycle(region.hospital).result == RunResult.SUCCESS
    assert len(sent()) == 10  # nothing new: no second FREE_BEDS the same day, nothing changed


def test_referral_waits_for_the_hospital_department_then_is_reserved(region):
    referral = make_referral(region)
    cycle(region.polyclinic_mo)
    assert not sent(f.REFERRAL)
    assert (
        "Направления на госпитализацию: ожидают передачи в ТФОМС «Терапевтическое отделение (590001001010)»"
        in (log_text())
    )
    cycle(region.hospital)
    cycle(region.polyclinic_mo)
    (package,) = sent(f.REFERRAL)
    assert package.status == S.ACCEPTED and package.mo == region.polyclinic_mo
    body = xml(package)
    assert body.findtext("header/LPU") == "590002" and body.findtext("header/LPU_TO") == "590001"
    assert body.findtext("body/REFERRAL_NUMBER") == "5900022026000001"
    assert body.findtext("body/HOSPITALISATION_DATE") == "2026-12-20"  # referral date + 30 (no planned date)
    assert body.findtext("body/PLANNED_DATE") == "2026-12-04"  # referral date + 14 (no desired date)
    assert body.findtext("body/DOC_CODE") == "11223344595" and body.findtext("body/PHONE") == "не указан"
    assert body.findtext("body/BRANCH_FROM") == "590002001" and body.findtext("body/USL_OK") == "1"
    referral.refresh_from_db()
    assert referral.fund_result == "принято: Принято"


def test_selection_rules_leave_out_what_the_fund_is_not_told(region):
    hospital = cycle(region.hospital)
    assert hospital.result == RunResult.SUCCESS
    make_referral(region, auto_created=True)
    make_referral(region, kind=Referral.Kind.OTHER)
    make_referral(region, payment=Payment.PAID)
    make_stay(region, payment=Payment.VMI, card_number="2026-00002")
    cycle(region.polyclinic_mo)
    cycle(region.hospital)
    assert not sent(f.REFERRAL) and not sent(f.HOSPITALISATION)


def test_cancelled_referral_follows_its_referral(region):
    cycle(region.hospital)
    make_referral(
        region,
        cancelled_at=dt.date(2026, 11, 22),
        cancel_reason=1,
        cancel_source=Referral.CancelSource.PATIENT,
        cancel_description="Отказ пациента",
    )
    cycle(region.polyclinic_mo)
    referral, cancel = sent(f.REFERRAL) + sent(f.CANCEL_REFERRAL)
    assert referral.sequence < cancel.sequence and cancel.status == S.ACCEPTED
    body = xml(cancel)
    assert body.findtext("header/LPU_TO") == "590001" and body.findtext("body/CANCEL_TYPE") == "0"
    assert body.findtext("body/REASON") == "1" and body.findtext("body/CANCEL_SOURSE") == "1"
    assert body.findtext("body/REFERRAL_NUMBER") == xml(referral).findtext("body/REFERRAL_NUMBER")


def test_refusal_in_admission_is_a_hospitalisation_and_its_cancel_without_motions(region):
    stay = make_stay(
        region, department=region.admission, bed_profile=None, outcome=Stay.Outcome.REFUSED, refusal_reason=2
    )
    make_movements(stay, region)  # whatever the MIS holds, a refused stay has no movements to tell
    cycle(region.hospital)
    # one line for all refusals waiting, not one per stay
    assert "Отказов от госпитализации, ожидающих передачи своей госпитализации: 1." in log_text()
    cycle(region.hospital)
    (hospitalisation,) = sent(f.HOSPITALISATION)
    (cancel,) = sent(f.CANCEL_HOSPITALISATION)
    assert not sent(f.MOTION)
    assert cancel.status == S.ACCEPTED and hospitalisation.sequence < cancel.sequence
    body = xml(cancel)
    assert body.findtext("body/HOSPITALISATION_ID") == hospitalisation.external_id
    assert body.findtext("body/HOSPITALISATION_DIVISION") == "590001001001"
    assert body.findtext("body/REASON") == "2" and body.findtext("body/CANCEL_TYPE") == "1"


def test_since_the_last_run_and_never_told(region, settings):
    settings.TFOMS_CHANGES_OVERLAP_SECONDS = 0
    cycle(region.hospital)
    count = len(sent())
    # A change the MIS made without touching the row's change time is not looked at …
    Department.objects.filter(pk=region.therapy.pk).update(name="Терапия № 1")
    cycle(region.hospital)
    assert len(sent()) == count
    # … a change that did is sent as an Update under the same GUID.
    department = Department.objects.get(pk=region.therapy.pk)
    department.phone = "+7 (342) 200-00-00"
    department.save()
    cycle(region.hospital)
    (first, update) = sent(f.DIVISION, object_id=str(region.therapy.pk))
    assert update.operation == "Update" and update.status == S.ACCEPTED
    assert update.external_id == first.external_id
    assert xml(update).findtext("body/NAME") == "Терапия № 1"
    # A row older than the last run that the fund was never told is still a candidate.
    old = timezone.now() - dt.timedelta(days=30)
    emergency = Department.objects.create(
        subdivision=region.building,
        code="090",
        name="Реанимация",
        group_type=Department.GroupType.ROUND_THE_CLOCK,
    )
    Department.objects.filter(pk=emergency.pk).update(updated_at=old, created_at=old)
    cycle(region.hospital)
    (added,) = sent(f.DIVISION, object_id=str(emergency.pk))
    assert added.operation == "Insert" and added.status == S.ACCEPTED


def test_bad_input_is_a_form_error_naming_the_field(region):
    cycle(region.hospital)
    make_referral(region, to_department=None, to_bed_profile=None)
    cycle(region.polyclinic_mo)
    (referral,) = sent(f.REFERRAL)
    assert (
        referral.status == S.FORM_ERROR
        and "не указано отделение госпитализации (DIVISION_TO)" in referral.result
    )
    stay = make_stay(region, department=None, bed_profile=None)
    reversed_stay = make_stay(region, card_number="2026-00002")
    movements = make_movements(reversed_stay, region, date_out=dt.date(2026, 11, 20))
    cycle(region.hospital)
    (no_department,) = sent(f.HOSPITALISATION, object_id=str(stay.pk))
    assert no_department.status == S.FORM_ERROR
    assert "не указано отделение госпитализации (DIVISION)" in no_department.result
    cycle(region.hospital)
    (reversed_motion,) = sent(f.MOTION, object_id=str(movements[1].pk))
    assert reversed_motion.status == S.FORM_ERROR
    assert "дата выбытия из отделения (DATE_OUT 2026-11-20) раньше даты поступления" in reversed_motion.result


def test_a_department_the_fund_knows_is_deleted_after_its_children(region):
    cycle(region.hospital)
    Department.objects.filter(pk=region.therapy.pk).update(group_type=Department.GroupType.POLYCLINIC)
    cycle(region.hospital)
    deletes = sent(operation="Delete")
    assert [p.package_type for p in deletes] == [f.AMOUNT_BED, f.DLSB, f.DIVISION]
    assert [p.sequence for p in deletes] == sorted(p.sequence for p in deletes)
    assert {p.status for p in deletes} == {S.ACCEPTED}
    assert xml(deletes[-1]).find("body") is None and xml(deletes[-1]).findtext("header/TYPE") == "Delete"


def test_error_reply_is_matched_through_the_base64_request(region):
    cycle(region.hospital)
    tfoms_emulator.reset()  # the fund forgets: an Update of what it no longer knows is refused
    department = Department.objects.get(pk=region.therapy.pk)
    department.name = "Терапия № 2"
    department.save()
    cycle(region.hospital)
    (_, update) = sent(f.DIVISION, object_id=str(region.therapy.pk))
    assert update.status == S.REJECTED_BY_FUND
    assert update.result.startswith("Получен ответ с ошибкой: DIVISION ID ")
    assert "объект не найден в ИСЗЛ" in update.result
    # the other DIVISION, unchanged, was not sent and is still accepted
    assert {p.status for p in sent(f.DIVISION, object_id=str(region.admission.pk))} == {S.ACCEPTED}


def _reply(body: bytes, message_type: str) -> messaging.InMessage:
    return messaging.InMessage(
        queue=messaging.queue_name(messaging.ISZL_REPLY),
        body=body,
        message_id=new_message_id(),
        type=message_type,
    )


def test_a_reply_we_cannot_match_is_stored_and_shown_never_answered(region):
    unknown = (
        b"<BRANCH><header><TYPE>Insert</TYPE><ID>00000000-0000-0000-0000-000000000000</ID></header>"
        b"<body><RESULT>1</RESULT></body></BRANCH>"
    )
    inbound_handle(_reply(unknown, "BRANCH"))
    not_base64 = "<ERROR><header><DESCRIPTION>Ошибка</DESCRIPTION></header><body>%%%</body></ERROR>".encode()
    inbound_handle(_reply(not_base64, "ERROR"))
    inbound_handle(_reply(b"\x00garbage", "ERROR"))
    stored = list(Package.objects.filter(direction=Direction.IN).order_by("id"))
    assert [p.status for p in stored] == [S.REJECTED] * 3
    assert {p.service.code for p in stored} == {"iszl263"}
    assert (
        "Ответ ИСЗЛ на неизвестный пакет: BRANCH ID=00000000-0000-0000-0000-000000000000" in stored[0].result
    )
    assert "не в base64" in stored[1].result
    assert not sent("ANSWER")  # the ISZL side is never sent our ANSWER


def test_a_repeated_error_reply_changes_nothing(region):
    service_execute("iszl263", mo=region.hospital)
    relay_run()
    backend = messaging.get_backend()
    branch = sent(f.BRANCH)[0]
    encoded = base64.b64encode(branch.body.encode()).decode()
    error = f"<ERROR><header><DESCRIPTION>Ошибка ИСЗЛ</DESCRIPTION></header><body>{encoded}</body></ERROR>"
    error_bytes = error.encode()
    inbound_handle(_reply(error_bytes, "ERROR"))
    branch.refresh_from_db()
    assert branch.status == S.REJECTED_BY_FUND and branch.result == "Получен ответ с ошибкой: Ошибка ИСЗЛ"
    inbound_handle(_reply(error_bytes, "ERROR"))
    branch.refresh_from_db()
    assert branch.status == S.REJECTED_BY_FUND
    assert "Повторный ответ ТФОМС" in log_text()
    backend.drain([messaging.queue_name(messaging.ISZL_REPLY)], inbound_handle)


def test_the_service_runs_every_15_minutes_and_free_beds_once_a_day(region, settings, monkeypatch):
    entry = settings.CELERY_BEAT_SCHEDULE["iszl263"]
    assert entry["schedule"] == 900.0 and entry["args"] == ("iszl263",)
    cycle(region.hospital)
    cycle(region.hospital)
    assert len(sent(f.FREE_BEDS)) == 1  # the second run of the day sends no second one
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)
    cycle(region.hospital)
    first, second = sent(f.FREE_BEDS)
    assert second.operation == "Update" and second.status == S.ACCEPTED
    assert second.external_id == first.external_id
    assert xml(second).findtext("body/ACTUAL_DATE") == tomorrow.isoformat()
    assert len(sent()) == 8  # nothing else changed


def test_the_detailed_log_names_the_package_by_guid_and_type_in_words(region, enter, mo_admin_a):
    run = cycle(region.hospital)
    branch = sent(f.BRANCH)[0]
    client = enter(mo_admin_a)
    html = client.get("/journal/", {"service": "iszl263", "run": run.pk}).content.decode()
    assert "<th>Дата и время</th><th>Вид</th><th>Идентификатор пакета</th><th>Тип пакета</th>" in html
    assert branch.message_id in html and "Филиал, добавление" in html
    assert "Количество свободных коек, изменение" in html
    response = client.get("/journal/export/log.csv", {"service": "iszl263", "run": run.pk})
    csv = b"".join(response.streaming_content).decode("utf-8-sig")
    assert csv.splitlines()[0] == "Дата и время;Вид;Идентификатор пакета;Тип пакета;Сообщение"
    assert f";{branch.message_id};Филиал, добавление;" in csv


def _ok(package: Package, operation: str) -> bytes:
    tag = package.package_type
    return (
        f"<{tag}><header><TYPE>{operation}</TYPE><ID>{package.external_id}</ID></header>"
        f"<body><RESULT>1</RESULT><DESCRIPTION>Принято</DESCRIPTION></body></{tag}>"
    ).encode()


def _error(package: Package, text: str) -> bytes:
    encoded = base64.b64encode(package.body.encode()).decode()
    return f"<ERROR><header><DESCRIPTION>{text}</DESCRIPTION></header><body>{encoded}</body></ERROR>".encode()


def test_a_repeated_ok_never_accepts_a_package_not_sent_yet(region):
    cycle(region.hospital)
    (insert,) = sent(f.DIVISION, object_id=str(region.therapy.pk))
    department = Department.objects.get(pk=region.therapy.pk)
    department.phone = "+7 (342) 200-00-02"
    department.save()
    service_execute("iszl263", mo=region.hospital)  # the Update is formed, not yet relayed
    (_, update) = sent(f.DIVISION, object_id=str(region.therapy.pk))
    inbound_handle(_reply(_ok(insert, "Insert"), f.DIVISION))  # the fund repeats its old answer
    update.refresh_from_db()
    assert update.status == S.FORMED  # still to be sent: the fund has not seen the change
    assert "Повторный ответ ТФОМС" in log_text()
    inbound_handle(_reply(_ok(insert, "Update"), f.DIVISION))  # an answer to nothing we sent
    update.refresh_from_db()
    assert update.status == S.FORMED
    (stray,) = Package.objects.filter(direction=Direction.IN)
    assert stray.status == S.REJECTED and "Ответ ИСЗЛ на неизвестный пакет" in stray.result


def test_a_stale_error_finds_the_package_it_carries_not_a_newer_one(region):
    service_execute("iszl263", mo=region.hospital)
    relay_run()
    first = sent(f.BRANCH)[0]
    inbound_handle(_reply(_error(first, "Ошибка 1"), "ERROR"))
    first.refresh_from_db()
    assert first.status == S.REJECTED_BY_FUND
    building = region.building
    building.name = "Стационар № 1"
    building.save()
    service_execute("iszl263", mo=region.hospital)
    relay_run()
    again = sent(f.BRANCH, object_id=str(building.pk))[-1]
    assert again.pk != first.pk and again.status == S.SENT
    inbound_handle(_reply(_error(first, "Ошибка 1"), "ERROR"))  # the old refusal, once more
    again.refresh_from_db()
    assert again.status == S.SENT  # untouched: the error carried the old request


def accept_structure_and_stays(region) -> None:
    for _ in range(3):
        cycle(region.hospital)


def test_free_beds_count_the_patients_on_the_profile_today(region):
    stay = make_stay(region)
    make_movements(stay, region)  # still on the therapy profile
    cycle(region.hospital)
    assert xml(sent(f.FREE_BEDS)[0]).findtext("body/AMOUNT") == "4"  # 5 planned − 1 patient


def test_another_mos_department_is_a_form_error_not_a_failed_run(region, mo_b):
    from registry.models import Subdivision

    foreign_building = Subdivision.objects.create(
        mo=mo_b, code="005", name="Чужой стационар", kind="hospital"
    )
    foreign = Department.objects.create(
        subdivision=foreign_building,
        code="010",
        name="Чужое отделение",
        group_type="round_the_clock",
        profile_code="97",
    )
    accept_structure_and_stays(region)
    stay = make_stay(
        region, subdivision=foreign_building, department=foreign, bed_profile=None, card_number="X-1"
    )
    movements = make_movements(make_stay(region, card_number="X-2"), region)
    movements[1].department = foreign
    movements[1].save()
    assert cycle(region.hospital).result == RunResult.ERROR  # the form errors are on the run …
    cycle(region.hospital)
    run = cycle(region.hospital)
    (wrong_stay,) = sent(f.HOSPITALISATION, object_id=str(stay.pk))
    assert wrong_stay.status == S.FORM_ERROR
    assert "DIVISION 590002005010 — подразделение не МО отправителя 590001" in wrong_stay.result
    (wrong_motion,) = sent(f.MOTION, object_id=str(movements[1].pk))
    assert wrong_motion.status == S.FORM_ERROR and "не МО отправителя 590001" in wrong_motion.result
    assert sent(f.MOTION, object_id=str(movements[0].pk))[0].status == S.ACCEPTED  # … the МО's run goes on
    assert run.result == RunResult.SUCCESS


def test_a_new_policy_is_an_update_of_the_stay_under_the_same_guid(region, settings):
    from registry.services import FundPolicy, policy_save_from_fund

    settings.TFOMS_CHANGES_OVERLAP_SECONDS = 0
    make_stay(region)
    accept_structure_and_stays(region)
    (first,) = sent(f.HOSPITALISATION)
    policy_save_from_fund(
        person=region.person,
        new=FundPolicy(
            smo=region.person.policies.get().smo,
            policy_type=3,
            series="",
            number="",
            enp="5956410834000022",
            valid_from=dt.date(2020, 1, 1),
            valid_to=None,
        ),
        source="identification",
    )
    cycle(region.hospital)
    (_, update) = sent(f.HOSPITALISATION)
    assert update.operation == "Update" and update.status == S.ACCEPTED
    assert update.external_id == first.external_id
    assert xml(update).findtext("body/POLIS_NUMBER") == "5956410834000022"


def test_a_bed_out_of_service_changes_the_count_without_any_edit(region):
    cycle(region.hospital)
    from registry.models import Bed

    first_bed = Bed.objects.filter(bed_profile=region.profile).order_by("pk").first()
    Bed.objects.filter(pk=first_bed.pk).update(date_end=dt.date(2026, 1, 1))
    Bed.objects.filter(bed_profile=region.profile).update(updated_at=timezone.now() - dt.timedelta(days=9))
    cycle(region.hospital)
    (_, update) = sent(f.AMOUNT_BED)
    assert update.operation == "Update" and xml(update).findtext("body/BEDS_COUNT") == "4"


def test_a_stay_no_longer_paid_by_oms_is_deleted_after_its_movements(region):
    stay = make_stay(region)
    make_movements(stay, region)
    accept_structure_and_stays(region)
    Stay.objects.filter(pk=stay.pk).update(payment=Payment.BUDGET)
    cycle(region.hospital)
    deletes = sent(operation="Delete")
    assert [p.package_type for p in deletes] == [f.MOTION, f.MOTION, f.HOSPITALISATION]
    assert {p.status for p in deletes} == {S.ACCEPTED}
    assert deletes[-1].external_id == sent(f.HOSPITALISATION)[0].external_id


def test_budget_and_vmi_are_never_told(region):
    accept_structure_and_stays(region)
    for payment in (Payment.BUDGET, Payment.VMI):
        make_referral(region, payment=payment)
        make_stay(region, payment=payment, card_number=f"2026-{payment}")
    cycle(region.polyclinic_mo)
    cycle(region.hospital)
    assert not sent(f.REFERRAL) and not sent(f.HOSPITALISATION)


def test_a_closed_building_and_a_non_oms_department_say_so(region):
    cycle(region.hospital)
    building = region.building
    building.date_close = dt.date(2026, 11, 30)
    building.save()
    therapy = Department.objects.get(pk=region.therapy.pk)
    therapy.is_oms = False
    therapy.save()
    cycle(region.hospital)
    branch = sent(f.BRANCH, object_id=str(building.pk))[-1]
    assert branch.operation == "Update"
    assert [xml(branch).findtext(f"body/{t}") for t in ("LPU_TYPE", "ACTIVE", "DATE_REMOVE")] == [
        "4",
        "0",
        "2026-11-30",
    ]
    division = sent(f.DIVISION, object_id=str(therapy.pk))[-1]
    assert [xml(division).findtext(f"body/{t}") for t in ("REVENUE_TYPE", "ACTIVE")] == ["12902", "0"]


def test_a_change_committed_just_after_the_last_run_read_is_still_seen(region):
    cycle(region.hospital)
    last = ServiceRun.objects.filter(service__code="iszl263").latest("started_at")
    # saved a minute before that run started, committed after it had read: within the overlap
    Department.objects.filter(pk=region.therapy.pk).update(
        name="Терапия (поздняя фиксация)", updated_at=last.started_at - dt.timedelta(minutes=1)
    )
    cycle(region.hospital)
    assert xml(sent(f.DIVISION, object_id=str(region.therapy.pk))[-1]).findtext("body/NAME") == (
        "Терапия (поздняя фиксация)"
    )


def test_a_referral_is_insert_only_a_change_sends_nothing(region):
    """C2: HOSPITALISATION_REFERRAL is insert only — a referral the fund has is never updated."""
    referral = make_referral(region)
    cycle(region.hospital)
    cycle(region.polyclinic_mo)
    (first,) = sent(f.REFERRAL)
    assert first.status == S.ACCEPTED
    referral.diagnosis, referral.diagnosis_text = "I25.1", "Атеросклеротическая болезнь сердца"
    referral.save()
    cycle(region.polyclinic_mo)
    assert sent(f.REFERRAL) == [first]
