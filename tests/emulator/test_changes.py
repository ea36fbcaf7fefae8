"""Streams of the fund's packages about persons made from the register (changes.py) and `push-changes`."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pika
import pytest
from lxml import etree

from tests.emulator.test_amqp import queues, url  # noqa: F401 (fixtures: this test's own queues)
from tfoms_emulator import Emulator, Queues
from tfoms_emulator.__main__ import main, parse_args
from tfoms_emulator.changes import (
    BAD_KINDS,
    DECLARATION,
    EVERY_KIND_FROM,
    KINDS,
    UNKNOWN_SMO,
    Change,
    changes_stream,
    enp_make,
    push_changes,
    read_register,
    summary,
)
from tfoms_emulator.checks import enp_valid, snils_control, snils_valid
from tfoms_emulator.ident import RegisterError

from .samples import REPO

TODAY = dt.date(2026, 5, 14)
MO_CODES = ["590001", "590002"]
SMOS = {"59021": "1027700014561", "59022": "1027700027893", "59023": "1025900000001"}
SCHEMAS = {
    package_type: etree.XMLSchema(etree.parse(str(REPO / "registry" / "xsd" / f"{package_type.lower()}.xsd")))
    for package_type in ("POLIS", "CHECKPERS", "PERSCHANGE", "DOUBLES", "IDLEPERSONS")
}
POLICY_KINDS = ("smo_change", "policy_update", "closure")


def _snils(n: int) -> str:
    number = f"{100_000_000 + n * 7919:09d}"
    return f"{number}{snils_control(number):02d}"


def _policy(smo: str, begin: str, end: str | None = None, **fields: Any) -> dict[str, Any]:
    base = {"type": 3, "ser": "", "num": "", "enp": "", "smo": smo, "okato": "57000"}
    return base | {"smo_ogrn": SMOS[smo], "dbeg": begin, "dend": end} | fields


def register_data() -> dict[str, Any]:
    """30 persons as registry/demo.py writes them: unified, temporary and old policies, several СМО,
    some without policies or document, two duplicates of other records."""
    persons = []
    for n in range(30):
        sex = 1 + n % 2
        born = dt.date(1950 + n * 2, 1 + n % 12, 1 + n % 28)
        enp = enp_make("59", born, sex, 10_000 + n)
        smo = list(SMOS)[n % 3]
        if n % 10 == 9:
            policies: list[dict[str, Any]] = []  # insured elsewhere: nothing to update or close
        elif n % 5 == 1:  # an old policy replaced by a unified one
            old = _policy(smo, "2005-03-01", "2012-02-29", type=1, ser="ПР", num=f"{600_000_000 + n}")
            policies = [old, _policy(list(SMOS)[(n + 1) % 3], "2012-03-01", enp=enp)]
        elif n % 5 == 2:  # a temporary certificate, still open
            policies = [_policy(smo, "2026-03-01", "2026-06-29", type=2, num=f"{590_000_000 + n}", enp=enp)]
        else:
            policies = [_policy(smo, f"{2011 + n % 10}-07-15", enp=enp)]
        has_document = n % 7 != 6
        persons.append(
            {
                "bdzid": 7_000_000 + n * 10,
                "fam": ("Петров", "Сидорова")[n % 2],
                "im": ("Павел", "Вера")[n % 2],
                "ot": ("Ильич", "Олеговна")[n % 2] if n % 4 else "",
                "dr": born.isoformat(),
                "w": sex,
                "snils": _snils(n) if n % 3 else "",
                "doc_type": (14 if n < 25 else 3) if has_document else None,
                "doc_ser": ("5704" if n < 25 else "II-ВГ") if has_document else "",
                "doc_num": f"{100_000 + n}" if has_document else "",
                "policies": policies,
                "errors": [["Р04", "Расхождение ФИО с данными РС ЕРЗ"]] if n == 5 else [],
            }
        )
    persons[28]["duplicate_of"] = persons[27]["bdzid"]
    persons[29]["duplicate_of"] = persons[3]["bdzid"]
    return {"persons": persons}


REGISTER = register_data()
BY_ID = {person["bdzid"]: person for person in REGISTER["persons"]}
MAX_ID = max(BY_ID)


def stream(count: int = 300, seed: int = 0, mo_codes: list[str] | None = None) -> list[Change]:
    return changes_stream(
        REGISTER, count, seed=seed, today=TODAY, mo_codes=MO_CODES if mo_codes is None else mo_codes
    )


def of_kind(changes: list[Change], kind: str) -> list[etree._Element]:
    return [etree.fromstring(change.body) for change in changes if change.kind == kind]


def text(root: etree._Element, path: str) -> str:
    return root.findtext(path) or ""


def persons_by_id(changes: list[Change]) -> dict[int, dict[str, Any]]:
    """The register's persons by every id the stream names them by (a DOUBLES may give a new one)."""
    known = dict(BY_ID)
    for root in of_kind(changes, "doubles"):
        kept, merged = int(text(root, "HEADER/BDZID")), int(text(root, "BODY/BDZDID"))
        known.setdefault(kept, known[merged])
    return known


