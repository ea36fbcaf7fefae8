"""«Направление на госпитализацию» with the free-beds RPC (C2 stage 3) over the in-process broker
and fund: the fund's figures from the stage-1 packages it received, a row filling the target, no
answer (the form still works), an error answer, an unknown profile, another МО's patient (404), and
saving the referral, which forms its HOSPITALISATION_REFERRAL through the order-263 service."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import etree

import tfoms_emulator
from hospitalisation import formats as f
from hospitalisation.free_beds import NO_ANSWER
from hospitalisation.models import Referral
from registry.models import Role
from servicelog.inbox import inbound_handle
from servicelog.models import Direction, Package, PackageStatus, RpcCall, RpcState
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.factories import AttachmentFactory, WorkplaceFactory
from tfoms_emulator.rpc import RpcFaults
from tfoms_portal import messaging

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def referrer(region, enter):
    """The polyclinic МО's admin, whose patient the region's person is."""
    AttachmentFactory(person=region.person, mo=region.polyclinic_mo)
    workplace = WorkplaceFactory(user__username="poly_admin", mo=region.polyclinic_mo, role=Role.MO_ADMIN)
    return enter(workplace)


def fund_knows_structure(region) -> None:
    service_execute("iszl263", mo=region.hospital)
    relay_run()
    messaging.get_backend().drain([messaging.queue_name(messaging.ISZL_REPLY)], inbound_handle)


def replies() -> int:
    return messaging.get_backend().drain([messaging.queue_name(messaging.RPC_REPLY)], inbound_handle)


def referral_data(region, **changes) -> dict:
    """The referral form as filled for the region's patient: planned, ОМС, to the therapy beds."""
    return {
        "person": region.person.pk,
        "kind": Referral.Kind.PLANNED,
        "payment": "oms",
        "from_subdivision": region.clinic.pk,
        "to_mo": region.hospital.pk,
        "to_department": region.therapy.pk,
        "to_bed_profile": region.profile.pk,
        "diagnosis": "i20.8",
        "referral_date": timezone.localdate().isoformat(),
        "planned_date": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
        **changes,
    }


def ask(post, client, region, profile="19", **extra):
    data = {"person": region.person.pk, "profile_code": profile, **extra}
    return post(client, reverse("free_beds"), data, **HTMX)


def test_free_beds_from_the_structure_the_fund_received(post_committed, referrer, region, locmem):
    fund_knows_structure(region)
    form = referrer.get(reverse("referral_new") + f"?person={region.person.pk}").content.decode()
    assert "Направление на госпитализацию" in form and "19 — терапевтические" in form
    assert 'data-testid="free-beds"' in form
    buildings = re.search(r'<select name="from_subdivision".*?</select>', form, re.S).group(0)
    assert f'value="{region.clinic.pk}"' in buildings and f'value="{region.building.pk}"' not in buildings
    assert 'name="mo"' not in form  # an МО admin refers from their own МО
    pane = ask(post_committed, referrer, region).content.decode()
    assert "ждём ответа" in pane
    call = RpcCall.objects.get()
    request = etree.fromstring(call.package.body.encode())
    assert request.tag == "FREE_BEDS_REQUEST" and request.findtext("BODY/BEDPROFIL") == "19"
    assert request.findtext("HEADER/CODE_MO") == region.polyclinic_mo.code
    assert locmem.published[-1].queue == messaging.queue_name(messaging.ISZL_RPC)
    assert replies() == 1
    pane = referrer.get(reverse("rpc_call", args=[call.pk]), **HTMX).content.decode()
    call.refresh_from_db()
    assert call.state == RpcState.ANSWERED
    rows = call.reply["data"]["items"]
    assert rows == [
        {
            "lpu": region.hospital.code,
            "division": f.division_code(region.therapy),
            "profile": "19",
            "date": timezone.localdate().isoformat(),
            "planned": 5,
            "free": 5,
            "adult": 5,  # a mixed building: each free bed takes an adult or a child
            "child": 5,
        }
    ]
    assert 'data-testid="free-beds-table"' in pane and "Терапевтическое отделение" in pane
    assert f'data-to-department="{region.therapy.pk}"' in pane
    assert f'data-to-bed-profile="{region.profile.pk}"' in pane
    assert f'data-to-mo="{region.hospital.pk}"' in pane
    assert call.package.package_type == "FREE_BEDS_REQUEST" and call.package.service.code == "iszl263"


def test_no_answer_says_so_and_the_referral_still_saves(post_committed, referrer, region, locmem):
    fund_knows_structure(region)  # the referral's department is known: nothing holds its package
    tfoms_emulator.default_emulator().rpc_faults = RpcFaults("silent")
    ask(post_committed, referrer, region)
    call = RpcCall.objects.get()
    RpcCall.objects.filter(pk=call.pk).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    pane = referrer.get(reverse("rpc_call", args=[call.pk]), **HTMX).content.decode()
    assert NO_ANSWER in pane and "hx-trigger" not in pane

    response = post_committed(
        referrer,
        reverse("referral_new"),
        referral_data(region, diagnosis_text="Стенокардия", phone="+7 (342) 111-22-33"),
    )
    assert response.status_code == 302 and response.url == reverse("person_card", args=[region.person.pk])
    referral = Referral.objects.get()
    assert referral.mo == region.polyclinic_mo and referral.number == 1 and referral.diagnosis == "I20.8"
    packages = Package.objects.filter(direction=Direction.OUT, package_type=f.REFERRAL)
    assert [p.status for p in packages] == [PackageStatus.FORMED]  # formed by the service run at once
    card = referrer.get(response.url).content.decode()
    assert f"Направление {referral.full_number}" in card


