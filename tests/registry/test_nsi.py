"""NSI classifiers loaded from the fund's XML files of both flavours (SPEC F2)."""

from __future__ import annotations

import datetime as dt
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from registry.models import Mo, NsiEntry, Smo
from registry.nsi_loader import DEFAULT_NSI_DIR, NsiLoadError, load_nsi_dir, load_nsi_file

pytestmark = pytest.mark.django_db

SHIPPED = sorted(p.stem for p in DEFAULT_NSI_DIR.glob("*.xml"))


def copy_files(target: Path, *names: str) -> Path:
    for name in names:
        shutil.copyfile(DEFAULT_NSI_DIR / f"{name}.xml", target / f"{name}.xml")
    return target


def entry(directory: str, code: str) -> NsiEntry:
    return NsiEntry.objects.get(directory=directory, code=code)


def test_all_shipped_files_load():
    results = load_nsi_dir()
    assert sorted(results) == SHIPPED
    assert len(SHIPPED) == 18
    assert results["F010"].rows == 84
    assert results["V002"].rows == 182 and results["V002"].skipped == 5  # IDPR="0" padding rows
    assert results["R001"].rows == 18 and results["R001"].skipped == 38  # all-empty padding rows
    assert NsiEntry.objects.filter(directory="V016").count() == 13


def test_item_flavour_windows_1251():
    load_nsi_dir(directories=["F010", "F008", "V005"])
    perm = entry("F010", "59")
    assert perm.name == "Пермский край"
    assert perm.attrs["KOD_OKATO"] == "57000"
    assert perm.date_begin == dt.date(2011, 1, 1)
    assert perm.date_end is None  # F010 has no DATEEND attribute at all
    policy = entry("F008", "3")
    assert policy.name == "Полис ОМС единого образца"
    assert policy.date_end is None  # DATEEND=""
    assert entry("V005", "2").name == "Женский"
    assert entry("V005", "2").date_begin is None  # V005 has no dates


def test_rec_flavour_utf8_without_declaration():
    assert not (DEFAULT_NSI_DIR / "F011.xml").read_bytes().startswith(b"<?xml")
    load_nsi_dir(directories=["F011", "V002"])
    passport = entry("F011", "14")
    assert passport.name == "Паспорт гражданина Российской Федерации"
    assert passport.attrs["DOCSER"] == "99 99"
    assert passport.attrs["DOCNUM"] == "9999990"
    assert passport.date_end is None  # DATEEND="0"
    assert entry("F011", "21").date_begin == dt.date(2013, 7, 4)
    obstetrics = entry("V002", "2")
    assert obstetrics.name == "акушерству и гинекологии"
    assert obstetrics.date_end == dt.date(2013, 7, 8)
    assert not obstetrics.is_valid_on(dt.date(2014, 1, 1))
    assert not NsiEntry.objects.filter(directory="V002", code="0").exists()


def test_rec_flavour_windows_1251_and_odd_dates():
    load_nsi_dir(directories=["V013", "V009", "R001"])
    assert entry("V013", "1").name == "Работающий гражданин Российской Федерации"
    refusal = entry("V009", "417")  # DATEBEG="0" in the real file
    assert refusal.date_begin is None and refusal.date_end is None
    assert entry("R001", "П070").date_end == dt.date(2011, 5, 11)


def test_our_subsets():
    load_nsi_dir(directories=["V014", "V016", "V020"])
    assert list(NsiEntry.objects.filter(directory="V014").values_list("code", "name")) == [
        ("1", "Экстренная"),
        ("2", "Неотложная"),
        ("3", "Плановая"),
    ]
    assert entry("V016", "ДВ1").name.startswith("Первый этап диспансеризации")
    assert NsiEntry.objects.filter(directory="V020").count() == 22


def test_loading_twice_does_not_duplicate():
    first = load_nsi_dir()
    total = NsiEntry.objects.count()
    second = load_nsi_dir()
    assert NsiEntry.objects.count() == total == sum(r.rows for r in first.values())
    assert all(r.created == 0 and r.updated == r.rows for r in second.values())
    assert Mo.objects.count() == 3 and Smo.objects.count() == 3


def test_reload_updates_changed_row(tmp_path):
    load_nsi_dir(directories=["F010"])
    text = (
        (DEFAULT_NSI_DIR / "F010.xml")
        .read_bytes()
        .replace("Пермский край".encode("cp1251"), "Пермский край (изм.)".encode("cp1251"))
    )
    (tmp_path / "F010.xml").write_bytes(text)
    result = load_nsi_file(tmp_path / "F010.xml")
    assert (result.created, result.updated) == (0, 84)
    assert entry("F010", "59").name == "Пермский край (изм.)"
    assert NsiEntry.objects.filter(directory="F010").count() == 84


def test_region_mo_and_smo_upserted_others_not():
    load_nsi_dir(directories=["F002", "F003"])
    assert sorted(Smo.objects.values_list("code", flat=True)) == ["59021", "59022", "59023"]
    assert sorted(Mo.objects.values_list("code", flat=True)) == ["590001", "590002", "590003"]
    assert NsiEntry.objects.filter(directory="F002").count() == 5  # 52001 and 77011 stay NSI rows only
    assert NsiEntry.objects.filter(directory="F003", code="520001").exists()
    hospital = Mo.objects.get(code="590001")
    assert hospital.name_short == "ГБУЗ ПК «Городская клиническая больница № 1»"
    assert hospital.name_full.startswith(
        "Государственное бюджетное учреждение здравоохранения Пермского края"
    )
    assert hospital.oid == "1.2.643.5.1.13.13.12.2.59.1001"
    assert hospital.is_active
    sogaz = Smo.objects.get(code="59021")
    assert sogaz.name_short == "АО «Страховая компания «СОГАЗ-Мед» Пермский филиал"
    for obj in [*Mo.objects.all(), *Smo.objects.all()]:
        obj.full_clean()  # valid ОГРН check digits


