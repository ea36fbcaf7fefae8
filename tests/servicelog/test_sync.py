"""The family sync engine on its own, with a toy family of two ranks registered here (C1, C4, C9;
issue 10): insert order, update, delete in reverse, a child held for its parent, one GUID per object,
nothing in flight formed twice, an МО's failure not stopping the others, forming in bulk, the ISZL
envelope, a reply handler and an inbound type end to end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from lxml import etree

from servicelog import registry as pkg_registry
from servicelog.envelope import ISZL, TAI, Envelope, envelope_build
from servicelog.families import for_each_mo
from servicelog.inbox import inbound_handle
from servicelog.models import InboundMessage, LogEntry, Package, PackageStatus, RunResult, SentObject
from servicelog.runs import run_finish, run_open
from servicelog.sync import Family, FamilyType, Parent, SyncContext, SyncObject, family_sync
from tests.factories import MoFactory
from tfoms_emulator.answer import build_answer
from tfoms_emulator.rules import Error
from tfoms_portal import messaging

S = PackageStatus
pytestmark = pytest.mark.django_db

# The toy МО data the family lists: branch id → name, and ward id → (name, branch id).
BRANCHES: dict[str, str] = {}
WARDS: dict[str, tuple[str, str]] = {}
REPLIES: list[tuple[str, dict]] = []


def _branches(ctx: SyncContext) -> Iterator[SyncObject]:
    for oid, name in sorted(BRANCHES.items()):
        yield SyncObject(oid, {"LPU": ctx.mo.code, "NAME": name})


def _wards(ctx: SyncContext) -> Iterator[SyncObject]:
    for oid, (name, branch) in sorted(WARDS.items()):
        yield SyncObject(
            oid, {"LPU": ctx.mo.code, "NAME": name}, parents=(Parent("TOYBRANCH", branch, f"№ {branch}"),)
        )


TOY = Family(
    code="toy",
    service="tfoms_auto",
    types=(
        # Declared child first on purpose: the order comes from the ranks, not from the tuple.
        FamilyType(
            "TOYWARD",
            _wards,
            lambda ctx: list(WARDS),
            lambda ctx, oid: {"LPU": ctx.mo.code},
            held="Палат, ожидающих корпус {parent}: {count}.",
        ),
        FamilyType("TOYBRANCH", _branches, lambda ctx: list(BRANCHES), lambda ctx, oid: {"LPU": ctx.mo.code}),
    ),
)
ENVELOPE = Envelope(ISZL, "TOY", header=(), body=("NAME",))


@pytest.fixture(autouse=True)
def toy_types():
    BRANCHES.clear()
    WARDS.clear()
    REPLIES.clear()
    for code, rank in (("TOYBRANCH", 1), ("TOYWARD", 2)):
        pkg_registry.register_package_type(
            pkg_registry.PackageType(
                code,
                "toy",
                rank,
                None,
                title=f"Игрушечный {code}",
                envelope=ENVELOPE,
                reply_handler=lambda package, reply: REPLIES.append((package.object_id, reply)),
            )
        )
    yield
    for code in ("TOYBRANCH", "TOYWARD"):
        pkg_registry.unregister_package_type(code)


def sync(mo) -> tuple[list[Package], object]:
    run = run_open("tfoms_auto", mo=mo)
    with transaction.atomic():
        family_sync(run=run, mo=mo, family=TOY)
    run_finish(run)
    return list(Package.objects.filter(run=run).order_by("sequence")), run


def answer(package: Package, errors: list[Error] | None = None) -> None:
    """The fund's ANSWER to a package, through the real inbox."""
    body = build_answer("tfoms.from_mis", package.package_type, package.message_id, errors or [])
    inbound_handle(
        messaging.InMessage(
            queue="tfoms.to_mis.answer", body=body, message_id=str(uuid.uuid4()).upper(), type="ANSWER"
        )
    )


def accept_all(packages: list[Package]) -> None:
    for package in packages:
        answer(package)


def ops(packages: list[Package]) -> list[tuple[str, str, str]]:
    return [(p.package_type, p.operation, p.object_id) for p in packages]


