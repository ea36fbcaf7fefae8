"""The outbox relay: publishes Сформирован packages in order, with confirms and retries (DESIGN §3)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from tfoms_portal import messaging
from tfoms_portal.db import advisory_key

from .models import Attempt, Direction, LogEntry, Operation, Package, PackageStatus
from .registry import get_package_type
from .statuses import STATUS_MESSAGES, log_write, package_set_status, packages_set_status

S = PackageStatus
PENDING = (S.FORMED, S.SEND_ERROR)
HELD_AFTER_REFUSAL = "принят брокером, но предшествующий пакет отклонён: будет отправлен снова после него"


@dataclass
class RelayStats:
    sent: int = 0
    failed: int = 0
    keys: int = 0

    def add(self, other: RelayStats) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.keys += other.keys


def relay_due(now: object) -> Q:
    """Packages the relay may publish now: Сформирован, or Ошибка отправки whose retry is due. An
    online request (Query) is not the relay's: its call publishes it once, with a deadline (rpc.py)."""
    return (
        Q(direction=Direction.OUT, do_not_send=False)
        & ~Q(operation=Operation.QUERY)
        & (Q(status=S.FORMED) | Q(status=S.SEND_ERROR, next_attempt_at__lte=now))
    )


_local_keys: dict[str, threading.Lock] = {}
_local_keys_guard = threading.Lock()


@contextlib.contextmanager
def _hold_key(ordering_key: str) -> Iterator[bool]:
    """One relay works a key at a time, across both of its transactions (DESIGN §3): a PostgreSQL
    session advisory lock, gone with the session if the process dies. SQLite has no such lock: one
    per process, which is all the embedded portal runs."""
    if connection.vendor != "postgresql":
        with _local_keys_guard:
            lock = _local_keys.setdefault(ordering_key, threading.Lock())
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                lock.release()
        return
    key = advisory_key(ordering_key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held and connection.is_usable():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def relay_run(*, backend: messaging.Backend | None = None) -> RelayStats:
    """One pass over every ordering key with something due; each key in its own transaction."""
    backend = backend or messaging.get_backend()
    stats = RelayStats()
    keys = list(
        Package.objects.filter(relay_due(timezone.now()))
        .order_by("ordering_key")  # not the model's ordering: DISTINCT would take its columns too
        .values_list("ordering_key", flat=True)
        .distinct()
    )
    for key in keys:
        stats.add(relay_key(key, backend=backend))
    return stats


def _retry_delay(attempts: int) -> timedelta:
    seconds = settings.TFOMS_SEND_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.TFOMS_SEND_RETRY_MAX_SECONDS))


def _waiting_note(package: Package, blocker: Package) -> None:
    """Say once on the waiting package what it waits for."""
    message = (
        f"Ожидает отправки предшествующего пакета {blocker.package_type} от "
        f"{timezone.localtime(blocker.created_at):%d.%m.%Y %H:%M:%S} ({blocker.get_status_display()})"
    )
    last = package.log.order_by("-id").values_list("message", flat=True).first()
    if last != message:
        log_write(package=package, run=package.run, level=LogEntry.Level.WARNING, message=message)


