"""Emulator.handle: validation, DISTRICT rules, ANSWER shape, de-duplication, faults, the МО's answers."""

from __future__ import annotations

import re

import pytest
from lxml import etree

import tfoms_emulator
from tfoms_emulator import Emulator, Faults, Queues
from tfoms_emulator.answer import build_answer
from tfoms_emulator.rules import Error

from .samples import CODE_MO, REPO, answer_of, district, message_id, props

GUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")


@pytest.fixture
def emulator() -> Emulator:
    return Emulator()


def send(emulator: Emulator, body: bytes, mid: str | None = None, package_type: str = "DISTRICT") -> dict:
    """Handle one package that must get exactly one answer; return the answer's fields."""
    mid = mid or message_id()
    replies = emulator.handle(package_type, props(mid, package_type), body)
    assert len(replies) == 1
    answer = answer_of(replies[0]["body"])
    assert answer["message_id"] == mid
    return answer


def codes(answer: dict) -> list[int]:
    return [code for code, _ in answer["errors"]]


def test_the_sample_matches_the_district_xsd():
    schema = etree.XMLSchema(etree.parse(str(REPO / "attachment" / "xsd" / "district.xsd")))
    for package in (district("Insert"), district("Update"), district("Delete"), district(snils=None)):
        assert schema.validate(etree.fromstring(package)), schema.error_log


def test_valid_insert_is_accepted_and_known(emulator):
    mid = message_id()
    replies = emulator.handle("DISTRICT", props(mid), district(region_id=7))

    assert len(replies) == 1
    reply = replies[0]
    assert reply["queue"] == "tfoms.to_mis.answer"
    properties = reply["properties"]
    assert GUID.fullmatch(properties.pop("message_id"))
    assert properties == {
        "type": "ANSWER",
        "content_type": "Xml",
        "content_encoding": "utf-8",
        "app_id": "TFOMS",
        "delivery_mode": 2,
    }
    assert (
        reply["body"]
        == (
            '<?xml version="1.0" encoding="utf-8"?><ANSWER><HEADER><QUEUE_NAME>tfoms.from_mis</QUEUE_NAME>'
            f"<TYPE>DISTRICT</TYPE><MESSAGE_ID>{mid}</MESSAGE_ID></HEADER>"
            "<BODY><RESULTS><RESULT>OK</RESULT></RESULTS></BODY></ANSWER>"
        ).encode()
    )
    assert answer_of(reply["body"])["result"] == "OK"
    assert emulator.known["DISTRICT"][(CODE_MO, 7)]["LPUREGION_NAME"] == "12"


def test_update_and_delete_of_a_known_district(emulator):
    send(emulator, district("Insert", 7))
    assert send(emulator, district("Update", 7, name="12А"))["result"] == "OK"
    assert emulator.known["DISTRICT"][(CODE_MO, 7)]["LPUREGION_NAME"] == "12А"
    assert send(emulator, district("Delete", 7))["result"] == "OK"
    assert (CODE_MO, 7) not in emulator.known["DISTRICT"]


@pytest.mark.parametrize("operation", ["Update", "Delete"])
def test_update_or_delete_of_an_unknown_district_is_904(emulator, operation):
    answer = send(emulator, district(operation, 8))
    assert answer["result"] == "ERROR"
    assert codes(answer) == [904]
    assert answer["errors"][0][1].startswith("Участок не найден")


def test_the_key_is_the_district_within_its_mo(emulator):
    send(emulator, district("Insert", 7))
    assert send(emulator, district("Update", 7, code_mo="590002"))["result"] == "ERROR"
    assert send(emulator, district("Insert", 7, code_mo="590002"))["result"] == "OK"


def test_duplicate_insert_is_905_and_changes_nothing(emulator):
    send(emulator, district("Insert", 7, name="1"))
    answer = send(emulator, district("Insert", 7, name="2"))
    assert codes(answer) == [905]
    assert emulator.known["DISTRICT"][(CODE_MO, 7)]["LPUREGION_NAME"] == "1"


@pytest.mark.parametrize("snils", ["112-233-445 96", "11223344596", "112 233 445 95", "1122334459"])
def test_bad_doctor_snils_is_904_and_not_applied(emulator, snils):
    answer = send(emulator, district("Insert", 7, snils=snils))
    assert codes(answer) == [904]
    assert "DOC_SNILS" in answer["errors"][0][1]
    assert (CODE_MO, 7) not in emulator.known.get("DISTRICT", {})


