"""`manage.py rundemo`: the embedded demo — runserver, the in-process scheduler (beat tasks: the relay,
the sweep …) and the consumer thread; with no TFOMS_AMQP_URL the fund is the in-process emulator."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.commands.runserver import Command as RunserverCommand
from django.utils import timezone
from django.utils.module_loading import import_string

from servicelog.inbox import consume_forever
from tfoms_portal.scheduler import DemoScheduler

logger = logging.getLogger(__name__)


def _answer_identification() -> None:
    """The built-in fund watches the exchange out-folder and answers request DBFs into the in-folder."""
    from identification.services import in_dir, out_dir

    watch = import_string(settings.TFOMS_DEMO_IDENT_WATCHER)
    register = Path(settings.STORAGE_ROOT) / "emulator" / "register.json"
    out_dir().mkdir(parents=True, exist_ok=True)
    in_dir().mkdir(parents=True, exist_ok=True)
    try:
        watch(out_dir(), in_dir(), register)
    except Exception:
        logger.exception("the demo fund stopped answering identification files")


def _consume() -> None:
    """The consumer of the demo: keeps taking the fund's answers and packages."""
    while True:
        try:
            consume_forever(should_stop=lambda: False)
        except Exception:
            logger.exception("demo consumer failed; restarting in 5 s")
            time.sleep(5)


def _fund_changes() -> None:
    """The built-in fund's own packages (POLIS, CHECKPERS, PERSCHANGE, DOUBLES, IDLEPERSONS) from its
    register: a first batch soon after start, then a few at every interval, into the queue the
    consumer thread reads (C6, C7)."""
    from registry.models import Mo
    from tfoms_portal import messaging

    stream = import_string(settings.TFOMS_DEMO_FUND_CHANGES)
    register_path = Path(settings.STORAGE_ROOT) / "emulator" / "register.json"
    time.sleep(settings.TFOMS_DEMO_CHANGES_FIRST_SECONDS)
    batch = 0
    while True:
        try:
            register = json.loads(register_path.read_text(encoding="utf-8"))
            codes = list(Mo.objects.filter(is_active=True).values_list("code", flat=True))
            count = settings.TFOMS_DEMO_CHANGES_FIRST if batch == 0 else settings.TFOMS_DEMO_CHANGES_EACH
            backend = messaging.get_backend()
            assert isinstance(backend, messaging.LocmemBackend)  # started only without TFOMS_AMQP_URL
            changes = stream(
                register,
                count,
                seed=batch,
                today=timezone.localdate(),
                mo_codes=codes,
                first_new_id=20_000_000 + 100_000 * batch,  # each batch's new persons are new
            )
            for change in changes:
                backend.deliver(
                    messaging.queue_name(messaging.TO_MIS),
                    change.body,
                    {"type": change.package_type, "message_id": str(uuid.uuid4()).upper()},
                )
        except Exception:
            logger.exception("the demo fund could not push its changes")
        batch += 1
        time.sleep(settings.TFOMS_DEMO_CHANGES_EVERY_SECONDS)


def _fund_knows_hospitals() -> None:
    """The built-in fund lives in this process and forgets with it: it is told again what the
    portal's database says the ISZL side accepted (order 263 stage 1, in the order sent), and the
    order-263 service runs once soon after start, so the referral form's free beds (stage 3) come
    from the region's hospitals from the first minutes of the demo, not after a scheduled run."""
    import tfoms_emulator
    from servicelog.models import Package, PackageStatus
    from servicelog.registry import get_package_type
    from servicelog.runs import RunRefused, service_execute
    from tfoms_portal import messaging

    iszl_queue = messaging.queue_name(messaging.ISZL_REQUEST)
    emulator = tfoms_emulator.default_emulator()
    accepted = Package.objects.filter(direction="out", status=PackageStatus.ACCEPTED).order_by("id")
    try:
        for package in (
            accepted.filter(service__code="iszl263").only("uuid", "package_type", "body").iterator()
        ):
            if messaging.queue_name(get_package_type(package.package_type).queue) == iszl_queue:
                properties = {"type": package.package_type, "message_id": package.message_id}
                emulator.handle(package.package_type, properties, package.body.encode(), queue=iszl_queue)
        time.sleep(settings.TFOMS_DEMO_HOSPITALS_FIRST_SECONDS)
        service_execute("iszl263")
    except RunRefused:
        pass  # a run of the service works already: it tells the fund
    except Exception:
        logger.exception("the demo fund could not learn the region's hospitals")


def _fund_answers_online() -> None:
    """Online identification (PERS) is answered from the register the identification files are."""
    import tfoms_emulator
    from tfoms_emulator.ident import RegisterFile

    register = Path(settings.STORAGE_ROOT) / "emulator" / "register.json"
    tfoms_emulator.default_emulator().persons = RegisterFile(register)


def _demo_faults() -> None:
    """The built-in fund refuses and leaves unanswered a share of one МО's packages (settings)."""
    import tfoms_emulator
    from tfoms_emulator.rpc import RpcFaults

    # online requests (free beds, PERS): "" answered, or silent / late / error / malformed to try the
    # pages without an answer (TFOMS_DEMO_RPC_FAULT)
    tfoms_emulator.default_emulator().rpc_faults = RpcFaults(settings.TFOMS_DEMO_RPC_FAULT)
    if settings.TFOMS_DEMO_FAULT_MO:
        tfoms_emulator.default_emulator().faults = tfoms_emulator.Faults(
            reject_ratio=settings.TFOMS_DEMO_REJECT_SHARE,
            drop_ratio=settings.TFOMS_DEMO_UNANSWERED_SHARE,
            seed=1,
            mo_codes=frozenset(settings.TFOMS_DEMO_FAULT_MO),
        )


class Command(RunserverCommand):
    help = "Портал на встроенном сервере с планировщиком задач в том же процессе (демо)."

    def inner_run(self, *args: Any, **options: Any) -> None:
        # The autoreloader runs this in its child process only, so one scheduler per server.
        if os.environ.get("RUN_MAIN") == "true" or not options.get("use_reloader"):
            DemoScheduler().start()
            threading.Thread(target=_consume, name="demo-consumer", daemon=True).start()
            if not settings.TFOMS_AMQP_URL:  # the built-in fund also answers identification files
                _demo_faults()
                threading.Thread(target=_answer_identification, name="demo-fund-files", daemon=True).start()
                threading.Thread(target=_fund_changes, name="demo-fund-changes", daemon=True).start()
                threading.Thread(
                    target=_fund_knows_hospitals, name="demo-fund-hospitals", daemon=True
                ).start()
                _fund_answers_online()
        super().inner_run(*args, **options)