def _mark_sent(packages: list[Package], attempts: dict[int, int]) -> list[Package]:
    """Отправлен, its publish attempt confirmed and its log line for a confirmed batch; the packages
    the fund already answered meanwhile (Принят ТФОМС before our mark) are left as the answer made
    them. On PostgreSQL one statement (the relay's hot path: three ORM writes per package cost more
    than the publish). Returns the packages it marked."""
    Attempt.objects.filter(pk__in=[attempts[p.pk] for p in packages]).update(ok=True, detail="")
    if connection.vendor != "postgresql":
        marked = list(Package.objects.filter(pk__in=[p.pk for p in packages], status__in=PENDING))
        packages_set_status(marked, S.SENT)
        Package.objects.filter(pk__in=[p.pk for p in marked], next_attempt_at__isnull=False).update(
            next_attempt_at=None
        )
        return marked
    message = STATUS_MESSAGES[S.SENT]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH sent AS (
                UPDATE {Package._meta.db_table}
                SET status = %(status)s, result = %(message)s, status_changed_at = %(now)s,
                    next_attempt_at = NULL
                WHERE id = ANY(%(ids)s) AND status = ANY(%(from)s) RETURNING id, run_id, mo_id
            )
            INSERT INTO {LogEntry._meta.db_table} (at, run_id, package_id, mo_id, level, message)
            SELECT %(now)s, run_id, id, mo_id, %(level)s, %(message)s FROM sent ORDER BY id
            RETURNING package_id
            """,
            {
                "status": S.SENT,
                "from": [str(status) for status in PENDING],  # the life cycle's only ways into Отправлен
                "message": message,
                "ids": [p.pk for p in packages],
                "level": LogEntry.Level.INFO,
                "now": timezone.now(),  # the application's clock, as every other log line
            },
        )
        marked_ids = {row[0] for row in cursor.fetchall()}
    marked = [p for p in packages if p.pk in marked_ids]
    for package in marked:
        package.status, package.result = S.SENT, message
    return marked


def _after_sent(packages: list[Package]) -> None:
    """The types' own reaction to Отправлен (a plan's persons become "Отправлена в ТФОМС"), in the
    transaction that marks them: both happen or neither."""
    by_type: dict[str, list[Package]] = {}
    for package in packages:
        by_type.setdefault(package.package_type, []).append(package)
    for code, group in by_type.items():
        handler = get_package_type(code).sent_handler
        if handler is not None:
            handler(group)


PUBLISHING = "публикуется: подтверждение брокера ещё не получено"
INTERRUPTED = (
    "публикация прервана до подтверждения брокера (процесс отправки остановлен); сообщение могло "
    "дойти до ТФОМС, пакет отправлен снова с тем же идентификатором"
)


def attempts_interrupted_sweep(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Unconfirmed publishes a dead relay left on packages that will not be claimed again (answered,
    or barred from sending meanwhile): labelled interrupted, not «публикуется» for ever. An hour is
    far beyond any pass (its confirm waits are bounded), so no live publish is relabelled."""
    return Attempt.objects.filter(
        kind=Attempt.Kind.PUBLISH, ok__isnull=True, detail=PUBLISHING, at__lt=timezone.now() - older_than
    ).update(detail=INTERRUPTED)


def _claim(ordering_key: str, now: datetime) -> list[Package]:
    """The due packages of one key in sequence order, stopping at the first that is not due. Rows
    are claimed FOR UPDATE SKIP LOCKED; a lower package locked by someone else (a resend, a flag)
    makes the key wait for the next pass."""
    pending = list(
        Package.objects.filter(ordering_key=ordering_key, direction=Direction.OUT, do_not_send=False)
        .filter(status__in=PENDING)
        .defer("payload", "reply")  # the relay sends the body; decoding the JSON would only cost
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("sequence", "id")[: settings.TFOMS_RELAY_BATCH]
    )
    if not pending:
        return []
    lower_locked = (
        Package.objects.filter(ordering_key=ordering_key, direction=Direction.OUT, do_not_send=False)
        .filter(status__in=PENDING, sequence__lt=pending[0].sequence)
        .exists()
    )
    if lower_locked:
        return []
    batch: list[Package] = []
    for package in pending:
        due = package.status == S.FORMED or (
            package.next_attempt_at is not None and package.next_attempt_at <= now
        )
        if not due:
            waiting = pending[len(batch) + 1] if len(batch) + 1 < len(pending) else None
            if waiting is not None:
                _waiting_note(waiting, package)
            break
        batch.append(package)
    return batch


def relay_key(ordering_key: str, *, backend: messaging.Backend) -> RelayStats:
    """Publish the due packages of one key in order; marked Отправлен only on the broker's confirm.

    Two transactions around the publish, under the key's lock: the first claims the batch and
    records an unconfirmed publish attempt per package (so a process killed while publishing leaves
    a trace of what the fund may have received, issue 19 item 8); the second confirms the attempts
    and marks the packages. No transaction stays open while the broker is awaited."""
    stats = RelayStats(keys=1)
    with _hold_key(ordering_key) as held:
        if not held:
            return stats
        now = timezone.now()
        with transaction.atomic():
            batch = _claim(ordering_key, now)
            if not batch:
                return stats
            # Attempts a dead pass left unconfirmed: this key's lock says no one else is publishing them.
            Attempt.objects.filter(package__in=batch, kind=Attempt.Kind.PUBLISH, ok__isnull=True).update(
                detail=INTERRUPTED
            )
            attempts = {
                a.package_id: a.pk
                for a in Attempt.objects.bulk_create(
                    Attempt(package=p, kind=Attempt.Kind.PUBLISH, ok=None, detail=PUBLISHING) for p in batch
                )
            }
        messages, unroutable = _messages(batch)
        outcomes = {o.message_id: o for o in backend.publish(messages)} | unroutable
        with transaction.atomic():
            _record(batch, outcomes, attempts, now, stats)
    return stats


