"""The emulator's stream of the fund's packages (push-changes) over the demo data, through our consumer
(C6, C7; issue 14 item 4): nothing stays "Получен от ТФОМС", every bad one is Отклонен with its
reason, every package is answered, and the demo's twins come out as possible duplicates."""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from registry.models import FundMerge, Mo, Policy
from servicelog.models import Package, PackageStatus
from tfoms_emulator.changes import BAD_KINDS, changes_stream

from .fund_samples import receive

S = PackageStatus
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_emulators_stream_is_applied_answered_and_the_bad_ones_refused(settings, tmp_path):
    settings.STORAGE_ROOT = str(tmp_path)
    call_command("seed_demo", persons=150, stdout=StringIO())
    register = json.loads((Path(tmp_path) / "emulator" / "register.json").read_text(encoding="utf-8"))
    assert any("duplicate_of" in person for person in register["persons"])  # the demo's twins
    codes = list(Mo.objects.values_list("code", flat=True))
    changes = changes_stream(register, 200, seed=3, today=timezone.localdate(), mo_codes=codes)
    policies_before = Policy.objects.count()

    outcome: Counter[tuple[str, str]] = Counter()
    for change in changes:
        package = receive(change.package_type, change.body)
        outcome[(change.kind, package.status)] += 1
        assert package.status in (S.PROCESSED, S.REJECTED), (change.kind, package.result)
        if change.kind in BAD_KINDS:
            assert package.status == S.REJECTED, (change.kind, package.result)

    inbound = Package.objects.filter(direction="in")
    assert inbound.count() == len(changes)
    assert Package.objects.filter(package_type="ANSWER").count() == len(changes)  # each one answered
    processed = inbound.filter(status=S.PROCESSED).count()
    assert processed >= len(changes) * 0.8, outcome  # the good ones apply to the demo's persons
    assert Policy.objects.count() > policies_before  # СМО changes and new persons
    if any(change.kind == "doubles" for change in changes):
        assert FundMerge.objects.exists()
    assert FundMerge.objects.filter(outcome=FundMerge.Outcome.POSSIBLE_DUPLICATE).exists(), outcome
