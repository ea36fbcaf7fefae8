"""«Передача справочников в ИС Фармация» (SPEC F3; issue 17 items 2 and 3) with the in-process
broker and the emulator playing the pharmacy systems: only the chosen directories go, one package
per directory and organisation, to the organisation's own queue; an unchanged directory sends
nothing; by changes only what changed goes; switched off it stops, switched on again it goes whole;
an organisation the pharmacy system does not know is refused."""

from __future__ import annotations

import pytest
from lxml import etree

from pharmacy import exchange
from pharmacy.models import PharmacyOrganisation
from pharmacy.services import DirectoryChoice, organisation_save
from registry.checkdigits import make_ogrn
from registry.models import NsiEntry, Smo
from servicelog.inbox import inbound_handle
from servicelog.models import LogEntry, Package, PackageStatus
from servicelog.relay import relay_run
from servicelog.services import service_execute
from tests.factories import SmoFactory
from tfoms_portal import messaging

S = PackageStatus
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]


def organisation(code: str = "FARM59", **directories: DirectoryChoice) -> PharmacyOrganisation:
    existing = PharmacyOrganisation.objects.filter(code=code).first()
    return organisation_save(
        organisation=existing,
        fields={
            "name": f"Аптека {code}",
            "ogrn": make_ogrn("102590010001"),
            "code": code,
            "active": True,
            "queue": f"pharmacy.{code.lower()}",
        },
        directories=directories,
        request=None,
    )


@pytest.fixture
def directories():
    for _ in range(3):
        SmoFactory()
    for code, name in (("1", "Мужской"), ("2", "Женский")):
        NsiEntry.objects.create(directory="V005", code=code, name=name)


def cycle(locmem) -> list[Package]:
    """A run of the service, the relay, the answers taken: the packages that run formed."""
    run = service_execute("pharmacy", mo=None)
    relay_run()
    locmem.drain([messaging.queue_name(messaging.TO_MIS_ANSWER)], inbound_handle)
    return list(Package.objects.filter(run=run, direction="out").order_by("id"))


def items(package: Package) -> list[tuple[str, str]]:
    root = etree.fromstring(package.body.encode("utf-8"))
    return [(i.findtext("OP") or "", i.findtext("CODE")) for i in root.findall("BODY/ITEM")]


def test_only_the_chosen_directories_go_each_as_one_package_to_the_organisations_queue(locmem, directories):
    organisation(F002=DirectoryChoice(True, "full"), V005=DirectoryChoice(True, "changes"))
    formed = cycle(locmem)
    assert sorted(p.package_type for p in formed) == ["PHARM_F002", "PHARM_V005"]
    assert all(p.status == S.ACCEPTED and p.operation == "Insert" and p.object_id == "FARM59" for p in formed)
    assert {m.queue for m in locmem.published if m.type.startswith("PHARM_")} == {"pharmacy.farm59"}
    f002 = next(p for p in formed if p.package_type == "PHARM_F002")
    assert [code for _, code in items(f002)] == sorted(Smo.objects.values_list("code", flat=True))
    v005 = next(p for p in formed if p.package_type == "PHARM_V005")
    assert items(v005) == [("Insert", "1"), ("Insert", "2")]  # by changes, from nothing: everything new
    assert cycle(locmem) == []  # nothing changed: nothing sent


def test_a_change_goes_whole_in_full_mode_and_alone_by_changes(locmem, directories):
    organisation(F002=DirectoryChoice(True, "full"), V005=DirectoryChoice(True, "changes"))
    cycle(locmem)
    smo = Smo.objects.order_by("code").first()
    smo.name_short = "СК переименована"
    smo.save()
    NsiEntry.objects.filter(directory="V005", code="2").update(name="Женский пол")
    NsiEntry.objects.create(directory="V005", code="3", name="Не определён")
    NsiEntry.objects.filter(directory="V005", code="1").delete()
    formed = {p.package_type: p for p in cycle(locmem)}
    assert formed["PHARM_F002"].operation == "Update" and len(items(formed["PHARM_F002"])) == 3
    assert items(formed["PHARM_V005"]) == [("Update", "2"), ("Insert", "3"), ("Delete", "1")]
    assert all(p.status == S.ACCEPTED for p in formed.values())