def test_inserts_in_rank_order_then_updates_and_deletes_in_reverse(mo_a):
    BRANCHES.update({"1": "Корпус 1"})
    WARDS.update({"10": ("Палата 10", "1")})
    packages, _ = sync(mo_a)
    assert ops(packages) == [("TOYBRANCH", "Insert", "1"), ("TOYWARD", "Insert", "10")]
    assert [p.sequence for p in packages] == [1, 2]  # one ordering key for the family
    accept_all(packages)

    BRANCHES["1"] = "Корпус 1А"
    packages, _ = sync(mo_a)
    assert ops(packages) == [("TOYBRANCH", "Update", "1")]
    accept_all(packages)

    BRANCHES.clear()
    WARDS.clear()
    packages, _ = sync(mo_a)
    assert ops(packages) == [("TOYWARD", "Delete", "10"), ("TOYBRANCH", "Delete", "1")]
    assert all(b"<body>" not in p.body.encode() for p in packages)  # no body on Delete
    accept_all(packages)
    assert SentObject.objects.filter(deleted=True).count() == 2
    assert sync(mo_a)[0] == []  # nothing left to tell


def test_one_guid_per_object_kept_across_update_and_delete(mo_a):
    BRANCHES["1"] = "Корпус"
    (insert,), _ = sync(mo_a)
    guid = insert.external_id
    assert len(guid) == 36 and guid == guid.upper()
    assert etree.fromstring(insert.body.encode()).findtext("header/ID") == guid
    answer(insert)
    assert SentObject.objects.get(package_type="TOYBRANCH", object_id="1").external_id == guid
    BRANCHES["1"] = "Корпус 2"
    (update,), _ = sync(mo_a)
    BRANCHES.clear()
    answer(update)
    (delete,), _ = sync(mo_a)
    assert update.external_id == delete.external_id == guid
    assert etree.fromstring(delete.body.encode()).findtext("header/ID") == guid


def test_guid_kept_when_a_rejected_insert_is_formed_again(mo_a):
    BRANCHES["1"] = "Корпус"
    (first,), _ = sync(mo_a)
    answer(first, [Error(904, "Не тот корпус")])
    BRANCHES["1"] = "Корпус исправлен"
    (again,), _ = sync(mo_a)
    assert again.operation == "Insert" and again.external_id == first.external_id


def test_a_change_while_the_insert_is_on_its_way_is_an_update(mo_a):
    BRANCHES["1"] = "Корпус"
    (insert,), _ = sync(mo_a)
    Package.objects.filter(pk=insert.pk).update(status=S.SENT)
    BRANCHES["1"] = "Корпус 2"
    (update,), _ = sync(mo_a)
    assert update.operation == "Update" and update.external_id == insert.external_id


def test_an_answer_arriving_mid_run_is_not_taken_for_unknown(mo_a, monkeypatch):
    """The fund accepts the Insert between the engine's read of SentObject and of the packages."""
    from servicelog import sync as engine

    BRANCHES["1"] = "Корпус"
    (insert,), _ = sync(mo_a)
    real = engine.latest_packages

    def answered_meanwhile(package_type, ids):
        if not SentObject.objects.exists():
            answer(insert)
        return real(package_type, ids)

    monkeypatch.setattr(engine, "latest_packages", answered_meanwhile)
    assert sync(mo_a)[0] == []  # not a second Insert


def test_a_family_type_of_another_family_is_refused():
    from servicelog.families import register_family

    with pytest.raises(ValueError):
        register_family(Family("other", "tfoms_auto", (FamilyType("TOYBRANCH", _branches),)))


def test_a_child_waits_for_its_parent_and_the_log_says_so(mo_a):
    WARDS.update({"10": ("Палата 10", "1"), "11": ("Палата 11", "1")})  # the branch is not there yet
    packages, run = sync(mo_a)
    assert packages == []
    assert run.log.filter(level=LogEntry.Level.WARNING, message="Палат, ожидающих корпус № 1: 2.").exists()
    BRANCHES["1"] = "Корпус"
    packages, run = sync(mo_a)  # the parent goes in this run: its children may follow it in the key
    assert ops(packages) == [
        ("TOYBRANCH", "Insert", "1"),
        ("TOYWARD", "Insert", "10"),
        ("TOYWARD", "Insert", "11"),
    ]


