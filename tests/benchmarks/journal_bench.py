"""Journal pages on a large PostgreSQL dataset (issue 6): 1,000,000 packages and 5,000,000 log entries,
loaded once with COPY into the database BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1/tfoms_bench)
and reused by later runs. Prints p50/p95 and the number of queries of each page, beside the time of a
bare COPY of the same volume of log rows measured when the data is first loaded.

Run: `make bench` (or `python tests/benchmarks/journal_bench.py`). BENCH_PACKAGES scales the dataset.
"""

from __future__ import annotations

import io
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tfoms_bench"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfoms_portal.settings")
os.environ.setdefault("DEBUG", "true")
os.environ["TFOMS_AMQP_URL"] = ""

PACKAGES = int(os.environ.get("BENCH_PACKAGES", "1000000"))
LOGS_PER_PACKAGE = 5
PACKAGES_PER_RUN = 100
MO_COUNT = 40


class RowStream(io.RawIOBase):
    """A file-like view of a row generator, so COPY streams rows without holding them in memory."""

    def __init__(self, rows: Iterator[str]) -> None:
        self.rows = rows
        self.buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        while len(self.buffer) < len(target):
            try:
                self.buffer += next(self.rows).encode("utf-8")
            except StopIteration:
                break
        size = min(len(target), len(self.buffer))
        target[:size] = self.buffer[:size]
        self.buffer = self.buffer[size:]
        return size


def ensure_database() -> None:
    import psycopg2

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def load_dataset() -> float | None:
    """COPY the dataset once; returns the seconds the COPY of the log rows took (None if reused)."""
    from django.db import connection

    from registry.models import Mo, Role, Workplace
    from servicelog.models import Package, Service, ServiceRun
    from tests.factories import MoFactory, UserFactory

    if Package.objects.count() >= PACKAGES:
        return None
    print(
        f"loading {PACKAGES:,} packages and {PACKAGES * LOGS_PER_PACKAGE:,} log entries with COPY …",
        flush=True,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE servicelog_logentry, servicelog_attempt, servicelog_package, servicelog_servicerun CASCADE"
        )
    mos = [MoFactory(code=f"59{n:04d}", oid=f"1.2.643.5.1.13.13.12.2.59.{n}") for n in range(1, MO_COUNT + 1)]
    admin = UserFactory(username="bench_admin")
    Workplace.objects.get_or_create(user=admin, mo=mos[0], role=Role.MO_ADMIN)
    dc = UserFactory(username="bench_dc")
    Workplace.objects.get_or_create(user=dc, mo=mos[0], role=Role.DC_ADMIN)
    service = Service.objects.get(code="tfoms_auto")
    rng = random.Random(7)
    runs = PACKAGES // PACKAGES_PER_RUN
    start = time.time() - 365 * 86400
    with connection.cursor() as cursor:

        def run_rows() -> Iterator[str]:
            for n in range(1, runs + 1):
                moment = start + n * (365 * 86400 / runs)
                mo = mos[n % MO_COUNT]
                stamp = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(moment))
                yield f"{n}\t{service.pk}\t{mo.pk}\t{mo.code}\tschedule\t\\N\t{stamp}\t{stamp}\t{stamp}\tsuccess\n"

        cursor.copy_expert(
            "COPY servicelog_servicerun (id, service_id, mo_id, scope_key, trigger, started_by_id, started_at, "
            "finished_at, heartbeat_at, result) FROM STDIN",
            RowStream(run_rows()),
        )
        statuses = (
            ["accepted"] * 90 + ["rejected_fund"] * 4 + ["send_error"] * 2 + ["sent"] * 3 + ["form_error"]
        )

        def package_rows() -> Iterator[str]:
            for n in range(1, PACKAGES + 1):
                run = (n - 1) // PACKAGES_PER_RUN + 1
                mo = mos[run % MO_COUNT]
                moment = start + n * (365 * 86400 / PACKAGES)
                stamp = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(moment))
                enp = f"59{n:014d}"
                status = statuses[rng.randrange(100)]
                yield (
                    f"{n}\t{uuid.UUID(int=n)}\t{service.pk}\t{run}\t{mo.pk}\tout\tPERSONATTACHDISTRICT\tInsert\t"
                    f'{status}\t{status}\t{n}\t{{"ENP": "{enp}"}}\t\t\\N\th{n}\t'
                    f"tfoms_auto:{mo.code}:attach\t{n}\tf\t\\N\t\\N\t\t{enp}\t\t"
                    f"ФАМИЛИЯ{n % 5000} ИМЯ\t{stamp}\t{stamp}\t0\t\\N\t\\N\n"
                )

        cursor.copy_expert(
            "COPY servicelog_package (id, uuid, service_id, run_id, mo_id, direction, package_type, operation, status,"
            " result, object_id, payload, body, reply, content_hash, ordering_key, sequence, do_not_send,"
            " do_not_send_by_id, do_not_send_at, do_not_send_reason, enp, snils, fio, created_at, status_changed_at,"
            " send_attempts, next_attempt_at, overdue_notified_at) FROM STDIN",
            RowStream(package_rows()),
        )

        def log_rows() -> Iterator[str]:
            for n in range(1, PACKAGES + 1):
                run = (n - 1) // PACKAGES_PER_RUN + 1
                mo = mos[run % MO_COUNT]
                stamp = time.strftime(
                    "%Y-%m-%d %H:%M:%S+00", time.gmtime(start + n * (365 * 86400 / PACKAGES))
                )
                for k in range(LOGS_PER_PACKAGE):
                    yield f"{stamp}\t{run}\t{n}\t{mo.pk}\tinfo\tСообщение {k} о пакете {n}\n"

        copy_started = time.perf_counter()
        cursor.copy_expert(
            "COPY servicelog_logentry (at, run_id, package_id, mo_id, level, message) FROM STDIN",
            RowStream(log_rows()),
        )
        copied = time.perf_counter() - copy_started
        for table in ("servicelog_servicerun", "servicelog_package", "servicelog_logentry"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")
    assert Mo.objects.count() >= MO_COUNT and ServiceRun.objects.count() == runs
    return copied


def measure(client, url: str, repeat: int = 20) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured.captured_queries)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], queries