def test_error_answer_is_said(post_committed, referrer, region):
    tfoms_emulator.default_emulator().rpc_faults = RpcFaults("error")
    ask(post_committed, referrer, region)
    replies()
    call = RpcCall.objects.get()
    assert call.state == RpcState.FAILED
    assert call.message == "ТФОМС вернул ошибку: 999 Сервис ТФОМС недоступен (имитация)"


def test_a_fund_that_knows_no_beds_answers_its_demo_figure(post_committed, referrer, region):
    ask(post_committed, referrer, region, to_mo=region.hospital.pk)
    replies()
    items = RpcCall.objects.get().reply["data"]["items"]
    assert [(i["lpu"], i["profile"], i["free"], i["adult"], i["child"]) for i in items] == [
        (region.hospital.code, "19", 7, 5, 2)
    ]


def test_unknown_profile_and_empty_profile_are_said(post_committed, referrer, region):
    pane = ask(post_committed, referrer, region, profile="77").content.decode()
    assert "Профиль коек «77» не найден" in pane
    pane = ask(post_committed, referrer, region, profile="").content.decode()
    assert "Выберите профиль коек" in pane
    assert not RpcCall.objects.exists()


def test_double_click_asks_once(post_committed, referrer, region):
    tfoms_emulator.default_emulator().rpc_faults = RpcFaults("silent")
    ask(post_committed, referrer, region)
    ask(post_committed, referrer, region)
    assert RpcCall.objects.count() == 1


def test_another_mos_patient_is_404(post_committed, enter, mo_admin_b, region, referrer):
    """mo_b is the polyclinic МО here; the hospital's admin (mo_a) does not see its patient."""
    hospital_admin = enter(
        WorkplaceFactory(user__username="hosp_admin", mo=region.hospital, role=Role.MO_ADMIN)
    )
    url = reverse("referral_new") + f"?person={region.person.pk}"
    assert hospital_admin.get(url).status_code == 404
    assert ask(post_committed, hospital_admin, region).status_code == 404
    assert referrer.get(reverse("referral_new")).status_code == 404  # no patient named
    ask(post_committed, referrer, region)
    call = RpcCall.objects.get()
    assert hospital_admin.get(reverse("rpc_call", args=[call.pk]), **HTMX).status_code == 404


def test_form_refuses_a_target_that_does_not_fit(post_committed, referrer, region):
    response = post_committed(
        referrer,
        reverse("referral_new"),
        referral_data(
            region,
            to_mo=region.polyclinic_mo.pk,
            to_bed_profile="",
            diagnosis="стенокард",
            planned_date=(timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200 and not Referral.objects.exists()
    assert "Код МКБ-10 вида" in page and "Раньше даты направления" in page
    assert "Выберите корректный вариант" in page or "не принадлежит" in page


def test_a_figure_date_with_a_zone_is_read_and_a_bad_one_refused():
    from hospitalisation.free_beds import reply_read
    from servicelog.rpc import ReplyUnreadable

    def reply(day: str) -> etree._Element:
        return etree.fromstring(
            "<FREE_BEDS_RESPONSE><HEADER><OPERATIONTYPE>Answer</OPERATIONTYPE><DATA>2026-12-07</DATA></HEADER>"
            "<BODY><FREE_BEDS_INFORMATION><LPU>590001</LPU><BEDPROFIL>19</BEDPROFIL>"
            f"<ACTUAL_DATE>{day}</ACTUAL_DATE><BEDFREE>3</BEDFREE><BEDFREEADULT>3</BEDFREEADULT>"
            "<BEDFREECHILD>0</BEDFREECHILD></FREE_BEDS_INFORMATION></BODY></FREE_BEDS_RESPONSE>"
        )

    assert reply_read(reply("2026-12-07+05:00")).data["items"][0]["date"] == "2026-12-07"
    with pytest.raises(ReplyUnreadable, match="не прочитана"):
        reply_read(reply("2026-13-40"))


def test_a_referral_the_fund_could_not_take_is_refused_with_the_reason(post_committed, referrer, region):
    """An ОМС planned referral names a department and a bed profile (HOSPITALISATION_REFERRAL needs
    them); its date is neither in the future nor before the patient was born."""
    future = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    page = post_committed(
        referrer,
        reverse("referral_new"),
        referral_data(region, to_department="", to_bed_profile="", referral_date=future, planned_date=""),
    ).content.decode()
    assert "Укажите отделение: направление по ОМС передаётся в ТФОМС." in page
    assert "Укажите профиль койки" in page and "Дата направления ещё не наступила." in page
    page = post_committed(
        referrer, reverse("referral_new"), referral_data(region, referral_date="1900-01-01")
    ).content.decode()
    assert "Дата направления раньше даты рождения пациента." in page
    assert not Referral.objects.exists()
    # a paid referral is not the fund's: no department needed
    response = post_committed(
        referrer,
        reverse("referral_new"),
        referral_data(region, payment="paid", to_department="", to_bed_profile=""),
    )
    assert response.status_code == 302 and Referral.objects.count() == 1


def test_profiles_in_numeric_order_and_rows_in_words(region):
    from hospitalisation.free_beds import _rows, profile_choices
    from registry.models import BedProfile

    BedProfile.objects.create(
        department=region.therapy, profile_code="3", name="хирургические", date_begin=dt.date(2020, 1, 1)
    )
    assert [code for code, _ in profile_choices()] == ["3", "19"]
    assert [_rows(n) for n in (1, 3, 5, 11, 21, 22)] == [
        "1 строка",
        "3 строки",
        "5 строк",
        "11 строк",
        "21 строка",
        "22 строки",
    ]
