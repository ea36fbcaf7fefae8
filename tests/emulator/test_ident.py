"""The emulator answers batch-identification request DBFs from its register (SPEC B, formats §1)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import dbf
import dbfread
import pytest

from tfoms_emulator import ident
from tfoms_emulator.ident import (
    Register,
    RegisterError,
    RequestError,
    answer_file,
    answer_request,
    build_response,
    load_register,
    parse_register,
    watch,
    watch_once,
)

from .samples import REPO

TODAY = dt.date(2025, 6, 1)
REQUEST_SPECS = (
    "FAM C(60); IM C(60); OT C(60); DR D; W N(1,0); SS C(14); C_DOC N(2,0); S_DOC C(10); N_DOC C(30); "
    "OPDOC N(1,0); SPOL C(10); NPOL C(19); ENP C(16); DIN D; DOUT D"
)
REQUEST_NAMES = [spec.split()[0] for spec in REQUEST_SPECS.split("; ")]
RESULT_LAYOUT = [
    ("EERP", "C", 10, 0),
    ("REPL", "C", 254, 0),
    ("RQ", "C", 5, 0),
    ("RQOGRN", "C", 13, 0),
    ("ROKATO", "C", 5, 0),
    ("ROPDOC", "N", 2, 0),
    ("RSPOL", "C", 10, 0),
    ("RNPOL", "C", 20, 0),
    ("RENP", "C", 16, 0),
    ("RDBEG", "D", 8, 0),
    ("RDEND", "D", 8, 0),
    ("RPRZ", "C", 5, 0),
]
ENP_IVANOV = "5956410834000014"
ENP_RENEWED = "5951234567000022"

REGISTER: dict[str, Any] = {
    "persons": [
        {
            "bdzid": 7000001,
            "fam": "ИВАНОВ",
            "im": "ИВАН",
            "ot": "ИВАНОВИЧ",
            "dr": "1985-03-15",
            "w": 1,
            "snils": "11223344595",
            "doc_type": 14,
            "doc_ser": "5704",
            "doc_num": "123456",
            "policies": [
                {
                    "type": 3,
                    "ser": "",
                    "num": "",
                    "enp": ENP_IVANOV,
                    "smo": "59021",
                    "smo_ogrn": "1025900000000",
                    "okato": "57000",
                    "dbeg": "2015-01-01",
                    "dend": None,
                }
            ],
            "errors": [],
        },
        {
            "bdzid": 7000002,
            "fam": "Семёнова",
            "im": "мария",
            "ot": "Петровна ",
            "dr": "1990-07-01",
            "w": 2,
            "policies": [
                {
                    "type": 1,
                    "ser": "ПМ",
                    "num": "000123",
                    "smo": "59007",
                    "smo_ogrn": "1025900000007",
                    "okato": "57000",
                    "dbeg": "2010-01-01",
                    "dend": "2022-12-31",
                },
                {
                    "type": 3,
                    "enp": ENP_RENEWED,
                    "smo": "59021",
                    "smo_ogrn": "1025900000000",
                    "okato": "57000",
                    "dbeg": "2023-01-01",
                    "dend": None,
                },
            ],
        },
        {
            "bdzid": 7000003,
            "fam": "ПЕТРОВ",
            "im": "ПЁТР",
            "ot": "",
            "dr": "1970-01-02",
            "w": 1,
            "snils": "123-456-789 64",
            "policies": [{"type": 3, "enp": "5900000000000001", "smo": "59021", "dbeg": "2015-01-01"}],
            "errors": [["Р04", "Расхождение ФИО с данными РС ЕРЗ"], ["Р05", "Расхождение даты рождения"]],
        },
        {
            "bdzid": 7000004,
            "fam": "СИДОРОВ",
            "im": "СИДОР",
            "ot": "СИДОРОВИЧ",
            "dr": "1960-05-05",
            "w": 1,
            "doc_type": 14,
            "doc_ser": "57 01",
            "doc_num": "654321",
            "policies": [{"type": 3, "enp": "5900000000000002", "dbeg": "2001-01-01", "dend": "2019-12-31"}],
        },
    ]
}


def row(**values: Any) -> dict[str, Any]:
    """A request row: every field empty unless given."""
    return {name: values.get(name) for name in REQUEST_NAMES}


IVANOV = row(FAM="Иванов", IM="Иван", OT="Иванович", DR=dt.date(1985, 3, 15), W=1, SS="112-233-445 95")


def request_dbf(rows: list[dict[str, Any]], directory: Path, name: str = "590001_01062025_1.DBF") -> Path:
    """A request file exactly as the portal writes it: dBase III, cp866 (language byte 0x65)."""
    path = directory / name
    table = dbf.Table(str(path), REQUEST_SPECS, dbf_type="db3", codepage=0x65)
    table.open(dbf.READ_WRITE)
    try:
        for values in rows:
            table.append(tuple(values[name] for name in REQUEST_NAMES))
    finally:
        table.close()
    return path


def drop(rows: list[dict[str, Any]], in_dir: Path, name: str = "590001_01062025_1.DBF") -> Path:
    """Put a request into the watched folder as the portal does: written elsewhere, then renamed in."""
    built = request_dbf(rows, in_dir.parent, f".{name}.tmp")
    return built.rename(in_dir / name)


def request_bytes(rows: list[dict[str, Any]], tmp_path: Path) -> bytes:
    directory = tmp_path / "build"
    directory.mkdir(exist_ok=True)
    return request_dbf(rows, directory).read_bytes()


def read(data: bytes, tmp_path: Path) -> dbfread.DBF:
    path = tmp_path / "read" / f"{time.monotonic_ns()}.dbf"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return dbfread.DBF(str(path), encoding="cp866", recfactory=dict)


def answer(rows: list[dict[str, Any]], tmp_path: Path, **options: Any) -> list[dict[str, Any]]:
    content = answer_request(request_bytes(rows, tmp_path), parse_register(REGISTER), today=TODAY, **options)
    return list(read(content, tmp_path))


@pytest.fixture
def register_file(tmp_path: Path) -> Path:
    path = tmp_path / "register.json"
    path.write_text(json.dumps(REGISTER, ensure_ascii=False), encoding="utf-8")
    return path


# --- matching and results ----------------------------------------------------------------------------


def test_identified_row_gets_the_policy_fields(tmp_path):
    [result] = answer([IVANOV], tmp_path)
    assert {name: result[name] for name, *_ in RESULT_LAYOUT} == {
        "EERP": "",
        "REPL": "",
        "RQ": "59021",
        "RQOGRN": "1025900000000",
        "ROKATO": "57000",
        "ROPDOC": 3,
        "RSPOL": "",
        "RNPOL": "",
        "RENP": ENP_IVANOV,
        "RDBEG": dt.date(2015, 1, 1),
        "RDEND": None,
        "RPRZ": "0",
    }


def test_each_way_of_finding_a_person(tmp_path):
    rows = [
        row(ENP=ENP_IVANOV, FAM="Другая"),  # ЕНП wins over everything else
        row(SS="112-233-445 95", FAM="Другая"),  # СНИЛС
        row(FAM=" семенова ", IM="МАРИЯ", OT="петровна", DR=dt.date(1990, 7, 1)),  # ФИО: case, ё/е, spaces
        row(FAM="Не тот", C_DOC=14, S_DOC="5701", N_DOC="654321", DR=dt.date(1960, 5, 5), DIN=TODAY),
        row(FAM="Иванов", IM="Иван", OT="Иванович", DR=dt.date(1985, 3, 16)),  # another birth date
        row(FAM="Не тот", C_DOC=14, S_DOC="5701", N_DOC="654321", DR=dt.date(1960, 5, 6)),
    ]
    results = answer(rows, tmp_path)
    assert [r["RENP"] for r in results[:3]] == [ENP_IVANOV, ENP_IVANOV, ENP_RENEWED]
    # Sidorov is found by his document but his only policy ended in 2019.
    assert results[3]["REPL"] == "Р02=Нет действующего полиса ОМС на период запроса"
    assert [r["REPL"] for r in results[4:]] == ["Р01=Застрахованное лицо не найдено в РС ЕРЗ"] * 2


def test_unknown_person_is_r01(tmp_path):
    [result] = answer([row(FAM="Неизвестный", IM="Некто", DR=dt.date(2000, 1, 1), W=1)], tmp_path)
    assert (result["EERP"], result["REPL"]) == ("1", "Р01=Застрахованное лицо не найдено в РС ЕРЗ")
    assert (result["RQ"], result["RENP"], result["ROPDOC"], result["RDBEG"], result["RPRZ"]) == (
        "",
        "",
        None,
        None,
        "",
    )


def test_person_with_errors_gets_them_joined(tmp_path):
    [result] = answer([row(SS="123-456-789 64", FAM="Петров")], tmp_path)
    assert result["EERP"] == "1"
    assert result["REPL"] == "Р04=Расхождение ФИО с данными РС ЕРЗ;Р05=Расхождение даты рождения"
    assert result["RENP"] == ""


def test_no_valid_policy_is_r02(tmp_path):
    sidorov = row(FAM="Сидоров", IM="Сидор", OT="Сидорович", DR=dt.date(1960, 5, 5))
    [now, then] = answer(
        [sidorov, {**sidorov, "DIN": dt.date(2019, 12, 31), "DOUT": dt.date(2019, 12, 31)}], tmp_path
    )
    assert (now["EERP"], now["REPL"]) == ("1", "Р02=Нет действующего полиса ОМС на период запроса")
    assert (then["EERP"], then["RENP"], then["RDEND"]) == ("", "5900000000000002", dt.date(2019, 12, 31))


def test_expired_and_renewed_policies_follow_the_period(tmp_path):
    semenova = row(FAM="Семенова", IM="Мария", OT="Петровна", DR=dt.date(1990, 7, 1))
    rows = [
        semenova,  # no period: today
        {**semenova, "DIN": dt.date(2020, 5, 5), "DOUT": dt.date(2020, 5, 5)},
        {**semenova, "DIN": dt.date(2022, 12, 1), "DOUT": dt.date(2023, 1, 10)},  # both: the latest start
    ]
    current, past, both = answer(rows, tmp_path)
    assert (current["ROPDOC"], current["RENP"], current["RDBEG"], current["RDEND"]) == (
        3,
        ENP_RENEWED,
        dt.date(2023, 1, 1),
        None,
    )
    assert (past["ROPDOC"], past["RSPOL"], past["RNPOL"], past["RENP"]) == (1, "ПМ", "000123", "")
    assert (past["RQ"], past["RQOGRN"], past["RDEND"]) == ("59007", "1025900000007", dt.date(2022, 12, 31))
    assert both["RENP"] == ENP_RENEWED
    # Without `today` the real date is used: the renewed policy is still in force.
    content = answer_request(request_bytes([semenova], tmp_path), parse_register(REGISTER))
    assert [r["RENP"] for r in read(content, tmp_path)] == [ENP_RENEWED]


# --- the response file -------------------------------------------------------------------------------


def layout(data: bytes, tmp_path: Path) -> list[tuple[str, str, int, int]]:
    return [(f.name, f.type, f.length, f.decimal_count) for f in read(data, tmp_path).fields]


def test_response_layout_and_language_byte(tmp_path):
    data = request_bytes([IVANOV], tmp_path)
    register = parse_register(REGISTER)
    echo = [
        ("FAM", "C", 60, 0),
        ("IM", "C", 60, 0),
        ("OT", "C", 60, 0),
        ("DR", "D", 8, 0),
        ("W", "N", 1, 0),
        ("SS", "C", 14, 0),
        ("DOCTP", "N", 2, 0),
        ("DOCS", "C", 10, 0),
        ("DOCN", "C", 30, 0),
        ("OPDOC", "N", 1, 0),
        ("SPOL", "C", 10, 0),
        ("NPOL", "C", 19, 0),
        ("ENP", "C", 16, 0),
        ("DIN", "D", 8, 0),
        ("DOUT", "D", 8, 0),
    ]
    default = answer_request(data, register)
    assert default[0] == 0x03 and default[29] == 0x65
    assert layout(default, tmp_path) == echo + RESULT_LAYOUT
    kept = answer_request(data, register, doc_field_names="c_doc")
    assert kept[29] == 0x65
    renamed = {"DOCTP": "C_DOC", "DOCS": "S_DOC", "DOCN": "N_DOC"}
    assert layout(kept, tmp_path) == [(renamed.get(f[0], f[0]), *f[1:]) for f in echo] + RESULT_LAYOUT
    with pytest.raises(ValueError):
        answer_request(data, register, doc_field_names="other")


def test_echoed_fields_equal_the_request(tmp_path):
    rows = [
        {
            **IVANOV,
            "C_DOC": 14,
            "S_DOC": "57 04",
            "N_DOC": "123456",
            "OPDOC": 3,
            "SPOL": "ЕП",
            "NPOL": "1234567890123456789",
            "ENP": "5900000000000009",
            "DIN": dt.date(2025, 1, 9),
            "DOUT": dt.date(2025, 1, 10),
        },
        row(FAM="Ёлкина-Щукина", IM="Эльвира"),
        row(),
    ]
    data = bytearray(request_bytes(rows, tmp_path))
    # A value with leading spaces (the `dbf` package cannot write one) is echoed as it is.
    header_length = int.from_bytes(data[8:10], "little")
    data[header_length + 1 : header_length + 61] = "  Иванов".encode("cp866").ljust(60)
    request = list(read(bytes(data), tmp_path))
    assert request[0]["FAM"] == "  Иванов"
    for option, names in (("doctp", ("DOCTP", "DOCS", "DOCN")), ("c_doc", ("C_DOC", "S_DOC", "N_DOC"))):
        response = list(
            read(answer_request(bytes(data), parse_register(REGISTER), doc_field_names=option), tmp_path)
        )
        rename = dict(zip(("C_DOC", "S_DOC", "N_DOC"), names, strict=True))
        assert [{name: r[rename.get(name, name)] for name in REQUEST_NAMES} for r in response] == request
    assert request[2]["W"] is None and request[2]["DR"] is None  # empty numbers and dates stay empty


def test_omit_rows_and_extra_rows(tmp_path):
    rows = [IVANOV, row(FAM="Первый"), row(FAM="Второй")]
    extra = {"fam": "Лишний", "dr": "1999-09-09", "c_doc": 14, "DOCS": "1", "eerp": "", "renp": "1"}
    content, counts = build_response(
        request_bytes(rows, tmp_path), parse_register(REGISTER), omit_rows={1}, extra_rows=[extra]
    )
    response = list(read(content, tmp_path))
    assert [r["FAM"] for r in response] == ["Иванов", "Второй", "Лишний"]
    assert (response[2]["DR"], response[2]["DOCTP"], response[2]["DOCS"], response[2]["RENP"]) == (
        dt.date(1999, 9, 9),
        14,
        "1",
        "1",
    )
    assert (counts.rows, counts.identified, counts.not_found, counts.omitted, counts.extra) == (3, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="XYZ"):
        answer_request(request_bytes(rows, tmp_path), parse_register(REGISTER), extra_rows=[{"XYZ": 1}])


def test_broken_requests_are_refused(tmp_path):
    register = Register()
    good = request_bytes([IVANOV, IVANOV], tmp_path)
    with pytest.raises(RequestError, match="не является корректным DBF"):
        answer_request(b"not a dbf at all, just some text" * 3, register)
    with pytest.raises(RequestError, match="заголовок не соответствует"):
        answer_request(good[:-300], register)
    directory = tmp_path / "other"
    directory.mkdir()
    table = dbf.Table(str(directory / "x.dbf"), "FAM C(60); DR D", dbf_type="db3", codepage=0x65)
    table.open(dbf.READ_WRITE)
    table.close()
    with pytest.raises(RequestError, match="нет полей: IM, OT, W"):
        answer_request((directory / "x.dbf").read_bytes(), register)


def test_register_is_validated(tmp_path):
    with pytest.raises(RegisterError, match=r"запись № 1.*dr"):
        parse_register({"persons": [{"fam": "А", "dr": "15.03.1985"}]})
    with pytest.raises(RegisterError, match=r"полис № 1.*smo"):
        parse_register({"persons": [{"fam": "А", "policies": [{"type": 3, "smo": "1234567"}]}]})
    with pytest.raises(RegisterError, match="persons"):
        parse_register([])
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(RegisterError, match="JSON"):
        load_register(path)
    assert len(parse_register(REGISTER).persons) == 4


def test_answer_file_writes_under_the_request_name(tmp_path, register_file):
    request = request_dbf([IVANOV], tmp_path)
    target = answer_file(request, tmp_path / "out", load_register(register_file))
    assert target == tmp_path / "out" / request.name
    assert [r["RENP"] for r in read(target.read_bytes(), tmp_path)] == [ENP_IVANOV]


# --- the watched folder ------------------------------------------------------------------------------


def test_two_racing_watchers_answer_each_request_once(tmp_path):
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    names = [f"590001_01062025_{n}.DBF" for n in range(1, 31)]
    for name in names:
        request_dbf([IVANOV, row(FAM="Никто")], in_dir, name)
    register = parse_register(REGISTER)
    start = threading.Barrier(2)
    results: list[list[ident.FileResult]] = [[], []]

    def run(slot: int) -> None:
        start.wait()
        results[slot] = watch_once(in_dir, out_dir, register, settle=0, out=io.StringIO())

    threads = [threading.Thread(target=run, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    answered = sorted(r.name for slot in results for r in slot)
    assert answered == sorted(names)  # each file exactly once over both watchers
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(names)
    assert sorted(p.name for p in (in_dir / ".emulator" / "done").iterdir()) == sorted(names)
    assert not list(in_dir.glob("*.DBF"))
    assert [p.name for p in (in_dir / ".emulator").iterdir() if p.is_file()] == []
    counts = results[0][0].counts if results[0] else results[1][0].counts
    assert counts is not None and (counts.identified, counts.not_found) == (1, 1)


def test_the_answer_appears_atomically(tmp_path, monkeypatch):
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    request_dbf([IVANOV], in_dir)
    real_replace = os.replace
    seen: list[tuple[str, bool, int]] = []

    def spy(src: Any, dst: Any) -> None:
        src, dst = Path(src), Path(dst)
        if dst.parent == out_dir:
            # The full answer is written under a hidden, non-.DBF name before it takes its own name.
            records = list(dbfread.DBF(str(src), encoding="cp866"))
            seen.append((src.name, dst.exists(), len(records)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    [result] = watch_once(in_dir, out_dir, parse_register(REGISTER), settle=0, out=io.StringIO())
    [(temporary, existed, count)] = seen
    assert temporary.startswith(".") and not temporary.lower().endswith(".dbf")
    assert (existed, count) == (False, 1)
    assert [p.name for p in out_dir.iterdir()] == ["590001_01062025_1.DBF"]
    assert result.response == out_dir / "590001_01062025_1.DBF"


def test_a_broken_request_is_rejected_with_the_reason(tmp_path, capsys):
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    (in_dir / "590001_01062025_1.dbf").write_bytes(b"\x03" + bytes(40))
    request_dbf([IVANOV], in_dir, "590001_01062025_2.DBF")
    (in_dir / "notes.txt").write_text("не запрос", encoding="utf-8")
    results = watch_once(in_dir, out_dir, parse_register(REGISTER), settle=0)
    assert [(r.name, r.counts is None) for r in results] == [
        ("590001_01062025_1.dbf", True),
        ("590001_01062025_2.DBF", False),
    ]
    rejected = in_dir / ".emulator" / "rejected"
    assert sorted(p.name for p in rejected.iterdir()) == [
        "590001_01062025_1.dbf",
        "590001_01062025_1.dbf.txt",
    ]
    reason = (rejected / "590001_01062025_1.dbf.txt").read_text(encoding="utf-8")
    assert "не является корректным DBF" in reason
    assert [p.name for p in out_dir.iterdir()] == ["590001_01062025_2.DBF"]
    assert (in_dir / "notes.txt").exists()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("590001_01062025_1.dbf → отклонён: Файл не является корректным DBF")
    assert lines[1] == (
        "590001_01062025_2.DBF → ответ: записей 1: идентифицировано 1, не идентифицировано 0, не найдено 0"
    )


def test_a_file_still_being_written_is_left_alone(tmp_path):
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    request_dbf([IVANOV], in_dir)
    (in_dir / ".590001_01062025_2.DBF.tmp").write_bytes(b"half")
    register = parse_register(REGISTER)
    assert watch_once(in_dir, out_dir, register, settle=60, out=io.StringIO()) == []
    assert [r.name for r in watch_once(in_dir, out_dir, register, settle=0, out=io.StringIO())] == [
        "590001_01062025_1.DBF"
    ]
    assert (in_dir / ".590001_01062025_2.DBF.tmp").exists()


def wait_for(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


def test_watch_reloads_the_register_and_stops(tmp_path, capsys):
    in_dir, out_dir, register_path = tmp_path / "in", tmp_path / "out", tmp_path / "register.json"
    in_dir.mkdir()
    register_path.write_text(json.dumps({"persons": []}), encoding="utf-8")
    stop = threading.Event()
    thread = threading.Thread(
        target=watch,
        args=(in_dir, out_dir, register_path),
        kwargs={"interval": 0.05, "should_stop": stop.is_set},
    )
    thread.start()
    try:
        drop([IVANOV], in_dir, "590001_01062025_1.DBF")
        wait_for(out_dir / "590001_01062025_1.DBF")
        register_path.write_text(json.dumps(REGISTER, ensure_ascii=False), encoding="utf-8")
        drop([IVANOV], in_dir, "590001_01062025_2.DBF")
        wait_for(out_dir / "590001_01062025_2.DBF")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    first = list(read((out_dir / "590001_01062025_1.DBF").read_bytes(), tmp_path))
    second = list(read((out_dir / "590001_01062025_2.DBF").read_bytes(), tmp_path))
    assert first[0]["REPL"].startswith("Р01=") and second[0]["RENP"] == ENP_IVANOV
    assert "регистр загружен: 4 застрахованных" in capsys.readouterr().out


# --- command line ------------------------------------------------------------------------------------


def test_cli_answer_ident(tmp_path, register_file):
    request = request_dbf([IVANOV, row(FAM="Никто")], tmp_path)
    out = tmp_path / "answers"
    command = [sys.executable, "-m", "tfoms_emulator", "answer-ident", str(request), "-o", str(out)]
    done = subprocess.run(
        [*command, "--register", str(register_file), "--doc-fields", "c_doc"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "идентифицировано 1, не идентифицировано 0, не найдено 1" in done.stdout
    response = list(read((out / request.name).read_bytes(), tmp_path))
    assert [(r["C_DOC"], r["RENP"]) for r in response] == [(None, ENP_IVANOV), (None, "")]
    broken = tmp_path / "broken.DBF"
    broken.write_bytes(b"garbage")
    failed = subprocess.run(
        [*command[:4], str(broken), "-o", str(out)], cwd=REPO, capture_output=True, text=True
    )
    assert failed.returncode == 1 and "не является корректным DBF" in failed.stderr


def test_cli_watch_ident_stops_on_sigterm(tmp_path, register_file):
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    command = ["watch-ident", "--in", str(in_dir), "--out", str(out_dir), "--register", str(register_file)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tfoms_emulator", *command, "--interval", "0.1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        drop([IVANOV], in_dir)
        wait_for(out_dir / "590001_01062025_1.DBF", timeout=30)
        time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "590001_01062025_1.DBF → ответ: записей 1: идентифицировано 1" in stdout
    assert stdout.rstrip().endswith("stopped")


def test_ident_imports_no_module_of_the_portal():
    code = "import sys, tfoms_emulator.ident; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    portal = {"tfoms_portal", "registry", "servicelog", "identification", "django", "attachment"}
    assert not portal & set(loaded.stdout.split())
