"""Issue 19 item 3: a rejected message from the fund may quote a patient's data. Its journal lines go
to the МО of the package it answers (the ЦОД admin sees all); a line that names no МО is the ЦОД
admin's only — through the journal page, its print and its CSV export."""

from __future__ import annotations

import uuid

import pytest

from servicelog.inbox import inbound_handle
from servicelog.models import Package, PackageStatus, RunTrigger, Service, ServiceRun
from tfoms_portal import messaging

pytestmark = pytest.mark.django_db
SECRET = "Сидорова-1985"  # in RESULT_CODE (xs:int): the XSD error quotes the value


def _answer(message_id: str) -> messaging.InMessage:
    body = (
        f"<ANSWER><HEADER><QUEUE_NAME>tfoms.from_mis</QUEUE_NAME><TYPE>DISTRICT</TYPE>"
        f"<MESSAGE_ID>{message_id}</MESSAGE_ID></HEADER><BODY><RESULTS><RESULT>ERROR</RESULT>"
        f"<ERROR_RESULT><RESULT_CODE>{SECRET}</RESULT_CODE><RESULT_NAME>x</RESULT_NAME></ERROR_RESULT>"
        f"</RESULTS></BODY></ANSWER>"
    )
    return messaging.InMessage(
        queue="tfoms.to_mis.answer", body=body.encode(), message_id=str(uuid.uuid4()), type="ANSWER"
    )


def _views(client, run) -> str:
    journal = client.get("/journal/", {"service": "tfoms_auto", "run": run.pk}).content.decode()
    csv = b"".join(client.get("/journal/export/log.csv", {"service": "tfoms_auto", "run": run.pk})).decode(
        "utf-8-sig"
    )
    printed = client.get("/journal/print/", {"service": "tfoms_auto", "run": run.pk}).content.decode()
    return journal + csv + printed


def test_rejected_answer_is_seen_by_its_mo_only(enter, mo_a, mo_b, mo_admin_a, mo_admin_b, dc_admin):
    ours = Package.objects.create(
        uuid=uuid.uuid4(),
        service=Service.objects.get(code="tfoms_auto"),
        mo=mo_a,
        package_type="DISTRICT",
        operation="Insert",
        status=PackageStatus.SENT,
        content_hash="x",
    )
    inbound_handle(_answer(str(ours.uuid).upper()))  # XSD-invalid RESULT quoting the secret
    inbound_handle(_answer("not-a-guid"))  # names no package of ours: no МО
    run = ServiceRun.objects.get(trigger=RunTrigger.CONSUMER)
    assert SECRET in _views(enter(dc_admin), run)
    seen_by_a = _views(enter(mo_admin_a), run)
    assert seen_by_a.count(SECRET) >= 1
    assert SECRET not in _views(enter(mo_admin_b), run)
    rejected = Package.objects.filter(package_type="ANSWER", direction="in").order_by("pk")
    assert [p.mo_id for p in rejected] == [mo_a.pk, None]
