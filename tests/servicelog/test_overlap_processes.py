"""Issue 19 item 1 with real processes: the region-wide run, the МО's own run and a patient's card
send start at the same moment for one МО; together they form each object's Insert once (the sequence
lock of the МО and family is taken before anything is read)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from servicelog.models import Package
from tests.factories import AttachmentFactory, MoFactory, SiteFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PREAMBLE = (
    "import sys, time, django; django.setup()\n"
    "from servicelog import forming; forming._kickers.clear()\n"  # no relay: forming only
    "from registry.models import Mo, Person\n"
    "mo = Mo.objects.get(code='590001')\n"
    "while time.time() < float(sys.argv[1]): time.sleep(0.001)\n"  # everyone starts together
)
RUNS = {
    "region": "from servicelog.runs import service_execute; service_execute('tfoms_auto')",
    "mo": "from servicelog.runs import service_execute; service_execute('tfoms_auto', mo=mo)",
    "card": (
        "from attachment.services import person_attachment_send\n"
        "person_attachment_send(person=Person.objects.order_by('pk').first(), mo=mo, user=None)"
    ),
}


def test_overlapping_runs_form_each_object_once():
    mo = MoFactory(code="590001")
    sites = [SiteFactory(mo=mo, number=str(n)) for n in range(1, 31)]
    for n in range(300):
        AttachmentFactory(mo=mo, site=sites[n % len(sites)])
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}",
        "TFOMS_AMQP_URL": "",
    }
    start = str(time.time() + 3.0)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", PREAMBLE + code, start], cwd=ROOT, env=env, stderr=subprocess.PIPE
        )
        for code in RUNS.values()
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()[-2000:]
    twice = (
        Package.objects.filter(operation="Insert")
        .values("package_type", "object_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not twice.exists(), list(twice[:5])
    assert Package.objects.filter(package_type="DISTRICT").count() == 30
    assert Package.objects.filter(package_type="PERSONATTACHDISTRICT").count() == 300