def main() -> None:
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from registry.access import SESSION_MO, SESSION_WORKPLACE
    from registry.models import UserProfile, Workplace
    from servicelog.models import Package

    call_command("migrate", verbosity=0)
    copied = load_dataset()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    results = []
    enp = Package.objects.filter(mo__code="590001").values_list("enp", flat=True).first()
    for username in ("bench_admin", "bench_dc"):
        workplace = Workplace.objects.get(user__username=username)
        client = Client()
        client.force_login(workplace.user)
        session = client.session
        session[SESSION_WORKPLACE], session[SESSION_MO] = workplace.pk, workplace.mo_id
        session.save()
        UserProfile.objects.update_or_create(user=workplace.user, defaults={"default_workplace": workplace})
        for title, url in (
            ("runs list (journal page)", "/journal/?service=tfoms_auto"),
            ("runs list, page 50", "/journal/?service=tfoms_auto&page=50"),
            ("packages by status", "/journal/search/?status=send_error"),
            ("packages by status, page 20", "/journal/search/?status=send_error&page=20"),
            ("search by ЕНП", f"/journal/search/?q={enp}"),
        ):
            p50, p95, queries = measure(client, url)
            results.append((username, title, p50, p95, queries))
    print(
        f"\nJOURNAL BENCH (postgresql, {Package.objects.count():,} packages, "
        f"{PACKAGES * LOGS_PER_PACKAGE:,} log entries{'' if copied is None else f'; bare COPY of the log rows {copied:.0f} s'}):"
    )
    for username, title, p50, p95, queries in results:
        verdict = "ok" if p95 <= 300 else "OVER 300 ms"
        print(
            f"  {username:12} {title:32} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  queries {queries:3}  {verdict}"
        )


if __name__ == "__main__":
    main()
