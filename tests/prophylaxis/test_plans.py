"""Prophylaxis plans (C3, D2, D3): DISPPLAN per person over the in-process broker and fund, the
status cycle Новая → Отправлена в ТФОМС → Принята ТФОМС / Ошибка, the S_DPM archive, the order-88
PROF export with its golden file, and the fund's OSHIB_PR reply with each refusal."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from lxml import etree

from prophylaxis.models import PlanExport, PlanPerson
from prophylaxis.plan_formats import DISPPLAN_XSD
from prophylaxis.plan_replies import error_reply_load
from prophylaxis.plans import ExportRequest, PlanRefused, plan_send, plans_export
from registry.checkdigits import make_enp
from servicelog.inbox import inbound_handle
from servicelog.models import Package, RunResult
from servicelog.relay import relay_run
from tests.factories import PolicyFactory, SmoFactory, UserFactory
from tfoms_emulator.prof import answer_prof
from tfoms_portal import messaging
from tfoms_portal.formats.xml import load_schema, validate

P = PlanPerson.Status
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem")]
GOLDEN = __import__("pathlib").Path(__file__).parent / "golden"


def deliver() -> None:
    relay_run()
    messaging.get_backend().drain([messaging.queue_name(messaging.TO_MIS_ANSWER)], inbound_handle)


def test_dispplan_per_person_sent_then_accepted(plan, mo_a):
    """C3: "Отправить" forms one valid DISPPLAN per person; confirmed → Отправлена, answered → Принята."""
    result = plan_send(plan=plan, user=UserFactory())
    assert result.run.result == RunResult.SUCCESS and result.formed == 3
    packages = list(Package.objects.filter(run=result.run, package_type="DISPPLAN").order_by("sequence"))
    assert len(packages) == 3
    root = etree.fromstring(packages[0].body.encode())
    assert validate(root, load_schema(DISPPLAN_XSD)) == []
    assert root.findtext("HEADER/YEAR") == "2026" and root.findtext("BODY/SV_PL_MER/DISP") == "ДВ1"
    assert root.findtext("BODY/SV_PL_MER/PERIOD") == "4" and root.findtext("BODY/SMOCOD") == "59021"
    assert set(plan.persons.values_list("status", flat=True)) == {P.NEW}  # not yet confirmed
    relay_run()
    assert set(plan.persons.values_list("status", flat=True)) == {P.SENT}
    messaging.get_backend().drain([messaging.queue_name(messaging.TO_MIS_ANSWER)], inbound_handle)
    assert set(plan.persons.values_list("status", flat=True)) == {P.ACCEPTED}
    # the archive of the send: S_DPM<MCOD>T<RR><YY><MM><N>.xml in a ZIP of the same name
    archive = result.archive
    assert archive is not None and archive.file_name.startswith("S_DPM590001T59")
    with zipfile.ZipFile(io.BytesIO(bytes(archive.content))) as z:
        (name,) = z.namelist()
        assert name == f"{archive.file_name}.xml"
        assert etree.fromstring(z.read(name)).findtext("ZGLV/ZAP") == "3"


def test_fund_error_sets_the_person_error_with_code(plan):
    """The fund refuses a plan of a past year: each person Ошибка with RESULT_CODE and RESULT_NAME."""
    plan.year = 2020
    plan.save()
    plan_send(plan=plan, user=UserFactory())
    deliver()
    entry = plan.persons.first()
    assert entry.status == P.ERROR and entry.error_code == "904" and "вне года плана" in entry.error_text


def test_send_refused_while_the_previous_is_on_its_way(plan):
    plan_send(plan=plan, user=UserFactory())
    with pytest.raises(PlanRefused, match="ещё не обработан"):
        plan_send(plan=plan, user=UserFactory())


def test_person_that_cannot_be_formed_is_error_and_the_rest_goes(plan):
    """A person without a policy: Ошибка with the reason; the other two still go."""
    broken = plan.persons.order_by("pk").first()
    broken.person.policies.all().delete()
    broken.smo = None
    broken.save()
    result = plan_send(plan=plan, user=UserFactory())
    assert result.formed == 2 and result.form_errors == 1
    broken.refresh_from_db()
    assert broken.status == P.ERROR and "нет полиса" in broken.error_text
    deliver()
    assert plan.persons.filter(status=P.ACCEPTED).count() == 2


def _export(plan, smos=(), number=1, month=12):
    request = ExportRequest(plans=[plan], smos=list(smos), month=month, year=2026, quarter=4, number=number)
    return plans_export(mo=plan.mo, request=request, user=UserFactory(), today=dt.date(2026, 12, 1))


def test_prof_export_golden_file(plan):
    """D2: PROF_M<MCOD>T59_<YY><MM><N>.XML in windows-1251, byte for byte (OT НЕТ, SNILS format)."""
    entries = list(plan.persons.order_by("pk"))
    plan.persons.all().delete()
    for n, entry in enumerate(entries):  # stable NOMER_Z (the record's id) for the golden file
        entry.pk = 9000 + n
        entry.save(force_insert=True)
    for n, person in enumerate(p.person for p in plan.persons.order_by("pk")):
        person.snils = ["11223344595", "11223344696", "11223344797"][n]
        person.save()
    result = _export(plan)
    (export,) = result.exports
    assert export.file_name == "PROF_M590001T59_26121" and export.records == 3
    with zipfile.ZipFile(io.BytesIO(bytes(export.content))) as z:
        assert z.namelist() == ["PROF_M590001T59_26121.XML"]
        content = z.read("PROF_M590001T59_26121.XML")
    assert content == (GOLDEN / "PROF_M590001T59_26121.XML").read_bytes()
    assert content.startswith(b'<?xml version="1.0" encoding="windows-1251" standalone="yes"?>')
    assert set(plan.persons.values_list("status", flat=True)) == {P.SENT}


def test_export_rules(plan):
    """Without СМО only Новая; with СМО only Отправлена of that СМО; the number once per period."""
    _export(plan)
    with pytest.raises(PlanRefused, match="уже выгружен"):
        _export(plan, number=1)
    with pytest.raises(PlanRefused, match="Нет записей для экспорта"):
        _export(plan, number=2)  # nothing Новая any more
    smo = PlanPerson.objects.filter(plan=plan).first().smo
    other = SmoFactory(code="59030")
    result = _export(plan, smos=[smo, other], number=3)
    assert [e.file_name for e in result.exports] == ["PROF_M590001T59S59021_26123"]  # no records of 59030


def test_error_reply_cycle_with_the_emulator(plan):
    """D3 end to end: the emulator answers the PROF file; the record whose ЕНП fails its check digit
    is Ошибка with the fund's code and comment, the export's other records Принята ТФОМС."""
    sidorov = plan.persons.get(person__last_name="Сидоров")
    valid = sidorov.person.policies.get().enp
    sidorov.person.policies.update(enp=valid[:15] + str((int(valid[15]) + 1) % 10))  # wrong check digit
    (export,) = _export(plan).exports
    name, content, errors = answer_prof(f"{export.file_name}.zip", bytes(export.content))
    assert errors == 1 and name == f"ERR_{export.file_name}.zip"
    reply = error_reply_load(mo=plan.mo, name=name, data=content, user=UserFactory())
    assert reply.accepted == 2 and reply.errors == 1 and reply.unknown == []
    sidorov.refresh_from_db()
    assert (
        sidorov.status == P.ERROR and sidorov.error_code == "12" and "контрольной цифры" in sidorov.error_text
    )
    with pytest.raises(PlanRefused, match="уже загружен"):
        error_reply_load(mo=plan.mo, name=name, data=content, user=UserFactory())


def _oshib(fname_i: str, records: list[int]) -> bytes:
    zap = "".join(
        f"<ZAP_OSHIB><OSHIB>12</OSHIB><NOMER_Z>{r}</NOMER_Z><COMMENT>ЕНП не найден</COMMENT></ZAP_OSHIB>"
        for r in records
    )
    return (
        f'<?xml version="1.0" encoding="windows-1251"?><OSHIB_PR><VERSION>1.0</VERSION>'
        f"<DATA>2026-12-02</DATA><FNAME>ERR_1</FNAME><FNAME_I>{fname_i}</FNAME_I>{zap}</OSHIB_PR>"
    ).encode("cp1251")


def test_error_reply_marks_named_records_and_lists_unknown(plan):
    (export,) = _export(plan).exports
    first = plan.persons.order_by("pk").first()
    reply = error_reply_load(
        mo=plan.mo, name="ERR_1.xml", data=_oshib(export.file_name, [first.pk, 999999]), user=None
    )
    assert reply.errors == 1 and reply.accepted == 2 and reply.unknown == [999999]
    first.refresh_from_db()
    assert first.status == P.ERROR and first.error_code == "12" and first.error_text == "12: ЕНП не найден"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("reply.xml", b"<OSHIB_PR/>", "нет «ERR»"),
        ("ERR_1.xml", b"<OSHIB_PR><broken>", "не принят"),
        ("ERR_1.zip", b"not a zip", "не принят"),
        ("ERR_1.xml", _oshib("PROF_M590001T59_26129", []), "не найдена"),
    ],
)
def test_error_reply_refusals(plan, name, data, message):
    _export(plan)
    with pytest.raises(PlanRefused, match=message):
        error_reply_load(mo=plan.mo, name=name, data=data, user=None)


def test_error_reply_of_another_mo_is_not_found(plan, mo_b):
    (export,) = _export(plan).exports
    with pytest.raises(PlanRefused, match="не найдена"):
        error_reply_load(mo=mo_b, name="ERR_1.xml", data=_oshib(export.file_name, []), user=None)
    assert PlanExport.objects.get(pk=export.pk).reply_loaded_at is None


def test_dpm_archive_golden_file(mo_a, monkeypatch):
    """C3: the S_DPM archive of a send, byte for byte (the DISPPLAN messages as sent, in order)."""
    from django.utils import timezone

    from prophylaxis.models import PlanKind, ProphylaxisPlan
    from tests.factories import PersonFactory

    fixed = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    mo_a.oid = "1.2.643.5.1.13.13.12.2.59.5907"
    mo_a.save()
    plan = ProphylaxisPlan.objects.create(mo=mo_a, kind=PlanKind.OPV, year=2026)
    smo = SmoFactory(code="59021")
    for n in range(2):
        person = PersonFactory(
            pk=900_001 + n,
            last_name="Тестова",
            first_name="Анна",
            middle_name="",
            fund_person_id=77 + n,
            snils="11223344595",
            birth_place="г. Пермь",
        )
        PolicyFactory(person=person, smo=smo, enp=make_enp("59", person.birth_date, person.sex, 900 + n))
        PlanPerson.objects.create(pk=900_101 + n, plan=plan, person=person, smo=smo)
    result = plan_send(plan=plan, user=UserFactory())
    assert result.archive.file_name == "S_DPM590001T5926121"
    with zipfile.ZipFile(io.BytesIO(bytes(result.archive.content))) as z:
        content = z.read("S_DPM590001T5926121.xml")
    assert content == (GOLDEN / "S_DPM590001T5926121.xml").read_bytes()


def test_characters_outside_cp1251_are_reported(plan):
    """D2: a character windows-1251 cannot hold is named in the result, not dropped silently."""
    entry = plan.persons.order_by("pk").first()
    entry.person.first_name = "Zoë"  # ë is not in windows-1251
    entry.person.save()
    result = _export(plan)
    assert any("вне windows-1251" in w and entry.person.last_name in w for w in result.warnings)


def test_resend_after_a_fund_error(plan):
    """Within the manual-start timeout a second "Отправить" is refused in words (not a 500); after
    it, unchanged refused persons are not sent again, and corrected ones are."""
    from servicelog.models import Service

    plan.year = 2020  # the fund refuses a plan of a past year
    plan.save()
    plan_send(plan=plan, user=UserFactory())
    deliver()
    assert set(plan.persons.values_list("status", flat=True)) == {P.ERROR}
    with pytest.raises(PlanRefused, match="не чаще одного раза"):
        plan_send(plan=plan, user=UserFactory())
    Service.objects.filter(code="dispplan_exchange").update(manual_send_timeout_seconds=0)
    again = plan_send(plan=plan, user=UserFactory())
    assert again.formed == 0 and again.unchanged == 3 and again.archive is None
    plan.year = 2026
    plan.save()
    fixed = plan_send(plan=plan, user=UserFactory())
    assert fixed.formed == 3
    deliver()
    assert set(plan.persons.values_list("status", flat=True)) == {P.ACCEPTED}


def test_messages_set_not_to_send_do_not_block_the_plan(plan):
    from servicelog.models import Service

    plan_send(plan=plan, user=UserFactory())
    Package.objects.filter(package_type="DISPPLAN").update(do_not_send=True)
    Service.objects.filter(code="dispplan_exchange").update(manual_send_timeout_seconds=0)
    result = plan_send(plan=plan, user=UserFactory())  # not refused as "still on its way"
    assert result.formed == 0  # the same content is not formed again beside the held messages


def test_a_reply_matches_its_own_file_after_a_later_export(plan):
    """A record exported without СМО, then again for its СМО: the reply to the first file still finds
    it (the file's records are kept with the file, not only the last export on the record)."""
    (first,) = _export(plan).exports
    smo = plan.persons.first().smo
    (second,) = _export(plan, smos=[smo], number=2).exports
    assert second.records == 3
    reply = error_reply_load(mo=plan.mo, name="ERR_1.xml", data=_oshib(first.file_name, []), user=None)
    assert reply.accepted == 3 and reply.unknown == []


def test_several_errors_of_one_record_keep_every_code(plan):
    (export,) = _export(plan).exports
    first = plan.persons.order_by("pk").first()
    zap = "".join(
        f"<ZAP_OSHIB><OSHIB>{code}</OSHIB><NOMER_Z>{first.pk}</NOMER_Z><COMMENT>{text}</COMMENT></ZAP_OSHIB>"
        for code, text in (("13", "Квартал вне 1–4"), ("14", "Отчество не кириллицей"))
    )
    data = (
        f"<OSHIB_PR><VERSION>1.0</VERSION><DATA>2026-12-02</DATA><FNAME>ERR_1</FNAME>"
        f"<FNAME_I>{export.file_name}</FNAME_I>{zap}</OSHIB_PR>"
    ).encode()
    error_reply_load(mo=plan.mo, name="ERR_1.xml", data=data, user=None)
    first.refresh_from_db()
    assert first.error_code == "13, 14"
    assert first.error_text == "13: Квартал вне 1–4; 14: Отчество не кириллицей"


def test_dispplan_carries_the_attachment_to_the_plans_mo(plan):
    """formats §7.3: the district doctor's СНИЛС, the attachment's date, way and district."""
    from tests.factories import AttachmentFactory, SiteFactory

    entry = plan.persons.order_by("pk").first()
    site = SiteFactory(mo=plan.mo, number="12")
    AttachmentFactory(person=entry.person, mo=plan.mo, site=site, date_from=dt.date(2021, 3, 1))
    result = plan_send(plan=plan, user=UserFactory())
    package = Package.objects.get(run=result.run, object_id=str(entry.pk))
    root = etree.fromstring(package.body.encode())
    assert validate(root, load_schema(DISPPLAN_XSD)) == []
    body = root.find("BODY")
    assert body.findtext("PERSONATTACHDATE") == "2021-03-01" and body.findtext("PERSONATTACHMETHOD") == "2"
    assert body.findtext("LPUREGION_NAME") == "12" and body.findtext("PERSONATTACHTYPE") == "0"
    doctor = site.doctor.snils
    assert body.findtext("DOC_SNILS") == f"{doctor[:3]}-{doctor[3:6]}-{doctor[6:9]} {doctor[9:]}"
    assert [e.tag for e in body][-1] == "SV_PL_MER"