def latest(person: dict[str, Any]) -> dict[str, Any]:
    return max(person["policies"], key=lambda policy: policy["dbeg"])


def as_register_policy(root: etree._Element) -> dict[str, Any]:
    """POLIS_DATA in the register's terms (the key a policy is matched by, formats §6)."""
    data = root.find("BODY/POLIS_DATA")
    assert data is not None
    return {
        "type": int(text(data, "POLISTYPE")),
        "ser": text(data, "POLISSER"),
        "num": text(data, "POLISNUM"),
        "enp": text(data, "ENP"),
        "smo": text(data, "SMOCODE"),
        "dbeg": text(data, "POLISBEGDT")[:10],
    }


def same_policy(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    keys = ("type", "ser", "enp", "smo", "dbeg")
    return all(ours[key] == theirs[key] for key in keys) and (ours["num"] or ours["enp"]) == theirs["num"]


# --- the packages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_well_formed_package_validates_against_its_xsd(seed):
    changes = stream(seed=seed)
    assert {change.package_type for change in changes} == set(SCHEMAS)
    for change in changes:
        assert change.body.startswith(DECLARATION.encode())
        if change.kind in BAD_KINDS:
            continue
        root = etree.fromstring(change.body)
        schema = SCHEMAS[change.package_type]
        assert root.tag == "PKG"
        assert schema.validate(root), (change.kind, change.body.decode(), schema.error_log)


def test_the_bad_packages_fail_the_intended_way():
    changes = stream(count=400)
    bad = {kind: [c for c in changes if c.kind == kind] for kind in BAD_KINDS}
    assert all(bad.values()), {kind: len(found) for kind, found in bad.items()}
    assert all(c.package_type == "POLIS" for found in bad.values() for c in found)
    for change in bad["malformed_xml"]:
        with pytest.raises(etree.XMLSyntaxError):
            etree.fromstring(change.body)
    for change in bad["invalid_xsd"]:
        root = etree.fromstring(change.body)
        assert root.find("HEADER/BDZID") is None and not SCHEMAS["POLIS"].validate(root)
    for kind in ("unknown_smo", "reversed_dates", "future_birth", "unknown_policy"):
        for root in of_kind(changes, kind):  # XSD-valid: only the data is wrong
            assert SCHEMAS["POLIS"].validate(root), (kind, SCHEMAS["POLIS"].error_log)
    smo_codes = {policy["smo"] for person in REGISTER["persons"] for policy in person["policies"]}
    for root in of_kind(changes, "unknown_smo"):
        assert text(root, "BODY/POLIS_DATA/SMOCODE") == UNKNOWN_SMO and UNKNOWN_SMO not in smo_codes
    for root in of_kind(changes, "reversed_dates"):
        assert text(root, "BODY/POLIS_DATA/POLISENDDT") < text(root, "BODY/POLIS_DATA/POLISBEGDT")
    for root in of_kind(changes, "future_birth"):
        assert dt.date.fromisoformat(text(root, "BODY/PERSON/DR")) > TODAY
    every_policy = [policy for person in REGISTER["persons"] for policy in person["policies"]]
    for root in of_kind(changes, "unknown_policy"):
        assert text(root, "HEADER/OPERATIONTYPE") == "Delete"
        assert not any(same_policy(policy, as_register_policy(root)) for policy in every_policy)


# --- the stream ------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_stream_and_the_count_is_honoured():
    assert stream(seed=7) == stream(seed=7)
    assert stream(seed=7) != stream(seed=8)
    for count in (0, 1, 5, 39, EVERY_KIND_FROM, 200):
        assert len(stream(count=count)) == count
    for count in (EVERY_KIND_FROM, 200):
        for seed in range(5):
            assert {change.kind for change in stream(count=count, seed=seed)} == set(KINDS)


def test_the_mix_follows_the_weights():
    kinds = Counter(change.kind for change in stream(count=1000))
    assert kinds.most_common(1)[0][0] == "smo_change" and 220 <= kinds["smo_change"] <= 280
    assert 30 <= sum(kinds[kind] for kind in BAD_KINDS) <= 70
    assert 30 <= kinds["doubles"] <= 70


def test_an_update_or_a_delete_names_the_latest_policy_exactly_as_the_register_holds_it():
    changes = stream(count=400)
    by_id = persons_by_id(changes)
    updates, closures = of_kind(changes, "policy_update"), of_kind(changes, "closure")
    assert updates and closures
    for root in updates + closures:
        person = by_id[int(text(root, "HEADER/BDZID"))]
        assert person["policies"], "a person without policies is never updated"
        assert same_policy(latest(person), as_register_policy(root))
    for root in updates:  # a renewal (a later end) or a close cause
        assert text(root, "HEADER/OPERATIONTYPE") == "Update"
        end, cause = (
            text(root, "BODY/POLIS_DATA/POLISENDDT")[:10],
            text(root, "BODY/POLIS_DATA/POLISCLOSECAUSE"),
        )
        old_end = latest(by_id[int(text(root, "HEADER/BDZID"))])["dend"] or ""
        assert (cause in {"2", "3", "9"} and end == old_end) or (
            not cause and end > max(old_end, TODAY.isoformat())
        )
    for root in closures:
        assert text(root, "HEADER/OPERATIONTYPE") == "Delete"
        assert text(root, "BODY/POLIS_DATA/POLISENDDT") == f"{TODAY.isoformat()}T00:00:00"
        assert text(root, "BODY/POLIS_DATA/POLISCLOSECAUSE") == "1"


def test_an_smo_change_is_a_unified_policy_of_another_smo_from_about_today():
    changes = stream(count=400)
    smo_changes, by_id = of_kind(changes, "smo_change"), persons_by_id(changes)
    assert len(smo_changes) > 50
    for root in smo_changes:
        person = by_id[int(text(root, "HEADER/BDZID"))]
        policy = as_register_policy(root)
        assert text(root, "HEADER/OPERATIONTYPE") == "Insert"
        assert policy["smo"] in SMOS and policy["smo"] != latest(person)["smo"]
        assert policy["type"] == 3 and policy["num"] == policy["enp"] == latest(person)["enp"]
        begin = dt.date.fromisoformat(policy["dbeg"])
        assert TODAY - dt.timedelta(days=7) <= begin <= TODAY and policy["dbeg"] > latest(person)["dbeg"]
        if person["doc_type"] is not None:  # the person's identity, exactly as the register has it
            assert (text(root, "BODY/PERSON/FAM"), text(root, "BODY/PERSON/DR")) == (
                person["fam"],
                person["dr"],
            )
            assert text(root, "BODY/PERSON/DOCNUM") == person["doc_num"]
    attached = [root for root in smo_changes if root.find("BODY/ATTACH") is not None]
    assert attached and all(text(root, "BODY/ATTACH/ATTACHMO") in MO_CODES for root in attached)
    assert all(
        root.find("BODY/ATTACH") is None for root in of_kind(stream(count=400, mo_codes=[]), "smo_change")
    )


def test_new_persons_get_ids_above_the_register_and_valid_enp():
    changes = stream(count=400)
    newcomers = of_kind(changes, "new_person")
    assert len(newcomers) > 20
    ids = [int(text(root, "HEADER/BDZID")) for root in newcomers]
    assert min(ids) > MAX_ID and len(set(ids)) == len(ids)
    register_enps = {policy["enp"] for person in REGISTER["persons"] for policy in person["policies"]}
    doc_types: Counter[str] = Counter()
    for root in newcomers:
        enp = text(root, "BODY/POLIS_DATA/ENP")
        assert enp_valid(enp) and enp not in register_enps and text(root, "BODY/POLIS_DATA/POLISNUM") == enp
        assert text(root, "BODY/POLIS_DATA/NEWPERSDATA") == "1"
        born = dt.date.fromisoformat(text(root, "BODY/PERSON/DR"))
        doc_type = text(root, "BODY/PERSON/DOCTYPE")
        doc_types[doc_type] += 1
        assert doc_type == ("3" if TODAY - born < dt.timedelta(days=366) else "14")
        if doc_type == "14":
            assert text(root, "BODY/PERSON/DOCDT") and text(root, "BODY/PERSON/DOCORG")
        snils = text(root, "BODY/PERSON/SNILS")
        assert not snils or snils_valid(snils)
    assert doc_types["3"] and doc_types["14"]
    assert any(root.find("BODY/PERSON/SOC_STATUS") is None for root in newcomers)
    assert any(root.find("BODY/PERSON/SOC_STATUS") is not None for root in newcomers)


def test_doubles_merge_the_registers_duplicates_then_records_into_new_ids():
    changes = stream(count=400)
    pairs = [
        (int(text(root, "HEADER/BDZID")), int(text(root, "BODY/BDZDID")))
        for root in of_kind(changes, "doubles")
    ]
    duplicates = {(p["duplicate_of"], p["bdzid"]) for p in REGISTER["persons"] if "duplicate_of" in p}
    assert set(pairs[:2]) == duplicates
    known = persons_by_id(changes)
    for kept, merged in pairs[2:]:  # renumbered records
        assert merged in known and kept > MAX_ID
    merged_ids = [merged for _, merged in pairs]
    assert len(set(merged_ids)) == len(merged_ids)
    # a merged id is not named again after its DOUBLES
    for index, change in enumerate(changes):
        if change.kind == "doubles":
            gone = int(text(etree.fromstring(change.body), "BODY/BDZDID"))
            later = [c.body for c in changes[index + 1 :]]
            assert not any(f">{gone}<".encode() in body for body in later)


def test_checkpers_perschange_and_idlepersons_name_register_persons():
    changes = stream(count=400)
    by_id = persons_by_id(changes)
    for kind in ("checkpers", "perschange"):
        assert all(int(text(root, "BODY/BDZID")) in by_id for root in of_kind(changes, kind))
    idle = of_kind(changes, "idlepersons")
    flags = Counter(text(root, "BODY/PERSON/PR_FNI") for root in idle)
    assert flags["1"] > flags["0"] > 0
    for root in idle:
        person = by_id[int(text(root, "BODY/BDZ_ID"))]
        assert (text(root, "BODY/PERSON/FAM"), text(root, "BODY/PERSON/DR")) == (person["fam"], person["dr"])
        assert text(root, "HEADER/VERSION") == "1.0" and text(root, "BODY/PERSON/OKSM_ALFA3") == "RUS"


def test_a_register_without_persons_gives_new_persons_and_bad_ones_only():
    changes = changes_stream({"persons": []}, 60, today=TODAY)
    assert len(changes) == 60
    assert {change.kind for change in changes} == {"new_person", *BAD_KINDS}


def test_push_changes_pushes_every_package_through_the_emulator():
    emulator = Emulator(queues=Queues.with_prefix("x."))
    messages = push_changes(emulator, REGISTER, 50, seed=3, today=TODAY)
    changes = stream(count=50, seed=3, mo_codes=[])
    assert emulator.pushed == messages and len(messages) == 50
    for message, change in zip(messages, changes, strict=True):
        assert message["queue"] == "x.to_mis" and message["body"] == change.body
        properties = message["properties"]
        assert properties["type"] == change.package_type and properties["reply_to"] == "x.from_mis.answer"
        assert properties["message_id"] and properties["app_id"] == "TFOMS"
    assert summary(changes).startswith("POLIS ")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="6 digits"):
        changes_stream(REGISTER, 5, mo_codes=["5901"])
    with pytest.raises(ValueError):
        changes_stream(REGISTER, -1)
    bad = {"persons": [{"bdzid": 1, "fam": "А", "duplicate_of": "x"}]}
    with pytest.raises(RegisterError, match="duplicate_of"):
        changes_stream(bad, 5)