@pytest.mark.parametrize("snils", [None, "", "11223344595", "001-001-998 00", "087-654-303 00"])
def test_good_or_absent_snils_passes(emulator, snils):
    assert send(emulator, district("Insert", 7, snils=snils))["result"] == "OK"


def test_all_errors_of_a_package_are_listed(emulator):
    send(emulator, district("Insert", 7))
    assert codes(send(emulator, district("Insert", 7, snils="112-233-445 96"))) == [905, 904]


def test_insert_without_body_is_901(emulator):
    assert codes(send(emulator, district("Insert", 7, body=False))) == [901]


def test_xsd_invalid_package_is_901_with_the_messages(emulator):
    body = district(code_mo="59001").replace(b"<DOC_TYPE>1</DOC_TYPE>", b"<DOC_TYPE>3</DOC_TYPE>")
    answer = send(emulator, body)
    assert answer["result"] == "ERROR"
    assert codes(answer) == [901, 901]
    names = " ".join(name for _, name in answer["errors"])
    assert "CODE_MO" in names and "DOC_TYPE" in names
    assert "DISTRICT" not in emulator.known


@pytest.mark.parametrize("body", [b"", b"not xml", b"<PKG><HEADER></PKG>"])
def test_malformed_package_is_901(emulator, body):
    answer = send(emulator, body)
    assert codes(answer) == [901]


def test_oversized_package_is_901():
    emulator = Emulator(max_body_bytes=100)
    answer = send(emulator, district())
    assert codes(answer) == [901]
    assert "размера" in answer["errors"][0][1]


def _xxe(secret_file, encoding: str = "utf-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        f'<!DOCTYPE PKG [<!ENTITY secret SYSTEM "file://{secret_file}">]>'
        "<PKG><HEADER><OPERATIONTYPE>Insert</OPERATIONTYPE><DATE>2025-03-14</DATE>"
        "<CODE_MO>590001</CODE_MO><ID_MO>1.2.3</ID_MO><LPUREGION_ID>1</LPUREGION_ID></HEADER>"
        "<BODY><LPUREGION_NAME>&secret;</LPUREGION_NAME></BODY></PKG>"
    ).encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_doctype_and_external_entity_are_refused_unread(emulator, tmp_path, encoding):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("TOP-SECRET-42")
    replies = emulator.handle("DISTRICT", props(), _xxe(secret_file, encoding))
    answer = answer_of(replies[0]["body"])
    assert codes(answer) == [901]
    assert "DOCTYPE" in answer["errors"][0][1]
    assert b"TOP-SECRET" not in replies[0]["body"]
    assert "DISTRICT" not in emulator.known


def test_billion_laughs_is_refused(emulator):
    body = (
        b'<?xml version="1.0"?><!DOCTYPE PKG [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<PKG>&c;</PKG>"
    )
    assert codes(send(emulator, body)) == [901]


@pytest.mark.parametrize("package_type", ["FOO", ""])
def test_unknown_type_is_904(emulator, package_type):
    answer = send(emulator, district(), package_type=package_type)
    assert codes(answer) == [904]
    assert answer["errors"][0][1].startswith("Неизвестный тип пакета")
    assert answer["type"] == package_type


def test_missing_message_id_is_902_and_not_applied(emulator):
    replies = emulator.handle("DISTRICT", {"type": "DISTRICT"}, district())
    answer = answer_of(replies[0]["body"])
    assert answer["message_id"] == ""
    assert codes(answer) == [902]
    assert "DISTRICT" not in emulator.known


def test_redelivered_message_id_gets_the_same_answer_and_is_applied_once(emulator):
    insert, delete = message_id(), message_id()
    send(emulator, district("Insert", 7), insert)
    first = emulator.handle("DISTRICT", props(delete), district("Delete", 7))
    again = emulator.handle("DISTRICT", props(delete), district("Delete", 7))

    assert answer_of(again[0]["body"])["result"] == "OK"  # not "Участок не найден": not applied twice
    assert again[0]["body"] == first[0]["body"]
    assert again[0]["properties"]["message_id"] != first[0]["properties"]["message_id"]
    outcome = emulator.process("DISTRICT", props(insert), district("Insert", 7))
    assert outcome.replayed and outcome.result == "OK"
    assert (CODE_MO, 7) not in emulator.known["DISTRICT"]  # the replayed Insert did not come back