def test_existing_mo_is_updated_not_duplicated():
    Mo.objects.create(code="590001", ogrn="1024400519330", name_full="Старое", name_short="Старое")
    load_nsi_dir(directories=["F003"])
    assert Mo.objects.filter(code="590001").count() == 1
    assert Mo.objects.get(code="590001").ogrn == "1025900512340"


def test_other_region_setting(settings):
    settings.REGION_CODE = "52"
    load_nsi_dir(directories=["F002", "F003"])
    assert list(Mo.objects.values_list("code", flat=True)) == ["520001"]
    assert list(Smo.objects.values_list("code", flat=True)) == ["52001"]


def test_truncated_file_refused_and_nothing_written(tmp_path):
    load_nsi_dir(directories=["F010"])
    before = entry("F010", "59").name
    (tmp_path / "F010.xml").write_bytes((DEFAULT_NSI_DIR / "F010.xml").read_bytes()[:3000])
    with pytest.raises(NsiLoadError, match=r"Файл справочника F010\.xml отклонён: Документ не является"):
        load_nsi_dir(tmp_path)
    assert NsiEntry.objects.filter(directory="F010").count() == 84
    assert entry("F010", "59").name == before


def test_doctype_with_entity_refused(tmp_path):
    (tmp_path / "V020.xml").write_bytes(
        b'<?xml version="1.0" encoding="windows-1251"?>\n'
        b'<!DOCTYPE root [<!ENTITY x "\xcf\xe5\xf0\xec\xfc">]>\n'
        b'<root><rec IDK_PR="1" K_PRNAME="&x;" DATEBEG="01.01.2013" DATEEND=""/></root>\n'
    )
    with pytest.raises(NsiLoadError, match=r"V020\.xml.*DOCTYPE"):
        load_nsi_dir(tmp_path)
    assert not NsiEntry.objects.filter(directory="V020").exists()


def test_bad_row_late_in_file_leaves_nothing_of_it(tmp_path):
    original = (DEFAULT_NSI_DIR / "V006.xml").read_bytes()
    text = original.replace(b'<item4 DATEBEG="01.01.2011"', b'<item4 DATEBEG="31.02.2011"')
    assert text != original
    (tmp_path / "V006.xml").write_bytes(text)
    with pytest.raises(NsiLoadError, match=r"Файл V006\.xml, запись № 4: в атрибуте DATEBEG неверная дата"):
        load_nsi_dir(tmp_path)
    assert not NsiEntry.objects.filter(directory="V006").exists()


def test_broken_file_stops_the_whole_run_before_writing(tmp_path):
    copy_files(tmp_path, "F008", "V005")
    (tmp_path / "V006.xml").write_bytes(b"<root><rec IDUMP=")
    with pytest.raises(NsiLoadError, match=r"V006\.xml"):
        load_nsi_dir(tmp_path)
    assert not NsiEntry.objects.exists()


def test_invalid_ogrn_of_region_mo_refused(tmp_path):
    data = (
        (DEFAULT_NSI_DIR / "F003.xml").read_bytes().replace(b'Ogrn="1025900512340"', b'Ogrn="1025900512341"')
    )
    (tmp_path / "F003.xml").write_bytes(data)
    with pytest.raises(NsiLoadError, match=r"F003\.xml.*590001.*ОГРН"):
        load_nsi_dir(tmp_path)
    assert not Mo.objects.exists()
    assert not NsiEntry.objects.filter(directory="F003").exists()


def test_command_output():
    out = StringIO()
    call_command("load_nsi", "F010", "v002", "F003", stdout=out)
    text = out.getvalue()
    assert "F010 (F010.xml): записей 84, создано 84, обновлено 0" in text
    assert "V002 (V002.xml): записей 182, создано 182, обновлено 0, пропущено пустых 5" in text
    assert "F003 (F003.xml): записей 4, создано 4, обновлено 0; МО региона: 3" in text
    assert "Загружено справочников: 3." in text


def test_command_default_dir_loads_everything():
    out = StringIO()
    call_command("load_nsi", stdout=out)
    assert "Загружено справочников: 18." in out.getvalue()


def test_command_refuses_broken_file(tmp_path):
    (tmp_path / "F008.xml").write_bytes(
        b'<?xml version="1.0" encoding="windows-1251"?><root><item1 IDDOC="1"'
    )
    with pytest.raises(CommandError, match=r"Файл справочника F008\.xml отклонён"):
        call_command("load_nsi", "--dir", str(tmp_path), stdout=StringIO())
    assert not NsiEntry.objects.exists()


def test_command_unknown_directory_and_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Неизвестный справочник «X001»"):
        call_command("load_nsi", "X001", stdout=StringIO())
    with pytest.raises(CommandError, match=r"Файл справочника F002\.xml не найден"):
        call_command("load_nsi", "--dir", str(tmp_path), "F002", stdout=StringIO())