def test_switched_off_it_stops_and_switched_on_again_it_goes_whole(locmem, directories):
    organisation(V005=DirectoryChoice(True, "changes"))
    cycle(locmem)
    organisation(V005=DirectoryChoice(False))
    NsiEntry.objects.create(directory="V005", code="3", name="Не определён")
    assert cycle(locmem) == []  # off: nothing, though it changed
    organisation(V005=DirectoryChoice(True, "changes"))
    (again,) = cycle(locmem)
    assert again.operation == "Insert" and again.status == S.ACCEPTED
    assert items(again) == [("Insert", "1"), ("Insert", "2"), ("Insert", "3")]  # whole, not the change


def test_an_organisation_unknown_to_the_pharmacy_system_is_refused_with_the_reason(locmem, directories):
    organisation("NOSUCH", F002=DirectoryChoice(True, "full"))
    (package,) = cycle(locmem)
    assert package.status == S.REJECTED_BY_FUND
    assert "Неизвестный код аптечной организации: NOSUCH" in package.result


def test_nothing_chosen_or_switched_off_forms_nothing_and_the_log_says_so(locmem, directories):
    organisation("FARM59")
    organisation("APT0002", F002=DirectoryChoice(True, "full"))
    PharmacyOrganisation.objects.filter(code="APT0002").update(active=False)
    assert cycle(locmem) == []
    lines = list(LogEntry.objects.values_list("message", flat=True))
    assert any("FARM59" in line and "не выбран ни один справочник" in line for line in lines)


def test_an_organisation_switched_off_during_the_run_has_no_packages_formed(locmem, directories, monkeypatch):
    organisation("APT0002", F002=DirectoryChoice(True, "full"))
    organisation("FARM59", F002=DirectoryChoice(True, "full"))
    original = exchange.DIRECTORY_ITEMS["F002"]

    def switching_off_the_next(today):  # APT0002 goes first; while it forms, FARM59 is switched off
        PharmacyOrganisation.objects.filter(code="FARM59").update(active=False)
        return original(today)

    monkeypatch.setitem(exchange.DIRECTORY_ITEMS, "F002", switching_off_the_next)
    formed = cycle(locmem)
    assert [p.object_id for p in formed] == ["APT0002"]
    assert LogEntry.objects.filter(message__contains="FARM59 выключена во время запуска").exists()


def test_the_service_is_the_dc_admins_in_the_journal_and_its_start_forms_the_packages(
    enter, dc_admin, mo_admin_a, statistician_a, directories
):
    organisation(F002=DirectoryChoice(True, "full"))
    for other in (mo_admin_a, statistician_a):
        client = enter(other)
        assert "Передача справочников в ИС Фармация" not in client.get("/journal/").content.decode()
        assert client.get("/journal/", {"service": "pharmacy"}).status_code == 404
    assert enter(mo_admin_a).post("/journal/pharmacy/start/").status_code == 404
    assert enter(statistician_a).post("/journal/pharmacy/start/").status_code == 302  # not an admin at all
    assert not Package.objects.exists()
    client = enter(dc_admin)
    page = client.get("/journal/", {"service": "pharmacy"}).content.decode()
    assert "Передача справочников в ИС Фармация" in page and 'data-testid="start"' in page
    client.post("/journal/pharmacy/start/")
    assert list(Package.objects.values_list("package_type", "object_id")) == [("PHARM_F002", "FARM59")]


def test_switched_on_again_with_nothing_changed_it_still_goes_whole(locmem, directories):
    organisation(V005=DirectoryChoice(True, "changes"), F002=DirectoryChoice(True, "full"))
    cycle(locmem)
    organisation(V005=DirectoryChoice(False), F002=DirectoryChoice(False))
    organisation(V005=DirectoryChoice(True, "changes"), F002=DirectoryChoice(True, "full"))
    formed = {p.package_type: p for p in cycle(locmem)}
    assert {t: p.operation for t, p in formed.items()} == {"PHARM_F002": "Insert", "PHARM_V005": "Insert"}
    assert items(formed["PHARM_V005"]) == [("Insert", "1"), ("Insert", "2")]
    assert len(items(formed["PHARM_F002"])) == 3
    assert cycle(locmem) == []  # and then nothing again


def test_a_package_on_its_way_when_switched_off_is_held_and_its_late_answer_does_not_undo_the_switch(
    locmem, directories
):
    organisation(V005=DirectoryChoice(True, "changes"))
    service_execute("pharmacy", mo=None)  # formed, not sent yet
    organisation(V005=DirectoryChoice(False))
    held = Package.objects.get(package_type="PHARM_V005")
    assert held.do_not_send and "больше не передаётся" in held.do_not_send_reason
    assert relay_run().sent == 0  # switched off: it stops
    organisation(V005=DirectoryChoice(True, "changes"))
    (again,) = cycle(locmem)
    assert again.operation == "Insert" and items(again) == [("Insert", "1"), ("Insert", "2")]


