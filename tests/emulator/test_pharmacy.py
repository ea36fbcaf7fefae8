"""The emulator as the pharmacy organisations' systems (issue 17 item 3): a directory package of a
known organisation is taken and applied (whole, or by changes); an unknown organisation code, a
package that breaks the XSD and a wrong item count are refused with the reason."""

from __future__ import annotations

import uuid

from lxml import etree

from pharmacy import formats
from tfoms_emulator import Emulator
from tfoms_emulator.pharmacy import HELD

from .samples import answer_of, props


def package(org: str = "FARM59", mode: str = "full", items: list | None = None, operation: str = "Insert"):
    mid = str(uuid.uuid4()).upper()
    items = items if items is not None else [{"code": "1", "name": "Мужской", "fields": {}}]
    payload = {"org": org, "directory": "V005", "mode": mode, "items": items, "state": {}}
    return mid, etree.tostring(formats.build(payload, operation, mid), encoding="utf-8", xml_declaration=True)


def send(emulator: Emulator, mid: str, body: bytes, queue: str = "pharmacy.farm59") -> dict:
    (reply,) = emulator.handle("PHARM_V005", props(mid, "PHARM_V005"), body, queue=queue)
    return answer_of(reply["body"])


def test_a_known_organisation_is_taken_and_its_directory_held_whole_then_changed():
    emulator = Emulator()
    assert (
        send(emulator, *package(items=[{"code": c, "name": c, "fields": {}} for c in "12"]))["result"] == "OK"
    )
    changes = [
        {"code": "2", "name": "", "fields": {}, "op": "Delete"},
        {"code": "3", "name": "3", "fields": {}, "op": "Insert"},
    ]
    assert send(emulator, *package(mode="changes", items=changes, operation="Update"))["result"] == "OK"
    assert sorted(emulator.known[HELD][("FARM59:V005", 0)]) == ["1", "3"]


def test_an_unknown_organisation_a_broken_package_and_a_wrong_count_are_refused():
    emulator = Emulator()
    unknown = send(emulator, *package(org="NOSUCH"), queue="pharmacy.nosuch")
    assert unknown["result"] == "ERROR" and "Неизвестный код аптечной организации: NOSUCH" in str(
        unknown["errors"]
    )
    mid, body = package()
    broken = send(emulator, mid, body.replace(b"<MODE>full</MODE>", b"<MODE>some</MODE>"))
    assert broken["result"] == "ERROR" and broken["errors"][0][0] == 901
    mid, body = package()
    miscounted = send(emulator, mid, body.replace(b"<COUNT>1</COUNT>", b"<COUNT>5</COUNT>"))
    assert miscounted["result"] == "ERROR" and "COUNT = 5" in str(miscounted["errors"])


def test_a_package_that_came_to_another_organisations_queue_is_refused():
    emulator = Emulator()
    mid, body = package(org="APT0002")
    answer = send(emulator, mid, body)  # arrives on pharmacy.farm59
    assert answer["result"] == "ERROR" and "пришёл в очередь pharmacy.farm59" in str(answer["errors"])
