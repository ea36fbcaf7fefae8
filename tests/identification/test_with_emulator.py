"""The whole cycle against the fund emulator: demo data → packages → the fund's answers → statuses (B, R3)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from identification.models import IdentificationPackage, RecordStatus
from identification.services import in_dir, out_dir
from registry.models import Person, Policy
from servicelog.models import RunResult
from servicelog.services import service_execute
from tfoms_emulator import ident

pytestmark = pytest.mark.django_db


def test_demo_cycle_through_the_exchange_folders(settings, django_capture_on_commit_callbacks):
    call_command("seed_demo", "--persons", "300", verbosity=0)
    register = settings.STORAGE_ROOT / "emulator" / "register.json"
    assert register.exists()
    queued = Person.objects.filter(identification_requested_at__isnull=False).count()
    assert queued > 0
    with django_capture_on_commit_callbacks(execute=True):
        run = service_execute("ident_batch")
    assert run.result == RunResult.SUCCESS
    packages = list(IdentificationPackage.objects.all())
    assert packages and all((out_dir() / p.file_name).exists() for p in packages)

    ident.watch_once(out_dir(), in_dir(), ident.load_register(register), settle=0)  # the fund answers
    assert {p.name.upper() for p in in_dir().glob("*.DBF")} == {p.file_name.upper() for p in packages}

    with django_capture_on_commit_callbacks(execute=True):
        run = service_execute("ident_responses")
    assert run.result == RunResult.SUCCESS, list(run.log.values_list("message", flat=True))
    assert not list(in_dir().glob("*.DBF"))
    statuses = {r.status for p in IdentificationPackage.objects.all() for r in p.records.all()}
    assert RecordStatus.IDENTIFIED in statuses
    assert all(p.response_loaded_at for p in IdentificationPackage.objects.all())
    assert Policy.objects.filter(source=Policy.Source.IDENTIFICATION).exists()


def test_emulator_answers_in_doctp_naming_are_loaded(package, smo):
    from identification.services import identification_response_load

    from .conftest import request_rows

    rows = request_rows(package)
    register = ident.parse_register(
        {
            "persons": [
                {
                    "bdzid": 1,
                    "fam": rows[0]["FAM"],
                    "im": rows[0]["IM"],
                    "ot": rows[0]["OT"],
                    "dr": rows[0]["DR"].isoformat(),
                    "w": rows[0]["W"],
                    "snils": rows[0]["SS"].replace("-", "").replace(" ", ""),
                    "policies": [
                        {
                            "type": 3,
                            "ser": "",
                            "num": "",
                            "enp": "5956410834000014",
                            "smo": "59021",
                            "smo_ogrn": smo.ogrn,
                            "okato": "57000",
                            "dbeg": "2020-01-01",
                            "dend": None,
                        }
                    ],
                },
                {
                    "bdzid": 2,
                    "fam": rows[1]["FAM"],
                    "im": rows[1]["IM"],
                    "ot": rows[1]["OT"],
                    "dr": rows[1]["DR"].isoformat(),
                    "w": rows[1]["W"],
                    "snils": rows[1]["SS"].replace("-", "").replace(" ", ""),
                    "policies": [],
                    "errors": [["Р04", "Расхождение ФИО с данными РС ЕРЗ"]],
                },
            ]
        }
    )
    answer = ident.answer_request(bytes(package.request_file), register)
    result = identification_response_load(file_name=package.file_name, data=answer)
    assert (result.identified, result.not_identified) == (1, 2)
    records = {r.person.last_name: r for r in package.records.select_related("person")}
    assert records["Иванов"].status == RecordStatus.IDENTIFIED
    assert records["Петров"].error_codes == ["Р04"]
    assert records["Сидоров"].error_codes == ["Р01"]
