"""`python -m tfoms_emulator answer-prof FILE -o DIR` (issue 11 item 7): the fund's OSHIB_PR for a
PROF file, as a separate program, the way the README tells a demo user to run it."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[2]
PROF = (
    '<?xml version="1.0" encoding="windows-1251" standalone="yes"?>\n<ZL_LIST><ZGLV><VERSION>1.0</VERSION>'
    "<DATA>2026-12-01</DATA><FILENAME>PROF_M590001T59_26121</FILENAME></ZGLV>"
    "<SV_PR_MER><NOMER_Z>7</NOMER_Z><ENP>5956410834000014</ENP><OT>НЕТ</OT><NPOLIS>5956410834000014</NPOLIS>"
    "<SV_PL_MER><QUART>4</QUART></SV_PL_MER></SV_PR_MER>"
    "<SV_PR_MER><NOMER_Z>8</NOMER_Z><ENP>5956410834000015</ENP><OT>John</OT><NPOLIS>1</NPOLIS>"
    "<SV_PL_MER><QUART>7</QUART></SV_PL_MER></SV_PR_MER></ZL_LIST>"
)


def test_cli_answer_prof(tmp_path):
    archive = tmp_path / "PROF_M590001T59_26121.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("PROF_M590001T59_26121.XML", PROF.encode("cp1251"))
    archive.write_bytes(buffer.getvalue())
    out = tmp_path / "replies"
    command = [sys.executable, "-m", "tfoms_emulator", "answer-prof", str(archive), "-o", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    assert "ошибок 3" in done.stdout
    reply = out / "ERR_PROF_M590001T59_26121.zip"
    with zipfile.ZipFile(reply) as z:
        root = etree.fromstring(z.read("ERR_PROF_M590001T59_26121.xml"))
    assert root.findtext("FNAME_I") == "PROF_M590001T59_26121"
    errors = [(z.findtext("OSHIB"), z.findtext("NOMER_Z")) for z in root.iterfind("ZAP_OSHIB")]
    assert errors == [("12", "8"), ("13", "8"), ("14", "8")]  # bad ЕНП, quarter 7, Latin middle name
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"garbage")
    failed = subprocess.run(
        [*command[:4], str(broken), "-o", str(out)], cwd=REPO, capture_output=True, text=True
    )
    assert failed.returncode == 1 and "error:" in failed.stderr