def _messages(batch: list[Package]) -> tuple[list[messaging.OutMessage], dict[str, messaging.PublishOutcome]]:
    """The batch as messages to publish, and the packages whose queue could not be worked out (a
    type's `route` failed) as failed outcomes of their own: a send error in words, retried."""
    messages: list[messaging.OutMessage] = []
    unroutable: dict[str, messaging.PublishOutcome] = {}
    for package in batch:
        kind = get_package_type(package.package_type)
        try:
            queue = kind.route(package) if kind.route is not None else messaging.queue_name(kind.queue)
        except Exception as exc:  # one package's routing must not stop its key, nor the pass
            error = f"очередь получателя не определена: {type(exc).__name__}: {exc}"
            unroutable[package.message_id] = messaging.PublishOutcome(package.message_id, error)
            continue
        messages.append(
            messaging.OutMessage(
                queue=queue,
                body=package.body.encode("utf-8"),
                message_id=package.message_id,
                type=package.package_type,
                reply_to=messaging.queue_name(kind.reply_queue),
            )
        )
    return messages, unroutable


def _record(
    batch: list[Package],
    outcomes: dict[str, messaging.PublishOutcome],
    attempts: dict[int, int],
    now: datetime,
    stats: RelayStats,
) -> None:
    """The broker's verdict on a published batch, in one transaction.

    The packages are read again, locked in id order: between the two transactions the fund may
    have answered one (Принят ТФОМС) or an admin resent one, and the verdict must not write over
    that from the copy claimed before the publish."""
    fresh = {
        p.pk: p
        for p in Package.objects.filter(pk__in=[p.pk for p in batch])
        .defer("payload", "reply")
        .select_for_update(of=("self",))
        .order_by("id")
    }
    batch = [fresh[p.pk] for p in batch]
    # Order within the key (DESIGN §3, issue 19 item 2): only what precedes the first refusal counts
    # as sent. The refused packages wait for their retry; a later one the broker did take stays
    # Сформирован behind them and goes again after them, in order (its copy carries the same
    # message_id, so the fund can tell it from a new message).
    first_refused = next((i for i, p in enumerate(batch) if not outcomes[p.message_id].ok), len(batch))
    sent = batch[:first_refused]
    failed = [p for p in batch[first_refused:] if not outcomes[p.message_id].ok]
    for package in batch[first_refused:]:
        outcome = outcomes[package.message_id]
        Attempt.objects.filter(pk=attempts[package.pk]).update(
            ok=outcome.ok, detail=outcome.error or HELD_AFTER_REFUSAL
        )
    if sent:
        marked = _mark_sent(sent, attempts)
        _after_sent(marked)
        stats.sent += len(marked)
    for package in failed:
        stats.failed += 1
        if package.status not in PENDING:
            continue  # answered meanwhile: the answer stands, the failed attempt is on record
        _retry_later(package, outcomes[package.message_id].error, now)


def _retry_later(package: Package, error: str, now: datetime) -> None:
    """Ошибка отправки with the next retry by the back-off, or none once the retries ran out."""
    package.send_attempts += 1
    # Since the failures of this series: a resend by the admin starts a new one (send_attempts 0).
    failures = package.attempts.filter(kind=Attempt.Kind.PUBLISH, ok=False).order_by("-at")
    failing_since = (
        failures.values_list("at", flat=True)[package.send_attempts - 1 : package.send_attempts].first()
        or now
    )
    retry_until = failing_since + timedelta(hours=settings.TFOMS_SEND_RETRY_FOR_HOURS)
    next_at = now + _retry_delay(package.send_attempts)
    package.next_attempt_at = next_at if next_at <= retry_until else None
    package.save(update_fields=["send_attempts", "next_attempt_at"])
    package_set_status(package, S.SEND_ERROR, errors=[error])
    if package.next_attempt_at is None:
        hours = (now - failing_since).total_seconds() / 3600
        log_write(
            package=package,
            run=package.run,
            level=LogEntry.Level.WARNING,
            message=f"Автоматические повторы исчерпаны: пакет не отправляется {hours:.1f} ч "
            f"(попыток {package.send_attempts}, предел {settings.TFOMS_SEND_RETRY_FOR_HOURS:g} ч) и ждёт "
            f"решения администратора (повторная отправка или «Не отправлять пакет»).",
        )
