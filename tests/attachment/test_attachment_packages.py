"""Attachment packages of the seven kinds of §4.4.5.3 (C4), XSD-validated and answered by the emulator."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from registry.models import Attachment, Site, Staff
from servicelog.inbox import inbound_handle
from servicelog.models import AuditAction, AuditEvent, Package, PackageStatus, RunResult
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.factories import (
    AttachmentFactory,
    MoFactory,
    PersonFactory,
    PolicyFactory,
    SiteFactory,
    StaffFactory,
)
from tfoms_portal import messaging

S = PackageStatus
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]
TODAY = timezone.localdate()


def exchange(backend, mo=None):
    run = service_execute("tfoms_auto", mo=mo)
    relay_run()
    backend.drain([messaging.queue_name(messaging.TO_MIS_ANSWER)], inbound_handle)
    return run


def attach_packages(**filters):
    return Package.objects.filter(package_type="PERSONATTACHDISTRICT", **filters).order_by("sequence")


@pytest.fixture
def person(mo_a):
    person = PersonFactory(last_name="Прикреплёнов", fund_person_id=7000001)
    PolicyFactory(person=person, enp="5956410834000014", valid_from=dt.date(2015, 1, 1))
    return person


def test_application_attachment_with_district_and_fap(mo_a, person, locmem):
    fap_doctor = StaffFactory(mo=mo_a, post_type=Staff.PostType.MID_LEVEL)
    fap = SiteFactory(mo=mo_a, number="90", site_type=Site.SiteType.FAP, doctor=fap_doctor)
    attachment = AttachmentFactory(
        person=person,
        mo=mo_a,
        fap_site=fap,
        method=Attachment.Method.BY_APPLICATION,
        date_from=TODAY - dt.timedelta(days=3),
    )
    run = exchange(locmem, mo_a)
    assert run.result == RunResult.SUCCESS
    package = attach_packages().get()
    assert package.status == S.ACCEPTED and package.operation == "Insert"
    payload = package.payload
    assert (
        payload["ATTACH_TYPE"] == "2"
        and payload["INFO_TYPE"] == "1"
        and payload["NPOLIS"] == "5956410834000014"
    )
    assert payload["UCH"] == attachment.site.number and payload["SNILS_VR"] == attachment.site.doctor.snils
    assert payload["UCH_F"] == "90" and payload["SNILS_VR_F"] == fap_doctor.snils
    assert payload["BDZID"] == "7000001" and payload["FAM"] == "ПРИКРЕПЛЁНОВ"
    districts = Package.objects.filter(package_type="DISTRICT")
    assert districts.count() == 2 and all(d.sequence < package.sequence for d in districts)  # districts first
    assert package.enp == "5956410834000014"  # the journal finds it by ЕНП


def test_conditional_attachment_by_address(mo_a, person, locmem):
    AttachmentFactory(person=person, mo=mo_a, method=Attachment.Method.BY_ADDRESS, is_conditional=True)
    exchange(locmem, mo_a)
    package = attach_packages().get()
    assert package.status == S.ACCEPTED and package.payload["ATTACH_TYPE"] == "1"


def test_absence_of_attachment_data(mo_a, person, locmem):
    AttachmentFactory(person=person, mo=mo_a, method=Attachment.Method.NO_DATA)
    exchange(locmem, mo_a)
    package = attach_packages().get()
    assert package.status == S.ACCEPTED and "ATTACH_TYPE" not in package.payload


def test_attachment_without_a_district_doctor(mo_a, person, locmem):
    AttachmentFactory(person=person, mo=mo_a, site=None)
    exchange(locmem, mo_a)
    package = attach_packages().get()
    assert package.status == S.ACCEPTED
    assert not {"UCH", "PODR", "OTD", "SNILS_VR"} & set(package.payload)


def test_detachment_is_an_update_with_the_date_and_cause(mo_a, person, locmem):
    attachment = AttachmentFactory(person=person, mo=mo_a)
    exchange(locmem, mo_a)
    attachment.date_to = TODAY - dt.timedelta(days=1)
    attachment.close_cause = Attachment.CloseCause.MOVED
    attachment.save()
    exchange(locmem, mo_a)
    update = attach_packages(operation="Update").get()
    assert update.status == S.ACCEPTED
    assert update.payload["INFO_TYPE"] == "0" and update.payload["DETACH_CAUSE_MO"] == "3"
    assert update.payload["DATE"] == update.payload["DETACH_DT_MO"] == attachment.date_to.isoformat()


def test_reattachment_to_another_mo(mo_a, mo_b, person, locmem):
    old = AttachmentFactory(
        person=person, mo=mo_a, date_from=dt.date(2020, 1, 1), date_to=TODAY - dt.timedelta(days=2)
    )
    AttachmentFactory(person=person, mo=mo_b, date_from=TODAY - dt.timedelta(days=1))
    exchange(locmem)
    from_a = attach_packages(mo=mo_a).get()
    to_b = attach_packages(mo=mo_b).get()
    assert from_a.payload["DETACH_CAUSE_MO"] == "1" and from_a.payload["INFO_TYPE"] == "0"
    assert to_b.payload["INFO_TYPE"] == "1" and to_b.payload["ATTACH_CODE_MO"] == "590002"
    assert {from_a.status, to_b.status} == {S.ACCEPTED}
    assert old.pk == int(from_a.object_id)


def test_changes_over_the_period_only(mo_a, person, locmem, settings):
    settings.TFOMS_ATTACHMENT_PERIOD_DAYS = 10
    AttachmentFactory(person=person, mo=mo_a, date_from=dt.date(2020, 1, 1))
    exchange(locmem, mo_a)
    assert attach_packages().count() == 1
    exchange(locmem, mo_a)  # nothing changed: nothing formed
    assert attach_packages().count() == 1
    other = PersonFactory(last_name="Новенький")
    AttachmentFactory(person=other, mo=mo_a, date_from=TODAY)
    exchange(locmem, mo_a)
    assert attach_packages().count() == 2


def test_removed_attachment_is_deleted_after_the_others(mo_a, person, locmem):
    attachment = AttachmentFactory(person=person, mo=mo_a)
    site = attachment.site
    exchange(locmem, mo_a)
    attachment.delete()
    site.delete()
    exchange(locmem, mo_a)
    deletes = list(Package.objects.filter(operation="Delete").order_by("sequence"))
    assert [p.package_type for p in deletes] == ["PERSONATTACHDISTRICT", "DISTRICT"]  # reverse order
    assert {p.status for p in deletes} == {S.ACCEPTED}


def test_one_patient_on_demand_from_the_card(enter, mo_admin_a, person, locmem):
    AttachmentFactory(person=person, mo=mo_a_of(mo_admin_a))
    someone_else = PersonFactory(last_name="Другой")
    AttachmentFactory(person=someone_else, mo=mo_a_of(mo_admin_a))
    client = enter(mo_admin_a)
    html = client.get(f"/persons/{person.pk}/").content.decode()
    assert 'data-testid="send-attachment"' in html
    html = client.post(f"/persons/{person.pk}/attachment/send/", follow=True).content.decode()
    assert "Сформировано пакетов о прикреплении: " in html
    assert [p.payload["ID_PAC"] for p in attach_packages()] == [str(person.pk)]
    assert AuditEvent.objects.filter(action=AuditAction.MANUAL_START, details__person=person.pk).exists()
    relay_run()
    locmem.drain([messaging.queue_name(messaging.TO_MIS_ANSWER)], inbound_handle)
    html = client.get(f"/persons/{person.pk}/").content.decode()
    assert "Принят ТФОМС" in html[html.index('data-testid="attachment-send"') :]


def mo_a_of(workplace):
    return workplace.mo


def test_one_patient_of_another_mo_is_404(enter, mo_admin_b, person, mo_a):
    AttachmentFactory(person=person, mo=mo_a)
    assert enter(mo_admin_b).post(f"/persons/{person.pk}/attachment/send/").status_code == 404
    assert not Package.objects.exists()


def test_personattach_option_needs_the_fund_person_id(mo_a, locmem, settings):
    settings.TFOMS_ATTACHMENT_PACKAGE = "PERSONATTACH"
    known = PersonFactory(last_name="Известный", fund_person_id=7000002)
    unknown = PersonFactory(last_name="Безбдз", fund_person_id=None)
    AttachmentFactory(person=known, mo=mo_a)
    AttachmentFactory(person=unknown, mo=mo_a)
    run = exchange(locmem, mo_a)
    packages = Package.objects.filter(package_type="PERSONATTACH")
    assert packages.count() == 1 and packages.get().status == S.ACCEPTED
    assert packages.get().payload["BDZID"] == "7000002"
    assert run.log.filter(level="warning", message__contains="Безбдз").exists()


def test_attachments_to_an_unsent_district_wait_for_it(mo_a, person, locmem):
    attachment = AttachmentFactory(person=person, mo=mo_a)
    doctor = attachment.site.doctor
    Site.objects.filter(pk=attachment.site_id).update(doctor=None)  # the DISTRICT cannot form: no doctor
    run = exchange(locmem, mo_a)
    assert Package.objects.get(package_type="DISTRICT").status == S.FORM_ERROR
    assert not attach_packages().exists()  # not sent only to be refused
    assert run.log.filter(level="warning", message__contains=f"участку № {attachment.site.number}").exists()
    Site.objects.filter(pk=attachment.site_id).update(doctor=doctor)  # the МО fixes the district
    exchange(locmem, mo_a)
    assert attach_packages().get().status == S.ACCEPTED


def test_other_mo_in_the_same_run_keeps_its_own_packages(mo_a, mo_b, person, locmem):
    AttachmentFactory(person=person, mo=mo_a)
    AttachmentFactory(person=PersonFactory(), mo=MoFactory(code="590003"))
    exchange(locmem)
    assert set(attach_packages().values_list("mo__code", flat=True)) == {"590001", "590003"}