# --- the command line ------------------------------------------------------------------------------


def test_the_command_line_options():
    args = parse_args(
        ["push-changes", "--count", "7", "--register", "r.json", "--mo", "590001", "--mo", "590002"]
    )
    assert (args.command, args.count, str(args.register), args.seed) == ("push-changes", 7, "r.json", 0)
    assert args.mo_codes == ["590001", "590002"]
    assert parse_args(["push-changes", "--count", "1", "--register", "r", "--mo", "1", "2"]).mo_codes == [
        "1",
        "2",
    ]


@pytest.mark.parametrize("content", [None, "{not json", '{"persons": 3}'])
def test_a_missing_or_bad_register_exits_1(tmp_path, capsys, content):
    path = tmp_path / "register.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(RegisterError):
        read_register(path)
    assert main(["push-changes", "--count", "3", "--register", str(path), "--amqp", "amqp://nowhere"]) == 1
    assert "Регистр" in capsys.readouterr().err


@pytest.mark.amqp
def test_push_changes_publishes_the_stream_to_the_mo(url, queues, tmp_path: Path):  # noqa: F811
    register = tmp_path / "register.json"
    register.write_text(json.dumps(REGISTER, ensure_ascii=False), encoding="utf-8")
    prefix = queues.to_mis.removesuffix("to_mis")
    command = ["push-changes", "--count", "45", "--register", str(register), "--seed", "5", "--mo", "590001"]
    names = ["--amqp", url, "--queue-prefix", prefix, "--iszl-request", queues.iszl_request]
    done = subprocess.run(
        [sys.executable, "-m", "tfoms_emulator", *command, *names, "--iszl-reply", queues.iszl_reply],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"45 → {queues.to_mis}: POLIS ")

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    received: list[tuple[Any, bytes]] = []
    deadline = time.monotonic() + 20
    while len(received) < 45 and time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queues.to_mis, auto_ack=True)
        if method is None:
            time.sleep(0.1)
        else:
            received.append((properties, body))
    assert channel.queue_declare(queues.to_mis, passive=True).method.message_count == 0
    connection.close()

    assert len(received) == 45
    types = Counter(properties.type for properties, _ in received)
    assert set(types) == set(SCHEMAS)
    assert all(properties.message_id and properties.delivery_mode == 2 for properties, _ in received)
    assert len({properties.message_id for properties, _ in received}) == 45
    assert all(properties.reply_to == queues.from_mis_answer for properties, _ in received)
    for package_type, count in types.items():
        assert f"{package_type} {count} (" in done.stdout
