"""The relay's verdict does not overwrite what happened while it waited for the broker (DESIGN §3,
issue 16 review): the fund's answer or an admin's resend that lands between the claim and the
confirm stands; the broker's refusal is recorded as an attempt, nothing more."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from servicelog.models import Attempt, Package, PackageStatus
from servicelog.relay import relay_run
from servicelog.runs import run_open
from servicelog.services import package_resend
from servicelog.statuses import package_set_status
from tests.factories import journal_package
from tfoms_portal import messaging

S = PackageStatus
pytestmark = pytest.mark.django_db(transaction=True)


class RefusingBackend:
    """Refuses every message, after running `meanwhile` — in another thread with its own database
    connection, as the consumer or a web request would — while the relay waits for the broker."""

    def __init__(self, meanwhile: Callable[[], None]) -> None:
        self.meanwhile = meanwhile

    def publish(self, messages: Sequence[messaging.OutMessage]) -> list[messaging.PublishOutcome]:
        def other_process() -> None:
            try:
                self.meanwhile()
            finally:
                connection.close()

        thread = threading.Thread(target=other_process)
        thread.start()
        thread.join()
        return [messaging.PublishOutcome(m.message_id, "очередь переполнена (basic.nack)") for m in messages]


@pytest.fixture
def package(mo_a) -> Package:
    run = run_open("tfoms_auto", mo=mo_a)
    return journal_package(run, mo_a, ordering_key="DISTRICT:590001", sequence=1, body="<X/>")


def test_an_answer_that_arrives_while_the_broker_is_awaited_stands(package):
    relay_run(backend=RefusingBackend(lambda: package_set_status(package, S.ACCEPTED)))
    package.refresh_from_db()
    assert (package.status, package.send_attempts, package.next_attempt_at) == (S.ACCEPTED, 0, None)
    attempt = package.attempts.get(kind=Attempt.Kind.PUBLISH)
    assert (attempt.ok, attempt.detail) == (False, "очередь переполнена (basic.nack)")


def test_a_resend_while_the_broker_is_awaited_starts_a_new_series_of_retries(package, settings):
    settings.TFOMS_SEND_RETRY_BASE_SECONDS = 60
    package.status, package.send_attempts = S.SEND_ERROR, 5
    package.next_attempt_at = timezone.now() - timedelta(minutes=1)
    package.save()
    before = timezone.now()
    relay_run(backend=RefusingBackend(lambda: package_resend(package=package, user=None)))
    package.refresh_from_db()
    assert (package.status, package.send_attempts) == (S.SEND_ERROR, 1)  # the first of a new series
    assert package.next_attempt_at is not None
    assert package.next_attempt_at - before < timedelta(seconds=90)  # one base delay, not 2**4 of it


def test_the_sweep_labels_an_old_unconfirmed_publish_interrupted_and_leaves_a_fresh_one(package):
    from servicelog.relay import INTERRUPTED, PUBLISHING
    from servicelog.tasks import close_dead_runs

    old, fresh = (
        Attempt.objects.create(package=package, kind="publish", ok=None, detail=PUBLISHING) for _ in "ab"
    )
    Attempt.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(hours=2))
    package_set_status(package, S.ACCEPTED)  # answered: the relay will never claim it again
    close_dead_runs()
    assert Attempt.objects.get(pk=old.pk).detail == INTERRUPTED
    assert Attempt.objects.get(pk=fresh.pk).detail == PUBLISHING  # may be a live publish
