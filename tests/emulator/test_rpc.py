"""The emulator's synchronous answers (tfoms_emulator/rpc.py): free beds from its stage-1 state or a
demo figure, PERS from its register, each to reply_to with the correlation_id; the fault switches;
hostile input answered, never a crash."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from tfoms_emulator import Emulator, ident
from tfoms_emulator.rpc import RpcFaults

PROPS = {"message_id": "REQ-1", "reply_to": "tfoms.rpc.reply", "correlation_id": "C-1"}


def pers(**body: str) -> bytes:
    fields = {"FAM": "Иванов", "IM": "Иван", "DR": "1985-03-15", "W": "1", **body}
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return (
        "<PKG><HEADER><OPERATIONTYPE>Query</OPERATIONTYPE><DATA>2026-12-01</DATA><PERSONID>7</PERSONID>"
        f"</HEADER><BODY>{inner}</BODY></PKG>"
    ).encode()


def fund(**faults) -> Emulator:
    emulator = Emulator()
    emulator.rpc_faults = RpcFaults(**faults)
    emulator.persons = ident.Register(
        [
            ident.Person(
                bdzid=42,
                fam="Иванов",
                im="Иван",
                dr=dt.date(1985, 3, 15),
                w=1,
                policies=(
                    ident.Policy(type=3, enp="5956410834000014", smo="59021", smo_ogrn="1025900000006"),
                ),
            )
        ]
    )
    return emulator


def test_pers_answer_goes_to_reply_to_with_the_correlation_id():
    (reply,) = fund().handle("PERS", PROPS, pers())
    assert reply["queue"] == "tfoms.rpc.reply" and reply["properties"]["correlation_id"] == "C-1"
    root = etree.fromstring(reply["body"])
    assert root.findtext("BODY/RESULTS/RESULT") == "OK"
    assert root.findtext("BODY/PERSON/BDZ_ID") == "42" and root.findtext("BODY/PERSON/PERSON_ID") == "7"
    assert root.findtext("BODY/PERSON/POLIS_DATA/SMOCODE") == "59021"
    assert root.findtext("BODY/PERSON/ENP") == "5956410834000014"


def test_pers_unknown_person_and_hostile_document_type_are_answered():
    (reply,) = fund().handle("PERS", PROPS, pers(FAM="Неизвестный", DOCTYPE="²"))
    root = etree.fromstring(reply["body"])
    assert root.findtext("BODY/RESULTS/RESULT") == "ERROR"
    assert root.findtext("BODY/RESULTS/ERROR_RESULT/RESULT_NAME").startswith("Р01")
    (reply,) = fund().handle("PERS", PROPS, b"<not xml")
    assert etree.fromstring(reply["body"]).findtext("BODY/RESULTS/RESULT") == "ERROR"


@pytest.mark.parametrize(
    ("mode", "check"),
    [
        ("silent", lambda replies: replies == []),
        ("late", lambda replies: replies[0]["delay"] == 3.0),
        ("error", lambda replies: b"<RESULT>ERROR</RESULT>" in replies[0]["body"]),
        ("malformed", lambda replies: replies[0]["body"] == b"<FREE_BEDS_RESPONSE><unclosed>"),
    ],
)
def test_fault_switches(mode, check):
    assert check(fund(mode=mode, late_seconds=3.0).handle("PERS", PROPS, pers()))


def test_no_reply_to_no_answer_and_a_bad_mode_is_refused():
    assert fund().handle("PERS", {"message_id": "X"}, pers()) == []
    with pytest.raises(ValueError):
        RpcFaults("sometimes")


def test_free_beds_demo_figure_when_the_fund_knows_no_bed():
    request = (
        b"<FREE_BEDS_REQUEST><HEADER><OPERATIONTYPE>Query</OPERATIONTYPE><DATA>2026-12-01</DATA>"
        b"<CODE_MO>590002</CODE_MO><CODE_MO_TO>590001</CODE_MO_TO></HEADER><BODY><BEDPROFIL>19</BEDPROFIL>"
        b"</BODY></FREE_BEDS_REQUEST>"
    )
    (reply,) = fund().handle("FREE_BEDS_REQUEST", PROPS, request, queue="iszl.rpc")
    root = etree.fromstring(reply["body"])
    assert root.tag == "FREE_BEDS_RESPONSE" and reply["properties"]["type"] == "FREE_BEDS_RESPONSE"
    item = root.find("BODY/FREE_BEDS_INFORMATION")
    assert (item.findtext("LPU"), item.findtext("BEDPROFIL"), item.findtext("BEDFREE")) == (
        "590001",
        "19",
        "7",
    )