def test_an_error_answer_is_replayed_too(emulator):
    mid = message_id()
    assert codes(send(emulator, district("Update", 7), mid)) == [904]
    send(emulator, district("Insert", 7))
    assert codes(send(emulator, district("Update", 7), mid)) == [904]


def test_answers_validate_against_answer_xsd_with_awkward_text():
    body = build_answer("q", "T", "M", [Error(901, "a < b & \x00 c \x1f ]]> «кавычки»")])
    assert answer_of(body)["errors"] == [(901, "a < b &  c  ]]> «кавычки»")]


# Faults


def test_reject_answers_999_without_applying_and_is_not_remembered(emulator):
    emulator.faults = Faults(reject_ratio=1.0)
    mid = message_id()
    answer = send(emulator, district("Insert", 7), mid)
    assert answer["errors"] == [(999, "Отказ ТФОМС (имитация)")]
    assert "DISTRICT" not in emulator.known

    emulator.faults = Faults()
    assert send(emulator, district("Insert", 7), mid)["result"] == "OK"  # a resend may succeed


def test_faults_of_one_mo_leave_the_others_alone(emulator):
    """The demo's second МО sees refusals and lost answers; the others read cleanly (issue 15 item 3)."""
    emulator.faults = Faults(reject_ratio=1.0, mo_codes=frozenset({"590002"}))
    assert send(emulator, district("Insert", 7, code_mo="590001"))["result"] == "OK"
    assert send(emulator, district("Insert", 7, code_mo="590002"))["errors"] == [
        (999, "Отказ ТФОМС (имитация)")
    ]
    emulator.faults = Faults(drop_ratio=1.0, mo_codes=frozenset({"590002"}))
    assert emulator.handle("DISTRICT", props(message_id()), district("Insert", 8, code_mo="590002")) == []
    assert len(emulator.handle("DISTRICT", props(message_id()), district("Insert", 8))) == 1


def test_drop_applies_but_answers_nothing_and_a_resend_gets_the_answer(emulator):
    emulator.faults = Faults(drop_ratio=1.0)
    mid = message_id()
    outcome = emulator.process("DISTRICT", props(mid), district("Insert", 7))
    assert outcome.replies == [] and outcome.dropped
    assert (CODE_MO, 7) in emulator.known["DISTRICT"]

    emulator.faults = Faults()
    assert send(emulator, district("Insert", 7), mid)["result"] == "OK"


def test_duplicate_sends_the_same_answer_twice_with_own_message_ids(emulator):
    emulator.faults = Faults(duplicate_ratio=1.0)
    mid = message_id()
    replies = emulator.handle("DISTRICT", props(mid), district("Insert", 7))
    assert len(replies) == 2
    assert replies[0]["body"] == replies[1]["body"]
    assert answer_of(replies[0]["body"])["message_id"] == mid
    ids = {reply["properties"]["message_id"] for reply in replies}
    assert len(ids) == 2 and all(GUID.fullmatch(i) for i in ids)
    assert len(emulator.known["DISTRICT"]) == 1


def _fault_pattern(emulator: Emulator, faults: Faults) -> list[tuple[bool, bool, bool]]:
    emulator.faults = faults
    pattern = []
    for region_id in range(40):
        outcome = emulator.process("DISTRICT", props(), district("Insert", 1000 + region_id))
        pattern.append((outcome.rejected, outcome.dropped, outcome.duplicated))
    emulator.reset(keep_faults=True)
    return pattern


def test_faults_are_deterministic_for_a_seed(emulator):
    faults = Faults(reject_ratio=0.3, drop_ratio=0.3, duplicate_ratio=0.3, seed=7)
    first = _fault_pattern(emulator, faults)
    assert first == _fault_pattern(emulator, faults)
    assert first == _fault_pattern(Emulator(), faults)
    assert first != _fault_pattern(emulator, Faults(0.3, 0.3, 0.3, seed=8))
    for kind in range(3):
        assert {row[kind] for row in first} == {True, False}


def test_faults_are_checked():
    with pytest.raises(ValueError):
        Faults(reject_ratio=1.5)
    with pytest.raises(ValueError):
        Faults(delay_seconds=-1)


# The МО's answers to the fund's packages, and the fund's own packages


