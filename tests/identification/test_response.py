"""Loading the fund's response in the order of B4, saving policies (B5), unmatched rows (B6)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from django.utils import timezone

from identification.models import RecordStatus
from identification.services import (
    ResponseRefused,
    _claim,
    identification_package_delete,
    identification_response_load,
    identification_responses_collect,
    in_dir,
    out_dir,
)
from registry.models import Person, Policy
from servicelog.services import run_open
from tests.factories import PolicyFactory, SmoFactory

from .conftest import identified, refused, request_rows, response_dbf

pytestmark = pytest.mark.django_db


def load(package, data, name=None, **kw):
    return identification_response_load(file_name=name or package.file_name, data=data, **kw)


def statuses(package):
    return {r.person.last_name: (r.status, r.error_text) for r in package.records.select_related("person")}


def test_identified_rows_save_the_policy_and_mark_the_person(package, smo):
    rows = request_rows(package)
    result = load(package, response_dbf([identified(r) for r in rows]))
    assert (result.identified, result.not_identified, result.no_data) == (3, 0, 0)
    package.refresh_from_db()
    assert package.response_loaded_at is not None and package.request_file is None
    record = package.records.select_related("person").get(person__last_name="Иванов")
    assert record.status == RecordStatus.IDENTIFIED and record.status_date == timezone.localdate()
    assert record.response_row["RENP"] == "5956410834000014" and record.response_row["RPRZ"] is not None
    person = record.person
    person.refresh_from_db()
    assert person.identified_in_tfoms and person.identified_at == timezone.localdate()
    policy = Policy.objects.get(person=person, enp="5956410834000014")
    assert (policy.smo, policy.policy_type, policy.form, policy.source) == (smo, 3, "П", "identification")
    old = Policy.objects.get(person=person, enp="")
    assert old.valid_to == dt.date(2025, 12, 31)  # the older open policy is closed the day before


def test_eerp_means_not_identified_with_repl_codes_and_no_update(package, smo):
    rows = request_rows(package)
    data = response_dbf(
        [
            refused(rows[0], "Р01=Застрахованное лицо не найдено;Р04=Расхождение ФИО;без кода"),
            identified(rows[1]),
            identified(rows[2]),
        ]
    )
    load(package, data)
    record = package.records.get(person__last_name="Иванов")
    assert record.status == RecordStatus.NOT_IDENTIFIED
    assert record.error_codes == ["Р01", "Р04", "-1"]
    assert "Р01=Застрахованное лицо не найдено" in record.error_text
    assert not Policy.objects.filter(person=record.person, enp="5956410834000014").exists()
    assert not Person.objects.get(pk=record.person_id).identified_in_tfoms


def test_unknown_smo_is_an_error_on_the_record(package, smo):
    rows = request_rows(package)
    load(package, response_dbf([identified(rows[0], rq="59099"), identified(rows[1]), identified(rows[2])]))
    status, text = statuses(package)["Иванов"]
    assert status == RecordStatus.NOT_IDENTIFIED
    assert text == "Не удалось определить страховую принадлежность: RQ=59099, RQOGRN=1025900000006"


def test_unknown_policy_type_is_an_error_on_the_record(package, smo):
    rows = request_rows(package)
    load(package, response_dbf([identified(rows[0], ropdoc=7), identified(rows[1]), identified(rows[2])]))
    assert statuses(package)["Иванов"] == (RecordStatus.NOT_IDENTIFIED, "Отсутствует тип полиса: ROPDOC=7")


def test_rows_missing_from_the_response_get_no_data(package, smo):
    rows = request_rows(package)
    result = load(package, response_dbf([identified(rows[0])]))
    assert result.no_data == 2
    assert statuses(package)["Петров"] == (RecordStatus.NOT_IDENTIFIED, "Данные от ТФОМС не получены")


def test_extra_and_duplicate_rows_are_listed_not_dropped(package, smo):
    rows = request_rows(package)
    stranger = {**rows[0], "FAM": "НЕЗНАКОМЦЕВ"}
    result = load(
        package, response_dbf([identified(r) for r in rows] + [identified(rows[1]), identified(stranger)])
    )
    assert result.unmatched == 2 and result.identified == 3
    package.refresh_from_db()
    assert [row["FAM"] for row in package.unmatched_rows] == ["ПЕТРОВ", "НЕЗНАКОМЦЕВ"]
    assert package.unmatched_rows[1]["number"] == 5


def test_document_fields_named_doctp_docs_docn(package, smo):
    rows = request_rows(package)
    result = load(package, response_dbf([identified(r) for r in rows], doc_names="doctp"))
    assert result.identified == 3


def test_two_identical_requests_are_answered_one_row_each(mo_a, smo, django_capture_on_commit_callbacks):
    from identification.services import ident_packages_form
    from tests.factories import CaseFactory, PersonFactory

    person = PersonFactory(last_name="Двойной")
    yesterday = dt.date(2026, 11, 25)
    CaseFactory(person=person, mo=mo_a, date_begin=yesterday, date_end=yesterday, number="1")
    CaseFactory(person=person, mo=mo_a, date_begin=yesterday, date_end=yesterday, number="2")
    (package,) = ident_packages_form(run=None, mo=mo_a, today=dt.date(2026, 11, 26))
    rows = request_rows(package)
    assert len(rows) == 2 and rows[0] == rows[1]
    result = load(package, response_dbf([identified(rows[0]), refused(rows[1], "Р02=Нет полиса")]))
    assert (result.identified, result.not_identified, result.unmatched) == (1, 1, 0)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("590001_01012020_9.DBF", "Пакет «590001_01012020_9» не найден"),
        ("590001_26112026_1.xml", "только файлы ответа в формате .DBF"),
        ("ответ.DBF", "не найден"),
    ],
)
def test_refusals_by_name(package, name, message):
    with pytest.raises(ResponseRefused, match=message):
        load(package, b"whatever", name=name)


def test_mo_admin_cannot_load_another_mo_response(package, mo_b):
    with pytest.raises(ResponseRefused, match="относится к другой МО"):
        load(package, b"x", only_mo=mo_b)


def test_response_already_loaded_is_refused(package, smo):
    rows = request_rows(package)
    data = response_dbf([identified(r) for r in rows])
    load(package, data)
    with pytest.raises(ResponseRefused, match="уже загружен"):
        load(package, data)


@pytest.mark.parametrize(
    "data",
    [b"", b"not a dbf at all" * 10, None],
)
def test_broken_file_changes_nothing(package, smo, data):
    if data is None:  # truncated: a real response cut in the middle
        rows = request_rows(package)
        data = response_dbf([identified(r) for r in rows])[:-200]
    with pytest.raises(ResponseRefused, match="не загружен"):
        load(package, data)
    package.refresh_from_db()
    assert package.response_loaded_at is None
    assert {r.status for r in package.records.all()} == {RecordStatus.WAITING}
    assert not Policy.objects.filter(source="identification").exists()


def test_missing_columns_refuse_the_file(package):
    from tfoms_portal.formats.dbf import write_dbf

    with pytest.raises(ResponseRefused, match="нет полей"):
        load(package, write_dbf(["FAM C(60)"], [{"FAM": "ИВАНОВ"}]))


def test_no_matching_row_loads_nothing(package, smo):
    rows = request_rows(package)
    stranger = {**rows[0], "FAM": "НИКТО"}
    with pytest.raises(ResponseRefused, match="ни одна строка ответа не соответствует"):
        load(package, response_dbf([identified(stranger)]))
    package.refresh_from_db()
    assert package.response_loaded_at is None


def test_response_for_a_deleted_package(package, smo):
    rows = request_rows(package)
    name = package.file_name
    identification_package_delete(package=package)
    with pytest.raises(ResponseRefused, match="не найден"):
        identification_response_load(file_name=name, data=response_dbf([identified(r) for r in rows]))


# --- overlaps (B5) -----------------------------------------------------------------------------


def test_same_policy_is_updated_not_duplicated(package, smo):
    rows = request_rows(package)
    person = package.records.get(person__last_name="Иванов").person
    PolicyFactory(
        person=person, enp="5956410834000014", smo=smo, valid_from=dt.date(2026, 1, 1), series="", number=""
    )
    load(package, response_dbf([identified(rows[0], dend=dt.date(2026, 12, 31))]))
    same = Policy.objects.filter(person=person, enp="5956410834000014")
    assert same.count() == 1 and same.get().valid_to == dt.date(2026, 12, 31)


def test_a_newer_policy_here_is_a_conflict_on_the_record(package, smo):
    rows = request_rows(package)
    person = package.records.get(person__last_name="Иванов").person
    other_smo = SmoFactory(code="59022", ogrn="1025900000017")
    PolicyFactory(person=person, enp="5956410834000022", smo=other_smo, valid_from=dt.date(2026, 6, 1))
    load(package, response_dbf([identified(rows[0])]))
    status, text = statuses(package)["Иванов"]
    assert status == RecordStatus.NOT_IDENTIFIED and text.startswith(
        "Не удалось обработать пересечение полисных данных"
    )
    assert not Policy.objects.filter(person=person, enp="5956410834000014").exists()


# --- the exchange folder ----------------------------------------------------------------------


def test_folder_job_loads_and_removes_files_and_rejects_with_reason(
    package, smo, mo_a, django_capture_on_commit_callbacks
):
    rows = request_rows(package)
    in_dir().mkdir(parents=True, exist_ok=True)
    (in_dir() / package.file_name).write_bytes(response_dbf([identified(r) for r in rows]))
    (in_dir() / "590001_01012020_7.DBF").write_bytes(b"junk")
    run = run_open("ident_responses")
    with django_capture_on_commit_callbacks(execute=True):
        assert identification_responses_collect(run=run) == 1
    package.refresh_from_db()
    assert package.response_loaded_at is not None
    assert not (in_dir() / package.file_name).exists()
    assert not (out_dir() / package.file_name).exists()  # the request is removed too
    rejected = in_dir() / "rejected"
    assert (rejected / "590001_01012020_7.DBF").exists()
    assert "не найден" in (rejected / "590001_01012020_7.DBF.txt").read_text(encoding="utf-8")
    assert run.log.filter(level="error", message__contains="590001_01012020_7").exists()
    assert run.log.filter(message__startswith=f"Ответ на пакет {package.name} загружен").exists()


def test_two_workers_never_claim_the_same_file(tmp_path: Path):
    files = []
    for n in range(60):
        path = tmp_path / f"590001_26112026_{n}.DBF"
        path.write_bytes(b"x")
        files.append(path)
    claimed: list[list[Path]] = [[], []]

    def worker(index: int) -> None:
        for path in files:
            result = _claim(path)
            if result is not None:
                claimed[index].append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = [p.name.rsplit(".", 1)[0] for p in claimed[0] + claimed[1]]
    assert sorted(names) == sorted(p.name for p in files)  # each exactly once


def test_a_file_is_put_back_when_loading_fails_unexpectedly(package, smo, monkeypatch):
    from identification import services

    rows = request_rows(package)
    in_dir().mkdir(parents=True, exist_ok=True)
    (in_dir() / package.file_name).write_bytes(response_dbf([identified(r) for r in rows]))

    def database_down(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "identification_response_load", database_down)
    with pytest.raises(RuntimeError):
        identification_responses_collect(run=run_open("ident_responses"))
    assert (in_dir() / package.file_name).exists()  # back in the folder, not stuck in .processing
    assert not list((in_dir() / ".processing").iterdir())


def test_a_claim_left_by_a_dead_worker_is_recovered(package, smo, django_capture_on_commit_callbacks):
    import os
    import time

    rows = request_rows(package)
    processing = in_dir() / ".processing"
    processing.mkdir(parents=True, exist_ok=True)
    stale = processing / f"{package.file_name}.deadbeef"
    stale.write_bytes(response_dbf([identified(r) for r in rows]))
    old = time.time() - 7200
    os.utime(stale, (old, old))
    with django_capture_on_commit_callbacks(execute=True):
        assert identification_responses_collect(run=run_open("ident_responses")) == 1
    package.refresh_from_db()
    assert package.response_loaded_at is not None


def test_a_refused_file_is_logged_for_its_own_mo(package, mo_a):
    in_dir().mkdir(parents=True, exist_ok=True)
    (in_dir() / "590001_01012020_7.DBF").write_bytes(b"junk")
    run = run_open("ident_responses")
    identification_responses_collect(run=run)
    assert run.log.get(level="error").mo == mo_a


def test_a_response_far_larger_than_its_request_is_refused(package, smo):
    """Issue 19 item 6: a file with thousands of duplicate rows matching one record was loaded whole
    (junk rows stored, the page grew to megabytes). A response is bounded by its request."""
    from identification.services import ResponseRefused, identification_response_load, response_rows_limit

    rows = request_rows(package)
    limit = response_rows_limit(len(rows))
    data = response_dbf([identified(rows[0])] * (limit + 1))
    with pytest.raises(ResponseRefused, match=f"не более {limit}"):
        identification_response_load(file_name=f"{package.name}.DBF", data=data)
    package.refresh_from_db()
    assert package.response_loaded_at is None and package.unmatched_rows == []
    assert load(package, response_dbf([identified(rows[0])] * limit)).unmatched == limit - 1  # at the bound


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_loading_is_one_transaction_of_its_own(package, smo):
    """Outside any test transaction (as the page and the API call it): the load takes its package's
    row lock in a transaction of its own and applies everything, or — refused — nothing."""
    rows = request_rows(package)
    result = load(package, response_dbf([identified(r) for r in rows]))
    assert result.identified == 3
    package.refresh_from_db()
    assert package.response_loaded_at is not None