def test_a_sent_package_accepted_after_the_switch_off_does_not_count(locmem, directories):
    organisation(V005=DirectoryChoice(True, "changes"))
    service_execute("pharmacy", mo=None)
    relay_run()  # sent; the answer waits in its queue
    organisation(V005=DirectoryChoice(False))
    locmem.drain([messaging.queue_name(messaging.TO_MIS_ANSWER)], inbound_handle)  # accepted late
    assert Package.objects.get(package_type="PHARM_V005").status == S.ACCEPTED
    organisation(V005=DirectoryChoice(True, "changes"))
    (again,) = cycle(locmem)
    assert again.operation == "Insert" and items(again) == [("Insert", "1"), ("Insert", "2")]


def test_each_organisation_is_its_own_ordering_key_and_queue(locmem, directories):
    organisation("FARM59", F002=DirectoryChoice(True, "full"))
    organisation("APT0002", F002=DirectoryChoice(True, "full"))
    formed = cycle(locmem)
    assert sorted(p.ordering_key for p in formed) == [
        "pharmacy:region:pharmacy:APT0002",
        "pharmacy:region:pharmacy:FARM59",
    ]
    assert sorted(m.queue for m in locmem.published if m.type == "PHARM_F002") == [
        "pharmacy.apt0002",
        "pharmacy.farm59",
    ]


def test_a_failing_organisation_leaves_the_others_formed_and_says_why(locmem, directories, monkeypatch):
    organisation("APT0002", F002=DirectoryChoice(True, "full"))
    organisation("FARM59", F002=DirectoryChoice(True, "full"))
    original = exchange.DIRECTORY_ITEMS["F002"]
    calls = []

    def failing_first(today):
        calls.append(today)
        if len(calls) == 1:
            raise RuntimeError("сбой чтения")
        return original(today)

    monkeypatch.setitem(exchange.DIRECTORY_ITEMS, "F002", failing_first)
    formed = cycle(locmem)
    assert [p.object_id for p in formed] == ["FARM59"]
    assert LogEntry.objects.filter(
        level="error", message__contains="APT0002: пакеты не сформированы"
    ).exists()


def test_a_route_that_fails_is_a_send_error_of_that_package_only(locmem, directories):
    from servicelog.registry import get_package_type

    organisation("FARM59", F002=DirectoryChoice(True, "full"), V005=DirectoryChoice(True, "full"))
    service_execute("pharmacy", mo=None)
    kind = get_package_type("PHARM_V005")

    def broken(package):
        raise LookupError("нет очереди")

    object.__setattr__(kind, "route", broken)  # a frozen registration: put back below
    try:
        relay_run()
    finally:
        object.__setattr__(kind, "route", exchange.route)
    f002, v005 = (Package.objects.get(package_type=t) for t in ("PHARM_F002", "PHARM_V005"))
    assert f002.status == S.SENT
    assert (
        v005.status == S.SEND_ERROR
        and "очередь получателя не определена: LookupError: нет очереди" in v005.result
    )


def test_after_the_bodies_are_purged_an_unchanged_directory_still_sends_nothing(locmem, directories):
    import datetime as dt

    from django.utils import timezone

    from servicelog.services import packages_purge_bodies

    organisation(V005=DirectoryChoice(True, "changes"), staff=DirectoryChoice(True, "changes"))
    cycle(locmem)
    Package.objects.update(created_at=timezone.now() - dt.timedelta(days=400))
    assert packages_purge_bodies(older_than_days=365) >= 1
    purged = Package.objects.get(package_type="PHARM_V005")
    assert purged.body == "" and set(purged.payload) == {"state"}  # the items (staff: ФИО, СНИЛС) gone
    assert packages_purge_bodies(older_than_days=365) == 0  # once
    assert cycle(locmem) == []  # its state says what the organisation has
    NsiEntry.objects.create(directory="V005", code="3", name="Не определён")
    (newer,) = cycle(locmem)  # accepted: now it is what the organisation has, the older one is not
    Package.objects.filter(pk=newer.pk).update(created_at=timezone.now() - dt.timedelta(days=400))
    packages_purge_bodies(older_than_days=365)
    purged.refresh_from_db()
    assert purged.payload == {}  # only the last accepted package keeps its state
    assert set(Package.objects.get(pk=newer.pk).payload) == {"state"}