def test_push_builds_a_package_for_the_mo(emulator):
    message = emulator.push("POLIS", "<PKG/>")
    assert message["queue"] == "tfoms.to_mis"
    assert message["body"] == b"<PKG/>"
    properties = message["properties"]
    assert GUID.fullmatch(properties["message_id"])
    assert properties["type"] == "POLIS"
    assert properties["reply_to"] == "tfoms.from_mis.answer"
    assert properties["content_type"] == "Xml" and properties["delivery_mode"] == 2
    assert emulator.pushed == [message]


def test_answers_of_the_mo_are_recorded_without_reply(emulator):
    pushed = emulator.push("POLIS", "<PKG/>")["properties"]["message_id"]
    answer = build_answer("tfoms.to_mis", "POLIS", pushed, [Error(0, "Пакет не прошёл XSD")])
    mid = message_id()

    assert emulator.handle("ANSWER", props(mid, "ANSWER"), answer) == []
    assert emulator.handle("ANSWER", props(mid, "ANSWER"), answer) == []  # a redelivery: recorded once
    (record,) = emulator.received_answers
    assert record.answered_message_id == pushed
    assert record.result == "ERROR"
    assert record.errors == [Error(0, "Пакет не прошёл XSD")]
    assert record.problems == []


def test_anything_on_the_answer_queue_is_recorded_never_answered(emulator):
    queue = emulator.queues.from_mis_answer
    assert emulator.handle("DISTRICT", props(), district(), queue=queue) == []
    assert emulator.handle("ANSWER", props(package_type="ANSWER"), b"<broken", queue=queue) == []
    first, second = emulator.received_answers
    assert first.problems and second.problems
    assert "DISTRICT" not in emulator.known


def test_answer_without_results_wrapper_is_read(emulator):
    body = (
        b"<ANSWER><HEADER><QUEUE_NAME>q</QUEUE_NAME><TYPE>POLIS</TYPE><MESSAGE_ID>X</MESSAGE_ID></HEADER>"
        b"<BODY><RESULT>OK</RESULT></BODY></ANSWER>"
    )
    emulator.handle("ANSWER", props(package_type="ANSWER"), body)
    (record,) = emulator.received_answers
    assert (record.answered_message_id, record.result, record.problems) == ("X", "OK", [])


# Configuration and the module-level instance


def test_queue_prefix_replaces_tfoms_dot():
    assert Queues.with_prefix() == Queues()
    assert Queues.with_prefix("t1.").all() == (
        "t1.from_mis",
        "t1.from_mis.answer",
        "t1.to_mis",
        "t1.to_mis.answer",
    )
    emulator = Emulator(queues=Queues.with_prefix("t1."))
    reply = emulator.handle("DISTRICT", props(), district())[0]
    assert reply["queue"] == "t1.to_mis.answer"
    assert answer_of(reply["body"])["queue_name"] == "t1.from_mis"


def test_schema_mapping_and_root_are_overridable(tmp_path):
    (tmp_path / "x.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:element name="X" type="xs:int"/></xs:schema>'
    )
    emulator = Emulator(
        root=tmp_path, schemas={"X": "x.xsd", "ANSWER": str(REPO / "servicelog/xsd/answer.xsd")}
    )
    assert send(emulator, b"<X>5</X>", package_type="X")["result"] == "OK"
    assert codes(send(emulator, b"<X>five</X>", package_type="X")) == [901]
    assert codes(send(emulator, district(), package_type="DISTRICT")) == [904]


@pytest.fixture
def default_instance():
    tfoms_emulator.reset()
    yield tfoms_emulator.default_emulator()
    tfoms_emulator.reset()


def test_module_level_handle_uses_the_default_instance(default_instance):
    assert tfoms_emulator.default_emulator() is default_instance
    replies = tfoms_emulator.handle("DISTRICT", props(), district("Insert", 7))
    assert answer_of(replies[0]["body"])["result"] == "OK"
    assert (CODE_MO, 7) in default_instance.known["DISTRICT"]

    default_instance.faults = Faults(drop_ratio=1.0)
    assert tfoms_emulator.handle("DISTRICT", props(), district("Insert", 8)) == []

    tfoms_emulator.reset()
    assert default_instance.known == {} and default_instance.faults == Faults()
    assert tfoms_emulator.default_emulator() is default_instance