def test_a_parent_refused_by_the_fund_holds_its_children(mo_a):
    BRANCHES["1"] = "Корпус"
    (branch,), _ = sync(mo_a)
    answer(branch, [Error(904, "Корпус не найден в ФРМО")])
    WARDS["10"] = ("Палата 10", "1")
    packages, run = sync(mo_a)
    assert packages == [] and run.log.filter(message__startswith="Палат, ожидающих корпус № 1").exists()


def test_nothing_in_flight_is_formed_twice(mo_a):
    BRANCHES["1"] = "Корпус"
    assert len(sync(mo_a)[0]) == 1
    assert sync(mo_a)[0] == []  # Сформирован, same content: on its way already
    Package.objects.update(status=S.SENT)
    assert sync(mo_a)[0] == []


def test_an_mo_that_fails_is_logged_and_the_others_go_on(mo_a):
    mo_b = MoFactory(code="590002")
    MoFactory(code="590003")
    BRANCHES["1"] = "Корпус"
    run = run_open("tfoms_auto")

    def step(one):
        family_sync(run=run, mo=one, family=TOY)
        if one == mo_b:
            raise RuntimeError("сбой чтения данных МИС")

    failed = for_each_mo(run=run, mo=None, step=step, what="Формирование пакетов")
    run_finish(run)
    assert failed == [mo_b]
    assert set(Package.objects.values_list("mo__code", flat=True)) == {
        "590001",
        "590003",
    }  # nothing of 590002
    error = run.log.get(level=LogEntry.Level.ERROR)
    assert (
        error.mo == mo_b and "МО 590002 не выполнено: RuntimeError: сбой чтения данных МИС" in error.message
    )
    run.refresh_from_db()
    assert run.result == RunResult.ERROR


def test_forming_costs_a_constant_number_of_queries(mo_a):
    BRANCHES.update({str(i): f"Корпус {i}" for i in range(1, 301)})
    run = run_open("tfoms_auto", mo=mo_a)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        family_sync(run=run, mo=mo_a, family=TOY)
    assert Package.objects.filter(run=run).count() == 300
    # A block of sequence numbers, one look-up of what the fund knows and of the latest packages, the
    # INSERTs (SQLite splits them by its parameter limit, PostgreSQL sends one): far below 1 per package.
    assert len(queries) <= 30, [q["sql"][:80] for q in queries]


def test_a_reply_handler_is_called_with_the_fund_answer(mo_a):
    BRANCHES["1"] = "Корпус"
    (package,), _ = sync(mo_a)
    answer(package)
    package.refresh_from_db()
    assert package.status == S.ACCEPTED
    assert [("1", package.reply)] == REPLIES and package.reply["RESULT"] == "OK"


def test_an_inbound_type_is_handled_once_and_answered(mo_a):
    seen = []
    pkg_registry.register_inbound_type(
        pkg_registry.InboundType(
            "TOYIN", "tfoms_auto", None, lambda package, root: seen.append(root.findtext("BODY/NAME"))
        )
    )
    try:
        message = messaging.InMessage(
            queue="tfoms.to_mis",
            body="<TOYIN><HEADER><OPERATIONTYPE>Insert</OPERATIONTYPE></HEADER><BODY><NAME>Фонд</NAME></BODY></TOYIN>".encode(),
            message_id=str(uuid.uuid4()).upper(),
            type="TOYIN",
        )
        inbound_handle(message)
        inbound_handle(message)  # a redelivery: no second effect
    finally:
        pkg_registry.unregister_inbound_type("TOYIN")
    assert seen == ["Фонд"]
    received = Package.objects.get(package_type="TOYIN")
    assert received.status == S.PROCESSED and InboundMessage.objects.count() == 1
    reply = Package.objects.get(package_type="ANSWER")
    assert reply.status == S.FORMED and reply.payload["RESULT"] == "OK"
    assert reply.payload["MESSAGE_ID"] == message.message_id


