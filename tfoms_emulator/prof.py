"""The fund's answer to a PROF file of order 88 (formats §7.1–§7.2): OSHIB_PR with an error per record
the fund cannot take — no policy number, an ЕНП that fails its check digit, a quarter outside 1–4, or
OT not "НЕТ" and not Cyrillic. `python -m tfoms_emulator answer-prof FILE -o DIR`."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

from lxml import etree

from . import clock
from .checks import enp_valid
from .xmlio import text

NO_POLICY, BAD_ENP, BAD_QUARTER, BAD_NAME = 11, 12, 13, 14
CYRILLIC = re.compile(r"^[А-ЯЁ][А-ЯЁ \-]*$")


class ProfError(ValueError):
    pass


def _xml_of(name: str, data: bytes) -> tuple[str, bytes]:
    if name.lower().endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(".xml")]
            if len(members) != 1:
                raise ProfError(f"{name}: в архиве должен быть один XML, найдено {len(members)}")
            return members[0], archive.read(members[0])
    return name, data


def record_errors(record: etree._Element) -> list[tuple[int, str]]:
    errors = []
    if not (text(record, "NPOLIS") or text(record, "ENP")):
        errors.append((NO_POLICY, "Не указан номер полиса (NPOLIS/ENP)"))
    enp = text(record, "ENP")
    if enp and not enp_valid(enp):
        errors.append((BAD_ENP, f"ЕНП {enp} не прошёл проверку контрольной цифры"))
    quarter = text(record, "SV_PL_MER/QUART") or ""
    if quarter not in ("1", "2", "3", "4"):
        errors.append((BAD_QUARTER, f"Квартал мероприятия «{quarter}» вне 1–4"))
    middle = text(record, "OT") or ""
    if middle != "НЕТ" and not CYRILLIC.match(middle):
        errors.append((BAD_NAME, f"Отчество «{middle}» не кириллицей"))
    return errors


def answer_prof(name: str, data: bytes, today: dt.date | None = None) -> tuple[str, bytes, int]:
    """(reply ZIP name, its bytes, errors) for a PROF file (ZIP or XML)."""
    try:
        inner, content = _xml_of(name, data)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(content, parser)
    except (zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise ProfError(f"{name}: не читается ({exc})") from exc
    if root.tag != "ZL_LIST":
        raise ProfError(f"{inner}: не файл PROF (корень {root.tag})")
    answered = text(root, "ZGLV/FILENAME") or Path(inner).stem
    reply = etree.Element("OSHIB_PR")
    stem = f"ERR_{answered}"
    for tag, value in (
        ("VERSION", "1.0"),
        ("DATA", (today or clock.today()).isoformat()),
        ("FNAME", stem),
        ("FNAME_I", answered),
    ):
        etree.SubElement(reply, tag).text = value
    count = 0
    for record in root.iterfind("SV_PR_MER"):
        for code, comment in record_errors(record):
            item = etree.SubElement(reply, "ZAP_OSHIB")
            etree.SubElement(item, "OSHIB").text = str(code)
            etree.SubElement(item, "NOMER_Z").text = text(record, "NOMER_Z") or "0"
            etree.SubElement(item, "COMMENT").text = comment
            count += 1
    body = etree.tostring(reply, encoding="windows-1251", xml_declaration=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}.xml", body)
    return f"{stem}.zip", buffer.getvalue(), count
