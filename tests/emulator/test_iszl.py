"""The ISZL side of order 263: replies on iszl.reply, refusals as ERROR packages, state and free beds."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from lxml import etree

import tfoms_emulator
from tfoms_emulator import Emulator, Faults, Queues
from tfoms_emulator.pharmacy import queues as pharmacy_queues
from tfoms_emulator.server import describe

from . import iszl_samples as s
from .samples import answer_of, district, props

GUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")
REQUEST = "iszl.request"


@pytest.fixture
def emulator() -> Emulator:
    return Emulator()


def send(emulator: Emulator, body: bytes, mid: str | None = None, package_type: str | None = None) -> dict:
    """One package on iszl.request that must get exactly one reply on iszl.reply."""
    package_type = s.root_tag(body) if package_type is None else package_type
    replies = emulator.handle(package_type, s.iszl_props(package_type, mid), body, queue=REQUEST)
    assert len(replies) == 1
    assert replies[0]["queue"] == "iszl.reply"
    return replies[0]


def ok(emulator: Emulator, body: bytes) -> None:
    reply = send(emulator, body)
    assert reply["properties"]["type"] != "ERROR", s.refused(reply["body"])[0]


def refusal(emulator: Emulator, body: bytes, **kwargs) -> str:
    """Send a package that must be refused; check the ERROR reply carries it; return the description."""
    reply = send(emulator, body, **kwargs)
    assert reply["properties"]["type"] == "ERROR"
    description, original = s.refused(reply["body"])
    assert original == body
    return description


@dataclass
class Beds:
    branch: str
    division: str
    dlsb: str  # one GUID for the bed-profile record, its amounts and its free beds


def structure(emulator: Emulator) -> Beds:
    """BRANCH → DIVISION → DIVISION_LINK_STRUCTURE_BED, all accepted."""
    beds = Beds(s.guid(), s.guid(), s.guid())
    ok(emulator, s.branch("Insert", beds.branch))
    ok(emulator, s.division("Insert", beds.division, branch_id=beds.branch))
    ok(emulator, s.dlsb("Insert", beds.dlsb))
    return beds


def test_the_samples_match_iszl_xsd():
    schema = etree.XMLSchema(etree.parse(str(s.ISZL_XSD)))
    one = s.guid()
    packages = [
        s.branch("Insert", one),
        s.division("Update", one, branch_id=one),
        s.dlsb("Insert", one),
        s.amount_bed("Insert", one, dlsb_id=one),
        s.free_beds("Update", one, dlsb_id=one),
        s.referral("Insert", one),
        s.referral("Insert", one, sex="10302"),
        s.cancel_referral("Insert", one),
        s.hospitalisation("Insert", one),
        s.motion("Insert", one, hospitalisation_id=one),
        s.cancel_hospitalisation("Insert", one, hospitalisation_id=one),
        s.branch("Delete", one),
        s.referral("Delete", one),
    ]
    for package in packages:
        assert schema.validate(etree.fromstring(package)), schema.error_log


def test_accepted_reply_layout(emulator):
    object_id, mid = s.guid(), s.guid()
    reply = send(emulator, s.branch("Insert", object_id), mid)

    properties = reply["properties"]
    reply_id = properties.pop("message_id")
    assert GUID.fullmatch(reply_id) and reply_id != mid
    assert properties == {
        "type": "BRANCH",
        "correlation_id": mid,
        "content_type": "Xml",
        "content_encoding": "utf-8",
        "app_id": "TFOMS",
        "delivery_mode": 2,
    }
    assert (
        reply["body"]
        == (
            '<?xml version="1.0" encoding="utf-8"?>'
            f"<BRANCH><header><TYPE>Insert</TYPE><ID>{object_id}</ID></header>"
            "<body><RESULT>1</RESULT><DESCRIPTION>Принято</DESCRIPTION></body></BRANCH>"
        ).encode()
    )
    assert emulator.iszl.get("BRANCH", object_id)["BR_CODE"] == s.BRANCH_CODE


def test_the_reply_names_the_operation_and_a_referral_insert_is_reserve(emulator):
    beds = structure(emulator)
    reply = send(emulator, s.division("Update", beds.division, branch_id=beds.branch))
    assert s.accepted(reply["body"]) == ("DIVISION", "Update", beds.division, "1", "Принято")

    ok(emulator, s.division("Insert", s.guid(), branch_id=beds.branch, code=s.OTHER_DIVISION_CODE))
    referral_id = s.guid()
    for operation, shown in (("Insert", "reserve"), ("Update", "Update"), ("Delete", "Delete")):
        reply = send(emulator, s.referral(operation, referral_id))
        assert reply["properties"]["type"] == "HOSPITALISATION_REFERRAL"
        assert s.accepted(reply["body"]) == ("HOSPITALISATION_REFERRAL", shown, referral_id, "1", "Принято")


def test_the_whole_order_is_accepted(emulator):
    beds = structure(emulator)
    ok(emulator, s.amount_bed("Insert", beds.dlsb, dlsb_id=beds.dlsb))
    ok(emulator, s.free_beds("Insert", beds.dlsb, dlsb_id=beds.dlsb))
    ok(emulator, s.free_beds("Update", beds.dlsb, dlsb_id=beds.dlsb, amount=5))
    # A referral to a division of any МО: here another МО's division known by its CODE_MZ.
    ok(
        emulator,
        s.division("Insert", s.guid(), branch_id=beds.branch, code="590002001009", code_mz="590002001003"),
    )
    ok(emulator, s.referral("Insert", s.guid(), division_to="590002001003"))
    ok(emulator, s.cancel_referral("Insert", s.guid()))
    stay = s.guid()
    ok(emulator, s.hospitalisation("Insert", stay))
    ok(emulator, s.motion("Insert", s.guid(), hospitalisation_id=stay))
    ok(emulator, s.cancel_hospitalisation("Insert", s.guid(), hospitalisation_id=stay))
    # The bed-profile packages share one GUID, each known under its own type.
    assert {kind for kind, key in emulator.iszl.objects if key == beds.dlsb} == {
        "DIVISION_LINK_STRUCTURE_BED",
        "AMOUNT_BED",
        "FREE_BEDS_INFORMATION",
    }


def test_delete_then_insert_again(emulator):
    object_id = s.guid()
    ok(emulator, s.branch("Insert", object_id))
    reply = send(emulator, s.branch("Delete", object_id))
    assert s.accepted(reply["body"]) == ("BRANCH", "Delete", object_id, "1", "Принято")
    assert emulator.iszl.get("BRANCH", object_id) is None
    ok(emulator, s.branch("Insert", object_id))


def test_a_parent_with_live_children_is_not_deleted(emulator):
    beds = structure(emulator)
    assert "подчинённые объекты (DIVISION)" in refusal(emulator, s.branch("Delete", beds.branch))
    assert "подчинённые объекты (DIVISION_LINK_STRUCTURE_BED)" in refusal(
        emulator, s.division("Delete", beds.division, branch_id=beds.branch)
    )
    ok(emulator, s.dlsb("Delete", beds.dlsb))
    ok(emulator, s.division("Delete", beds.division, branch_id=beds.branch))
    ok(emulator, s.branch("Delete", beds.branch))


# Refusals


def test_xsd_violation_names_the_field(emulator):
    ok(
        emulator,
        s.division("Insert", s.guid(), branch_id=structure(emulator).branch, code=s.OTHER_DIVISION_CODE),
    )
    body = s.referral("Insert", s.guid(), sex="1")
    description = refusal(emulator, body)
    assert "не соответствует XSD" in description and "SEX" in description
    assert emulator.iszl.referral_numbers == set()


def test_lower_case_guid_is_an_xsd_violation(emulator):
    assert "ID" in refusal(emulator, s.branch("Insert", s.guid().lower()))


def test_duplicate_insert_is_refused_and_changes_nothing(emulator):
    object_id = s.guid()
    ok(emulator, s.branch("Insert", object_id))
    description = refusal(emulator, s.branch("Insert", object_id, code="590001002"))
    assert "дубликат" in description and object_id in description
    assert emulator.iszl.get("BRANCH", object_id)["BR_CODE"] == s.BRANCH_CODE


@pytest.mark.parametrize("operation", ["Update", "Delete"])
def test_update_or_delete_of_an_unknown_object(emulator, operation):
    object_id = s.guid()
    description = refusal(emulator, s.branch(operation, object_id))
    assert description == f"BRANCH ID {object_id}: объект не найден в ИСЗЛ ({operation} без Insert)"


def test_the_key_is_the_type_and_the_guid(emulator):
    beds = structure(emulator)  # a DIVISION_LINK_STRUCTURE_BED under beds.dlsb, no AMOUNT_BED yet
    assert "не найден" in refusal(emulator, s.amount_bed("Update", beds.dlsb, dlsb_id=beds.dlsb))


def test_insert_without_body_is_refused(emulator):
    object_id = s.guid()
    body = s.envelope("BRANCH", "Insert", object_id, "", with_body=False)
    assert refusal(emulator, body) == f"BRANCH ID {object_id}: для операции Insert обязателен body"


def _unknown_references(beds: Beds) -> list[tuple[bytes, str]]:
    unknown = s.guid()
    return [
        (s.division("Insert", s.guid(), branch_id=unknown, code="590001001002"), f"BRANCH_ID {unknown}"),
        (s.dlsb("Insert", s.guid(), division_code="590001001777"), "DIVISION_ID 590001001777"),
        (s.amount_bed("Insert", s.guid(), dlsb_id=unknown), f"DLSB {unknown}"),
        (s.amount_bed("Insert", s.guid(), dlsb_id=beds.division), f"DLSB {beds.division}"),
        (s.free_beds("Insert", s.guid(), dlsb_id=unknown), f"DLSB {unknown}"),
        (s.referral("Insert", s.guid(), division_to="590002001777"), "DIVISION_TO 590002001777"),
        (
            s.cancel_referral("Insert", s.guid(), number="5900012025999999"),
            "REFERRAL_NUMBER 5900012025999999",
        ),
        (s.motion("Insert", s.guid(), hospitalisation_id=unknown), f"HOSPITALISATION_ID {unknown}"),
        (
            s.cancel_hospitalisation("Insert", s.guid(), hospitalisation_id=unknown),
            f"HOSPITALISATION_ID {unknown}",
        ),
    ]


@pytest.mark.parametrize("case", range(9))
def test_a_reference_to_an_unknown_object_is_refused(emulator, case):
    beds = structure(emulator)
    body, named = _unknown_references(beds)[case]
    package_type = s.root_tag(body)
    object_id = etree.fromstring(body).findtext("header/ID")
    description = refusal(emulator, body)
    assert description.startswith(f"{package_type} ID {object_id}: {named} — ")
    assert "не передан" in description or "не поступало" in description
    assert emulator.iszl.get(package_type, object_id) is None


def test_an_update_is_checked_too(emulator):
    beds = structure(emulator)
    unknown = s.guid()
    assert f"BRANCH_ID {unknown}" in refusal(emulator, s.division("Update", beds.division, branch_id=unknown))


def test_a_changed_division_code_is_no_longer_known(emulator):
    beds = structure(emulator)
    ok(emulator, s.division("Update", beds.division, branch_id=beds.branch, code="590001001002"))
    assert "DIVISION_ID" in refusal(emulator, s.dlsb("Insert", s.guid()))
    moved = s.guid()
    ok(emulator, s.dlsb("Insert", moved, division_code="590001001002"))
    ok(emulator, s.dlsb("Delete", moved))
    ok(emulator, s.dlsb("Delete", beds.dlsb))  # it still names the old code: no longer the division's
    ok(emulator, s.division("Delete", beds.division))
    assert "DIVISION_ID" in refusal(emulator, s.dlsb("Insert", s.guid(), division_code="590001001002"))


def test_a_cancel_needs_a_referral_received_once(emulator):
    beds = structure(emulator)
    ok(emulator, s.division("Insert", s.guid(), branch_id=beds.branch, code=s.OTHER_DIVISION_CODE))
    referral_id = s.guid()
    ok(emulator, s.referral("Insert", referral_id))
    ok(emulator, s.referral("Delete", referral_id))
    ok(emulator, s.cancel_referral("Insert", s.guid()))


def test_a_deleted_hospitalisation_takes_no_motion(emulator):
    stay = s.guid()
    ok(emulator, s.hospitalisation("Insert", stay))
    ok(emulator, s.hospitalisation("Delete", stay))
    assert "HOSPITALISATION_ID" in refusal(emulator, s.motion("Insert", s.guid(), hospitalisation_id=stay))


def test_all_errors_are_in_one_description(emulator):
    object_id, unknown = s.guid(), s.guid()
    ok(emulator, s.division("Insert", object_id, branch_id=structure(emulator).branch, code="590001001002"))
    description = refusal(emulator, s.division("Insert", object_id, branch_id=unknown))
    assert "дубликат" in description and f"BRANCH_ID {unknown}" in description and "; " in description


@pytest.mark.parametrize(
    "body", [b"", b"not xml", b"<BRANCH><header></BRANCH>", "<BRANCH>ё".encode("cp1251")]
)
def test_not_xml_is_refused_with_what_was_received(emulator, body):
    description = refusal(emulator, body, package_type="BRANCH")
    assert "XML" in description or "Пустой" in description


def test_unknown_root_is_refused(emulator):
    body = district("Insert", 7)
    assert refusal(emulator, body, package_type="PKG") == "Неизвестный тип пакета ИСЗЛ: PKG"


def test_the_amqp_type_must_be_the_root_tag(emulator):
    body = s.branch("Insert", s.guid())
    assert refusal(emulator, body, package_type="DIVISION") == (
        "Тип сообщения (AMQP type) DIVISION не совпадает с корневым элементом BRANCH"
    )


def test_the_error_body_carries_the_request_with_its_id(emulator):
    object_id = s.guid()
    reply = send(emulator, s.branch("Update", object_id))
    assert reply["properties"]["type"] == "ERROR"
    assert GUID.fullmatch(reply["properties"]["message_id"])
    assert reply["body"].startswith(b'<?xml version="1.0" encoding="utf-8"?><ERROR><header><DESCRIPTION>')
    _, original = s.refused(reply["body"])
    assert etree.fromstring(original).findtext("header/ID") == object_id


def test_missing_message_id_is_refused_and_not_applied(emulator):
    object_id = s.guid()
    body = s.branch("Insert", object_id)
    (reply,) = emulator.handle("BRANCH", {"type": "BRANCH"}, body, queue=REQUEST)
    assert reply["properties"]["type"] == "ERROR"
    assert "correlation_id" not in reply["properties"]
    assert s.refused(reply["body"]) == ("Не указан идентификатор сообщения (message_id)", body)
    assert emulator.iszl.get("BRANCH", object_id) is None


# Redelivery and faults


def test_a_seen_message_id_gets_its_first_reply_without_reapplying(emulator):
    object_id, insert, delete = s.guid(), s.guid(), s.guid()
    ok(emulator, s.branch("Insert", object_id))
    first = send(emulator, s.branch("Delete", object_id), delete)
    again = send(emulator, s.branch("Delete", object_id), delete)
    assert again["body"] == first["body"] and again["properties"]["type"] == "BRANCH"
    assert again["properties"]["message_id"] != first["properties"]["message_id"]

    refused = send(emulator, s.branch("Update", object_id), insert)
    assert refused["properties"]["type"] == "ERROR"
    ok(emulator, s.branch("Insert", object_id))
    outcome = emulator.process(
        "BRANCH", s.iszl_props("BRANCH", insert), s.branch("Update", object_id), REQUEST
    )
    assert outcome.replayed and outcome.result == "ERROR"
    assert outcome.replies[0]["properties"]["type"] == "ERROR"
    assert outcome.replies[0]["body"] == refused["body"]


def test_reject_refuses_without_applying_and_is_not_remembered(emulator):
    emulator.faults = Faults(reject_ratio=1.0)
    object_id, mid = s.guid(), s.guid()
    body = s.branch("Insert", object_id)
    assert refusal(emulator, body, mid=mid) == "Отказ ТФОМС (имитация)"
    assert emulator.iszl.get("BRANCH", object_id) is None

    emulator.faults = Faults()
    assert send(emulator, body, mid)["properties"]["type"] == "BRANCH"


def test_drop_applies_without_reply_and_duplicate_replies_twice(emulator):
    object_id, mid = s.guid(), s.guid()
    emulator.faults = Faults(drop_ratio=1.0)
    outcome = emulator.process("BRANCH", s.iszl_props("BRANCH", mid), s.branch("Insert", object_id), REQUEST)
    assert outcome.dropped and outcome.replies == []
    assert emulator.iszl.get("BRANCH", object_id) is not None

    emulator.faults = Faults(duplicate_ratio=1.0)
    replies = emulator.handle(
        "BRANCH", s.iszl_props("BRANCH", mid), s.branch("Insert", object_id), queue=REQUEST
    )
    assert len(replies) == 2 and replies[0]["body"] == replies[1]["body"]
    assert s.accepted(replies[0]["body"])[1] == "Insert"  # the dropped first reply, not "дубликат"
    assert replies[0]["properties"]["message_id"] != replies[1]["properties"]["message_id"]


def test_the_log_line(emulator):
    outcome = emulator.process("BRANCH", s.iszl_props("BRANCH", "M1"), s.branch("Update", s.guid()), REQUEST)
    assert describe(outcome).startswith("BRANCH M1 Update → ERROR 904 BRANCH ID ")
    outcome = emulator.process("BRANCH", s.iszl_props("BRANCH", "M2"), s.branch("Insert", s.guid()), REQUEST)
    assert describe(outcome) == "BRANCH M2 Insert → OK"


# Free beds


def test_free_beds_from_the_bed_profile_packages(emulator):
    beds = structure(emulator)
    assert emulator.free_beds() == [
        {
            "lpu": s.LPU,
            "branch": s.BRANCH_CODE,
            "division": s.DIVISION_CODE,
            "v020": "29",
            "profile": "29",
            "planned": None,
            "free": None,
            "actual_date": None,
        }
    ]
    ok(emulator, s.amount_bed("Insert", beds.dlsb, dlsb_id=beds.dlsb, planned=30))
    ok(emulator, s.free_beds("Insert", beds.dlsb, dlsb_id=beds.dlsb, amount=7, actual_date="2025-03-14"))
    ok(emulator, s.free_beds("Update", beds.dlsb, dlsb_id=beds.dlsb, amount=4, actual_date="2025-03-15"))
    (row,) = emulator.free_beds()
    assert (row["planned"], row["free"], row["actual_date"]) == (30, 4, "2025-03-15")

    ok(emulator, s.amount_bed("Update", beds.dlsb, dlsb_id=beds.dlsb, planned=28))
    assert emulator.free_beds(s.LPU)[0]["planned"] == 28
    assert emulator.free_beds("590002") == []


def test_free_beds_per_mo_and_profile(emulator):
    beds = structure(emulator)
    second = s.guid()
    ok(emulator, s.dlsb("Insert", second, v020="5", profile="5"))
    ok(emulator, s.free_beds("Insert", second, dlsb_id=second, amount=2))
    other_branch, other_division, other_dlsb = s.guid(), s.guid(), s.guid()
    ok(emulator, s.branch("Insert", other_branch, code="590002001", lpu="590002"))
    ok(
        emulator,
        s.division("Insert", other_division, branch_id=other_branch, code="590002001003", lpu="590002"),
    )
    ok(emulator, s.dlsb("Insert", other_dlsb, division_code="590002001003", lpu="590002"))

    rows = emulator.free_beds()
    assert [(r["lpu"], r["branch"], r["division"], r["v020"], r["free"]) for r in rows] == [
        (s.LPU, s.BRANCH_CODE, s.DIVISION_CODE, "29", None),
        (s.LPU, s.BRANCH_CODE, s.DIVISION_CODE, "5", 2),
        ("590002", "590002001", "590002001003", "29", None),
    ]
    assert [r["lpu"] for r in emulator.free_beds("590002")] == ["590002"]
    ok(emulator, s.dlsb("Delete", beds.dlsb))
    assert [r["v020"] for r in emulator.free_beds(s.LPU)] == ["5"]


def test_reset_forgets_the_iszl_state(emulator):
    mid = s.guid()
    beds = structure(emulator)
    send(emulator, s.branch("Insert", s.guid()), mid)
    emulator.reset()
    assert emulator.free_beds() == [] and emulator.iszl.get("BRANCH", beds.branch) is None
    assert emulator.iszl.division_codes == {} and emulator.iszl.referral_numbers == set()
    assert send(emulator, s.branch("Update", s.guid()), mid)["properties"]["type"] == "ERROR"  # not replayed


# Queues and the module-level instance


def test_iszl_queues_are_not_prefixed():
    assert (Queues().iszl_request, Queues().iszl_reply) == ("iszl.request", "iszl.reply")
    queues = Queues.with_prefix("t1.")
    assert (queues.iszl_request, queues.iszl_reply) == ("iszl.request", "iszl.reply")
    assert len(queues.all()) == 4
    played = pharmacy_queues()  # the pharmacy systems the emulator plays too
    assert played and all(name.startswith("pharmacy.") for name in played)
    assert queues.declared() == (*queues.all(), "iszl.request", "iszl.reply", "iszl.rpc", *played)
    named = Queues.with_prefix("t1.", iszl_request="t1.iszl.request", iszl_reply="t1.iszl.reply")
    emulator = Emulator(queues=named)
    body = s.branch("Insert", s.guid())
    (reply,) = emulator.handle("BRANCH", s.iszl_props("BRANCH"), body, queue="t1.iszl.request")
    assert reply["queue"] == "t1.iszl.reply" and reply["properties"]["type"] == "BRANCH"


def test_an_iszl_package_on_the_funds_queue_is_not_an_iszl_one(emulator):
    (reply,) = emulator.handle("BRANCH", props(package_type="BRANCH"), s.branch("Insert", s.guid()))
    assert reply["queue"] == "tfoms.to_mis.answer"
    assert answer_of(reply["body"])["errors"] == [(904, "Неизвестный тип пакета: BRANCH")]
    assert emulator.iszl.objects == {}


@pytest.fixture
def default_instance():
    tfoms_emulator.reset()
    yield tfoms_emulator.default_emulator()
    tfoms_emulator.reset()


def test_module_level_handle_with_the_iszl_queue(default_instance):
    object_id = s.guid()
    replies = tfoms_emulator.handle(
        "BRANCH", s.iszl_props("BRANCH"), s.branch("Insert", object_id), queue=REQUEST
    )
    assert [reply["queue"] for reply in replies] == ["iszl.reply"]
    assert default_instance.iszl.get("BRANCH", object_id) is not None
    tfoms_emulator.reset()
    assert default_instance.iszl.objects == {}
