"""The attachment file (D1): golden files byte for byte, the Р/И cases, bad input and its error report,
the period checks, МО scoping of the form, the download and the API, the audit trail."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from attachment.export import (
    ExportCheck,
    ExportPeriod,
    ExportRefused,
    export_check,
    export_check_steps,
    export_period,
)
from attachment.formats.attachment_file import (
    FIELDS,
    AttachmentLine,
    action_code,
    file_name,
    policy_id,
    series_number,
    snils_dashed,
)
from attachment.selectors import attached_persons
from registry import checkdigits
from registry.models import Attachment, Department, Person, Policy, Staff, Subdivision
from servicelog.models import AuditAction, AuditEvent
from tests.factories import (
    AttachmentFactory,
    DocumentFactory,
    PersonFactory,
    PolicyFactory,
    SiteFactory,
    StaffFactory,
)
from tfoms_portal.formats.csv import write_csv

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"  # regenerate, then read the diff before committing

PERIOD = ExportPeriod(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
QUERY = {"date_from": "2026-10-01", "date_to": "2026-10-31"}


def assert_golden(data: bytes, name: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{name} differs from the golden file"


def local(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def created(person: Person, day: dt.date) -> None:
    Person.objects.filter(pk=person.pk).update(created_at=local(day))


def content(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


# --- the layout from plain values ------------------------------------------------------------------


def line(**values) -> AttachmentLine:
    base = {
        "action": "И",
        "policy_form": "П",
        "policy_id": "",
        "enp": "5950000000000019",
        "last_name": "Иванов",
        "first_name": "Иван",
        "middle_name": "Иванович",
        "birth_date": dt.date(1985, 3, 15),
        "birth_place": "г. Пермь",
        "doc_type": 14,
        "doc_number": "5704 № 100001",
        "doc_date": dt.date(2005, 4, 1),
        "doc_issuer": "ОУФМС России по Пермскому краю",
        "snils": "11223344595",
        "mo_code": "590001",
        "method": 2,
        "attach_type": 1,
        "detached_on": None,
        "mo_oid": "1.2.643.5.1.13.13.12.2.59.9001",
        "subdivision_code": "1",
        "site_number": "12",
        "doctor_snils": "22334400095",
        "staff_category": 1,
    }
    return AttachmentLine(**(base | values))


def test_twenty_three_fields_in_manual_order():
    assert len(FIELDS) == 23
    assert (
        FIELDS[0] == "Действие"
        and FIELDS[17] == "Дата_открепления"
        and FIELDS[-1] == "Категория_медработника"
    )
    assert len(line().cells()) == 23


def test_value_helpers():
    assert file_name("590001", dt.date(2026, 10, 31)) == "MO259000120261031.csv"
    assert series_number("ПМ", "123456") == "ПМ № 123456"
    assert series_number("", "123456") == "123456"
    assert policy_id("С", "ПМ", "123456") == "ПМ № 123456"
    assert policy_id("В", "", "590123456") == "590123456"
    assert (
        policy_id("П", "ПМ", "123456") == ""
        and policy_id("Э", "", "") == ""
        and policy_id("К", "", "1") == ""
    )
    assert snils_dashed("22334400095") == "223-344-000 95"
    assert snils_dashed("223-344-000 95") == "223-344-000 95"
    assert snils_dashed("2233440009") is None


@pytest.mark.parametrize(
    ("created_on", "moved_here", "expected"),
    [
        (dt.date(2026, 9, 24), False, "Р"),  # the first of the 7 days before the start
        (dt.date(2026, 9, 30), False, "Р"),  # the day before the start
        (dt.date(2026, 9, 23), False, "И"),  # 8 days before
        (dt.date(2026, 10, 1), False, "И"),  # the manual counts the days before the period only
        (dt.date(2020, 1, 1), True, "Р"),  # came from another МО, detached there in the period
        (dt.date(2020, 1, 1), False, "И"),
    ],
)
def test_action_rule(created_on, moved_here, expected):
    assert (
        action_code(created_on=created_on, period_start=PERIOD.date_from, moved_here=moved_here) == expected
    )


def test_lines_golden():
    """Quoting with a `"` inside, empty optional values bare, the absent category left out with its `;`,
    CR LF only between rows, windows-1251."""
    rows = [
        line(action="Р", birth_place='роддом "Мать и дитя", г. Пермь').cells(),
        line(
            policy_form="С",
            policy_id="ПМ № 123456",
            enp="",
            middle_name="",
            birth_place="",
            doc_type=None,
            doc_number="",
            doc_date=None,
            doc_issuer="",
            snils="",
            detached_on=dt.date(2026, 10, 20),
            subdivision_code="",
            staff_category=2,
        ).cells(),
        line(policy_form="В", policy_id="590123456", enp="", attach_type=None, staff_category=None).cells(),
    ]
    data = write_csv(rows, omit_trailing_absent=True)
    assert_golden(data, "lines.csv")
    assert not data.startswith(b"\r\n") and not data.endswith(b"\r\n") and b"\r\n\r\n" not in data
    assert data.count(b"\r\n") == 2 and data.count(b"\n") == 2
    last = data.split(b"\r\n")[-1].decode("cp1251")
    assert last.endswith('"223-344-000 95"') and last.count(";") == 21  # 22 fields: the 23rd left out
    assert '"роддом ""Мать и дитя"", г. Пермь"' in data.decode("cp1251")


# --- the file from the database: the Р/И cases -----------------------------------------------------


@pytest.fixture
def region(mo_a, mo_b):
    """МО A with building 001 → department → district 12 (a doctor) and district 7 (a worker without a
    category in the classifier); МО B with district 3."""
    mo_a.oid = "1.2.643.5.1.13.13.12.2.59.9001"
    mo_a.save()
    subdivision = Subdivision.objects.create(mo=mo_a, code="001", name="Поликлиника", kind="polyclinic")
    department = Department.objects.create(
        subdivision=subdivision, code="002", name="Терапевтическое", group_type="polyclinic"
    )
    doctor = StaffFactory(mo=mo_a, snils=checkdigits.make_snils(223_344_000), post_type=Staff.PostType.DOCTOR)
    other = StaffFactory(mo=mo_a, snils=checkdigits.make_snils(223_344_001), post_type=0)
    return {
        "a": mo_a,
        "b": mo_b,
        "site_12": SiteFactory(mo=mo_a, number="12", department=department, doctor=doctor),
        "site_7": SiteFactory(mo=mo_a, number="7", department=None, doctor=other),
        "site_b": SiteFactory(mo=mo_b, number="3"),
    }


def new_person(region) -> Person:
    """Added to the system three days before the period: Р."""
    person = PersonFactory(
        last_name="Иванов",
        first_name="Иван",
        middle_name="Иванович",
        birth_date=dt.date(1985, 3, 15),
        sex=1,
        snils=checkdigits.make_snils(112_233_001),
        birth_place="г. Пермь",
    )
    created(person, dt.date(2026, 9, 28))
    DocumentFactory(person=person, series="", number="100001", doc_type=3, issued_at=dt.date(2001, 1, 1))
    DocumentFactory(person=person, series="5704", number="100002", issued_at=dt.date(2005, 4, 1))  # latest
    PolicyFactory(
        person=person, form=Policy.Form.PAPER, enp=checkdigits.make_enp("59", person.birth_date, 1, 1)
    )
    AttachmentFactory(
        person=person, mo=region["a"], site=region["site_12"], method=2, date_from=dt.date(2026, 9, 28)
    )
    return person


def moved_here(region) -> Person:
    """Was attached to МО B until 10.10.2026, to МО A from 11.10.2026: Р."""
    person = PersonFactory(
        last_name="Петрова",
        first_name="Анна",
        middle_name="Сергеевна",
        birth_date=dt.date(1990, 7, 1),
        sex=2,
        snils=checkdigits.make_snils(112_233_002),
        birth_place="",
    )
    created(person, dt.date(2020, 5, 5))
    DocumentFactory(
        person=person,
        series="5710",
        number="200002",
        issued_at=dt.date(2010, 7, 10),
        issuer='ОВД "Центральный"',
    )
    PolicyFactory(
        person=person,
        form=Policy.Form.OLD,
        enp="",
        series="ПМ",
        number="000123",
        valid_from=dt.date(2010, 1, 1),
        valid_to=dt.date(2015, 12, 31),
    )
    PolicyFactory(
        person=person,
        form=Policy.Form.ELECTRONIC,
        enp=checkdigits.make_enp("59", person.birth_date, 2, 2),
        valid_from=dt.date(2016, 1, 1),
    )
    AttachmentFactory(
        person=person,
        mo=region["b"],
        site=region["site_b"],
        date_from=dt.date(2020, 5, 5),
        date_to=dt.date(2026, 10, 10),
    )
    AttachmentFactory(
        person=person, mo=region["a"], site=region["site_12"], method=1, date_from=dt.date(2026, 10, 11)
    )
    return person


def correction(region) -> Person:
    """Attached for years, an old-style policy, no document, no СНИЛС, detached in the period, at a
    district whose worker has no category: И, empty fields, the last field left out."""
    person = PersonFactory(
        last_name="Сидоров", first_name="Сергей", middle_name="", birth_date=dt.date(1950, 12, 31), snils=""
    )
    created(person, dt.date(2019, 1, 1))
    PolicyFactory(
        person=person,
        form=Policy.Form.OLD,
        enp="",
        series="ПМ",
        number="654321",
        valid_from=dt.date(2009, 1, 1),
    )
    AttachmentFactory(
        person=person,
        mo=region["a"],
        site=region["site_7"],
        method=0,
        date_from=dt.date(2019, 1, 1),
        date_to=dt.date(2026, 10, 20),
        close_cause=Attachment.CloseCause.MOVED,
    )
    return person


CASES = {"new_person": new_person, "moved_here": moved_here, "correction": correction}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(CASES))
def test_each_case_golden(case, region, enter, mo_admin_a):
    CASES[case](region)
    response = enter(mo_admin_a).get("/attachment/export/file/", QUERY)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=windows-1251"
    assert response["Content-Disposition"] == 'attachment; filename="MO259000120261031.csv"'
    assert_golden(content(response), f"{case}.csv")


@pytest.mark.django_db
def test_three_cases_in_one_file(region, enter, mo_admin_a):
    for make in CASES.values():
        make(region)
    data = content(enter(mo_admin_a).get("/attachment/export/file/", QUERY))
    assert_golden(data, "period_202610.csv")
    rows = data.decode("cp1251").split("\r\n")
    assert [row[:3] for row in rows] == ['"Р"', '"Р"', '"И"']
    assert not data.endswith(b"\r\n") and b"\r\n\r\n" not in data


@pytest.mark.django_db
def test_persons_stream_with_their_policies_and_documents(region, mo_admin_a):
    people = []
    for make in CASES.values():
        people.append(make(region))
        unattached = PersonFactory(last_name="Неприкреплённый")  # between them: passed over
        PolicyFactory(person=unattached)
        DocumentFactory(person=unattached)
    got = list(
        attached_persons(
            workplace=mo_admin_a,
            mo=region["a"],
            date_from=PERIOD.date_from,
            date_to=PERIOD.date_to,
        )
    )
    assert [p.person_id for p in got] == [p.pk for p in people]
    assert [len(p.policies) for p in got] == [1, 2, 1]
    assert [len(p.documents) for p in got] == [2, 1, 0]
    assert [p.attachments[0].moved_here for p in got] == [False, True, False]


# --- bad input: the error report ------------------------------------------------------------------


def plain(region, last_name: str, **attachment) -> Person:
    person = PersonFactory(last_name=last_name, first_name="Тест", middle_name="", snils="")
    PolicyFactory(person=person)
    values = {"mo": region["a"], "site": region["site_12"], "date_from": dt.date(2020, 1, 1)} | attachment
    AttachmentFactory(person=person, **values)
    return person


@pytest.fixture
def bad_input(region):
    good = plain(region, "Годный")
    no_policy = plain(region, "Безполисный")
    Policy.objects.filter(person=no_policy).delete()
    no_site = plain(region, "Безучастковый", site=None)
    no_doctor = plain(region, "Безврачебный", site=SiteFactory(mo=region["a"], number="40", doctor=None))
    no_snils_site = SiteFactory(mo=region["a"], number="41", doctor=StaffFactory(mo=region["a"], snils=""))
    no_doctor_snils = plain(region, "Безснилсовый", site=no_snils_site)
    future = plain(region, "Будущий", date_to=timezone.localdate() + dt.timedelta(days=30))
    twice = plain(region, "Дважды", date_from=dt.date(2024, 1, 1))
    AttachmentFactory(person=twice, mo=region["a"], site=region["site_7"], date_from=dt.date(2025, 6, 1))
    foreign = plain(region, "Əлиев")  # U+018F is not in windows-1251
    unified_no_enp = plain(region, "Безномерный")
    Policy.objects.filter(person=unified_no_enp).update(enp="")
    return {
        "good": good,
        "no_policy": no_policy,
        "no_site": no_site,
        "no_doctor": no_doctor,
        "no_doctor_snils": no_doctor_snils,
        "future": future,
        "twice": twice,
        "foreign": foreign,
        "unified_no_enp": unified_no_enp,
    }


@pytest.mark.django_db
def test_bad_input_is_reported_not_written(bad_input, region, mo_admin_a):
    check = export_check(workplace=mo_admin_a, mo=region["a"], period=PERIOD)
    reasons = {p.person_id: (p.reason, p.in_file) for p in check.problems}
    expected = {
        "no_policy": ("нет полиса ОМС — не выгружен", False),
        "no_site": ("нет участка основного прикрепления — не выгружен", False),
        "no_doctor": ("у участка № 40 не указан врач (нет СНИЛС врача) — не выгружен", False),
        "no_doctor_snils": ("у врача участка № 41 нет СНИЛС — не выгружен", False),
        "unified_no_enp": ("у полиса единого образца нет ЕНП — не выгружен", False),
        "foreign": ("символ «Ə» (U+018F) в поле «Фамилия» не представим в windows-1251 — не выгружен", False),
    }
    for key, value in expected.items():
        assert reasons[bad_input[key].pk] == value, key
    future_reason, future_in_file = reasons[bad_input["future"].pk]
    assert future_in_file and "ещё не наступила — выгружен как прикреплённый" in future_reason
    twice_reason, twice_in_file = reasons[bad_input["twice"].pk]
    assert twice_in_file and twice_reason.startswith(
        "второе открытое прикрепление к МО (с 01.01.2024, участок № 12)"
    )
    assert "в файле прикрепление с 01.06.2025" in twice_reason
    assert bad_input["good"].pk not in reasons
    assert (check.rows, check.not_exported, check.problems_total) == (3, 6, 8)
    stepwise = ExportCheck()
    steps = export_check_steps(workplace=mo_admin_a, mo=region["a"], period=PERIOD, check=stepwise, every=4)
    assert list(steps) == [4, 8]  # the page streams these as progress
    assert stepwise == check


@pytest.mark.django_db
def test_bad_input_file_holds_the_valid_rows_only(bad_input, region, enter, mo_admin_a):
    text = content(enter(mo_admin_a).get("/attachment/export/file/", QUERY)).decode("cp1251")
    rows = text.split("\r\n")
    names = [row.split(";")[4] for row in rows]
    assert names == ['"Годный"', '"Будущий"', '"Дважды"']
    future = rows[1].split(";")
    assert future[17] == ""  # not detached on the report date
    twice = rows[2].split(";")
    assert twice[20] == '"7"'  # the later of the two open attachments
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.details["rows"] == 3 and event.details["not_exported"] == 6


@pytest.mark.django_db
def test_error_report_page_and_download(bad_input, region, enter, mo_admin_a):
    client = enter(mo_admin_a)
    page = client.get("/attachment/export/", QUERY)
    assert page.status_code == 200
    html = content(page).decode()  # streamed: the download starts before the check ends
    assert html.index('data-testid="download"') < html.index('data-testid="errors"')
    assert '<span hidden data-total="3"></span>' in html and html.rstrip().endswith("</html>")
    assert "Строк в файле: 3." in html and "Не выгружено людей: 6" in html
    assert "у врача участка № 41 нет СНИЛС — не выгружен" in html
    assert "MO259000120261031.csv" in html and "/attachment/export/file/?date_from=2026-10-01" in html
    report = client.get("/attachment/export/errors/", QUERY)
    assert report["Content-Disposition"] == (
        "attachment; filename*=utf-8''MO259000120261031_%D0%BE%D1%88%D0%B8%D0%B1%D0%BA%D0%B8.csv"
    )
    text = content(report).decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == "№;ИД человека;ФИО;Дата рождения;Участок;Причина;Человек в файле"
    assert len([row for row in lines[1:] if row]) == 8
    assert f";{bad_input['no_doctor_snils'].pk};Безснилсовый Тест;" in text and "Əлиев" in text
    event = AuditEvent.objects.get(action=AuditAction.DOWNLOAD)
    assert event.details["problems"] == 8 and event.details["file"] == "MO259000120261031_ошибки.csv"


# --- the period --------------------------------------------------------------------------------------


def test_period_rules(settings):
    today = dt.date(2026, 11, 26)
    assert export_period(dt.date(2025, 11, 26), today, today=today).date_from == dt.date(2025, 11, 26)
    with pytest.raises(ExportRefused, match=re.escape("Начало периода (02.10.2026) позже его окончания")):
        export_period(dt.date(2026, 10, 2), dt.date(2026, 10, 1), today=today)
    with pytest.raises(
        ExportRefused, match=re.escape("Период слишком длинный: 367 дн., допускается не более 366 дн.")
    ):
        export_period(dt.date(2025, 11, 25), today, today=today)
    with pytest.raises(ExportRefused, match="ещё не наступила"):
        export_period(today, today + dt.timedelta(days=1), today=today)
    settings.ATTACHMENT_EXPORT_MAX_DAYS = 31
    with pytest.raises(ExportRefused, match=re.escape("не более 31 дн.")):
        export_period(dt.date(2026, 10, 1), dt.date(2026, 11, 1), today=today)


@pytest.mark.django_db
def test_form_defaults_to_the_current_month(enter, mo_admin_a):
    today = timezone.localdate()
    html = enter(mo_admin_a).get("/attachment/export/").content.decode()
    assert f'name="date_from" value="{today.replace(day=1).isoformat()}"' in html
    assert f'name="date_to" value="{today.isoformat()}"' in html
    assert 'name="mo"' not in html  # the МО admin exports the own МО only


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"date_from": "2026-10-31", "date_to": "2026-10-01"},
            "Начало периода (31.10.2026) позже его окончания",
        ),
        ({"date_from": "2025-01-01", "date_to": "2026-10-31"}, "Период слишком длинный: 669 дн."),
        (
            {"date_from": "31.13.2026", "date_to": "2026-10-31"},
            "Неверная дата «31.13.2026» в поле «Период с»",
        ),
    ],
)
def test_form_refuses_bad_periods(query, message, enter, mo_admin_a):
    client = enter(mo_admin_a)
    page = client.get("/attachment/export/", query)
    assert page.status_code == 400 and message in page.content.decode()
    download = client.get("/attachment/export/file/", query, follow=True)
    assert message in download.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"date": "2026-10-01", "date_from": "2026-10-31"},
            "Начало периода (31.10.2026) позже его окончания",
        ),
        ({"date": "2026-10-31", "date_from": "2025-01-01"}, "Период слишком длинный"),
        ({"date": "2026-02-30"}, "Неверная дата «2026-02-30» в поле «date»"),
        ({}, "Укажите отчётную дату: параметр date=ГГГГ-ММ-ДД."),
    ],
)
def test_api_refuses_bad_dates(query, message, enter, mo_admin_a):
    response = enter(mo_admin_a).get("/api/v1/attachment/file/", query)
    assert response.status_code == 400 and message in response.json()["detail"]


@pytest.mark.django_db
def test_api_gives_the_file_with_its_name(region, enter, mo_admin_a):
    new_person(region)
    response = enter(mo_admin_a).get("/api/v1/attachment/file/", {"date": "2026-10-31"})  # from 01.10
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="MO259000120261031.csv"'
    assert_golden(content(response), "new_person.csv")
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.details == {
        "file": "MO259000120261031.csv",
        "mo": "590001",
        "date_from": "2026-10-01",
        "date_to": "2026-10-31",
        "via": "api",
        "rows": 1,
        "not_exported": 0,
    }
    assert event.outcome == "успешно" and event.user.username == "mo_admin_a"


# --- МО scoping and roles ------------------------------------------------------------------------------


@pytest.fixture
def both_mo(region):
    mine = plain(region, "Свой")
    theirs = PersonFactory(last_name="Чужой")
    PolicyFactory(person=theirs)
    AttachmentFactory(person=theirs, mo=region["b"], site=region["site_b"], date_from=dt.date(2020, 1, 1))
    return mine, theirs


@pytest.mark.django_db
def test_mo_admin_gets_404_for_another_mo(both_mo, enter, mo_admin_b):
    client = enter(mo_admin_b)
    asked = QUERY | {"mo": "590001"}
    assert client.get("/attachment/export/", asked).status_code == 404
    assert client.get("/attachment/export/file/", asked).status_code == 404
    assert client.get("/attachment/export/errors/", asked).status_code == 404
    assert client.get("/api/v1/attachment/file/", {"date": "2026-10-31", "mo": "590001"}).status_code == 404
    assert client.get("/attachment/export/", QUERY | {"mo": "000000", "date_to": "x"}).status_code == 404
    own = content(client.get("/attachment/export/file/", QUERY)).decode("cp1251")
    assert '"Чужой"' in own and '"Свой"' not in own
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT, details__mo="590001").exists()


@pytest.mark.django_db
def test_mo_admin_file_has_own_persons_only(both_mo, enter, mo_admin_a):
    text = content(enter(mo_admin_a).get("/api/v1/attachment/file/", {"date": "2026-10-31"})).decode("cp1251")
    assert '"Свой"' in text and '"Чужой"' not in text


@pytest.mark.django_db
def test_dc_admin_chooses_any_mo(both_mo, enter, dc_admin):
    client = enter(dc_admin)
    page = client.get("/attachment/export/")
    assert 'name="mo"' in page.content.decode() and "590002" in page.content.decode()
    text = content(client.get("/attachment/export/file/", QUERY | {"mo": "590002"})).decode("cp1251")
    assert '"Чужой"' in text and '"Свой"' not in text and '"590002"' in text
    response = client.get("/api/v1/attachment/file/", {"date": "2026-10-31", "mo": "590002"})
    assert response["Content-Disposition"] == 'attachment; filename="MO259000220261031.csv"'
    assert client.get("/api/v1/attachment/file/", {"date": "2026-10-31", "mo": "599999"}).status_code == 404


@pytest.mark.django_db
def test_statistician_is_refused(enter, statistician_a):
    client = enter(statistician_a)
    response = client.get("/attachment/export/", follow=True)
    assert "Эта форма недоступна в вашем АРМ." in response.content.decode()
    assert client.get("/attachment/export/file/", QUERY).status_code == 302
    assert client.get("/api/v1/attachment/file/", {"date": "2026-10-31"}).status_code == 403


@pytest.mark.django_db
def test_sidebar_offers_the_form(enter, mo_admin_a):
    html = enter(mo_admin_a).get("/").content.decode()
    assert '<a href="/attachment/export/">Выгрузка прикреплений</a>' in html


@pytest.mark.django_db(transaction=True)  # closing a response ends the request and its connection
def test_interrupted_download_is_audited(region, enter, mo_admin_a):
    new_person(region)
    response = enter(mo_admin_a).get("/attachment/export/file/", QUERY)
    chunks = iter(response.streaming_content)
    next(chunks)
    response.close()  # the client went away after the first chunk: the server closes the response
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.outcome == "прервано после 1 строк" and event.details["via"] == "page"