def test_tai_envelope_header_body_and_lists():
    envelope = Envelope(
        TAI, "PKG", header=("CODE_MO",), body=("DS", "DATES"), date_tag="DATA", lists={"DATES": "PLAN_DATE"}
    )
    root = envelope_build(
        envelope, {"CODE_MO": "590001", "DS": "I10", "DATES": ["2027-01-10", "2027-04-10"]}, "Insert"
    )
    assert [e.tag for e in root.find("HEADER")] == ["OPERATIONTYPE", "DATA", "CODE_MO"]
    assert root.findtext("HEADER/OPERATIONTYPE") == "Insert"
    assert [e.text for e in root.findall("BODY/DATES/PLAN_DATE")] == ["2027-01-10", "2027-04-10"]
    assert envelope_build(envelope, {"CODE_MO": "590001"}, "Delete").find("BODY") is None


def test_iszl_envelope_carries_lpu_type_lpu_to_and_the_guid():
    root = envelope_build(
        ENVELOPE, {"LPU": "590001", "LPU_TO": "590002", "NAME": "Х"}, "Update", external_id="G-1"
    )
    assert [e.tag for e in root.find("header")] == ["LPU", "TYPE", "LPU_TO", "ID"]
    assert root.findtext("header/TYPE") == "Update" and root.findtext("header/ID") == "G-1"
    assert root.findtext("body/NAME") == "Х"


def test_type_titles_are_russian_everywhere_a_type_is_shown():
    assert pkg_registry.package_type_title("DISTRICT") == "Участки"
    assert (
        pkg_registry.package_type_title("PERSONATTACHDISTRICT") == "Прикрепление (единый пакет с участками)"
    )
    assert pkg_registry.package_type_title("DISP") == "Диспансерное наблюдение"
    assert pkg_registry.package_type_title("DISPOUT") == "Снятие с диспансерного наблюдения"
    assert pkg_registry.package_type_title("PERSCANCER") == "Пациенты с ЗНО"
    assert pkg_registry.package_type_title("НЕИЗВЕСТНЫЙ") == "НЕИЗВЕСТНЫЙ"


def test_a_package_type_names_one_way_to_be_built():
    with pytest.raises(ValueError):
        pkg_registry.PackageType("BAD", "x", 1, None)


def test_long_message_ids_with_a_common_prefix_are_two_messages(mo_a):
    """Issue 19 item 4: ids were cut to 64 characters, so a different message with the same prefix
    was skipped as already processed."""
    seen = []
    pkg_registry.register_inbound_type(
        pkg_registry.InboundType(
            "TOYIN", "tfoms_auto", None, lambda package, root: seen.append(root.findtext("BODY/NAME"))
        )
    )
    prefix = "X" * 70
    try:
        for n, name in enumerate(["первое", "второе"]):
            header = "<HEADER><OPERATIONTYPE>Insert</OPERATIONTYPE></HEADER>"
            body = f"<TOYIN>{header}<BODY><NAME>{name}</NAME></BODY></TOYIN>"
            inbound_handle(
                messaging.InMessage(
                    queue="tfoms.to_mis", body=body.encode(), message_id=f"{prefix}{n}", type="TOYIN"
                )
            )
    finally:
        pkg_registry.unregister_inbound_type("TOYIN")
    assert seen == ["первое", "второе"]
    assert sorted(InboundMessage.objects.values_list("message_id", flat=True)) == [f"{prefix}0", f"{prefix}1"]


def test_a_sync_without_an_mo_names_its_partition_and_forms_no_deletes(mo_a):
    """Issue 17: a family whose objects belong to no МО is synced per partition (its ordering key);
    it may not declare deletes, since what the peer knows is read by type across partitions."""
    from servicelog.runs import run_open

    run = run_open("tfoms_auto", mo=None)
    listing = Family("nomo", "tfoms_auto", (FamilyType("DISTRICT", lambda ctx: []),))
    deleting = Family("nomo", "tfoms_auto", (FamilyType("DISTRICT", lambda ctx: [], present=lambda ctx: []),))
    with transaction.atomic():
        with pytest.raises(ValueError, match="partition"):
            family_sync(run=run, mo=None, family=listing)
        with pytest.raises(ValueError, match="no deletes"):
            family_sync(run=run, mo=None, family=deleting, partition="X")
        assert family_sync(run=run, mo=None, family=listing, partition="X").formed == 0
