"""The command line, the stdout line per message, and the rule that the emulator imports nothing of ours."""

from __future__ import annotations

import subprocess
import sys

from tfoms_emulator import Emulator, Faults
from tfoms_emulator.__main__ import parse_args
from tfoms_emulator.checks import snils_control, snils_valid
from tfoms_emulator.server import DEFAULT_URL, amqp_url, connection_parameters, describe

from .samples import REPO, district, props

PORTAL_PACKAGES = {
    "tfoms_portal",
    "registry",
    "servicelog",
    "attachment",
    "hospitalisation",
    "identification",
    "prophylaxis",
    "django",
    "rest_framework",
    "celery",
}


def test_serve_is_the_default_command():
    args = parse_args(["--reject-ratio", "0.5", "--seed", "3", "--queue-prefix", "t."])
    assert (args.command, args.reject_ratio, args.seed, args.queue_prefix) == ("serve", 0.5, 3, "t.")
    assert parse_args([]).command == "serve"
    assert parse_args([]).queue_prefix == "tfoms."
    args = parse_args(["push", "POLIS", "f.xml", "--amqp", "amqp://x"])
    assert (args.command, args.type, str(args.file), args.amqp) == ("push", "POLIS", "f.xml", "amqp://x")
    assert parse_args(["declare"]).command == "declare"


def test_broker_url_defaults(monkeypatch):
    monkeypatch.delenv("TFOMS_AMQP_URL", raising=False)
    assert amqp_url() == DEFAULT_URL
    monkeypatch.setenv("TFOMS_AMQP_URL", "amqp://u:p@h:5673/v")
    assert amqp_url() == "amqp://u:p@h:5673/v"
    assert amqp_url("amqp://other") == "amqp://other"
    assert connection_parameters(DEFAULT_URL).heartbeat == 60
    assert connection_parameters(DEFAULT_URL + "?heartbeat=5").heartbeat == 5


def test_one_line_per_message():
    emulator = Emulator(faults=Faults(duplicate_ratio=1.0))
    outcome = emulator.process("DISTRICT", props("ABC"), district("Update", 7))
    line = describe(outcome, delay=2)
    assert line.startswith("DISTRICT ABC Update → ERROR 904 Участок не найден")
    assert "[ответ продублирован (имитация)]" in line and "[задержка 2 с]" in line
    outcome = Emulator().process("DISTRICT", props("DEF"), district("Insert", 7))
    assert describe(outcome) == "DISTRICT DEF Insert → OK"


def test_snils_examples_of_the_reference():
    assert snils_control("112233445") == 95
    assert snils_control("123456789") == 64
    assert snils_control("100018999") == 0
    assert snils_control("100019899") == 0
    assert snils_control("087654303") == 0
    assert snils_valid("001-001-998 01")  # below the threshold: not checked
    assert not snils_valid("001-001-999 01")


def test_the_emulator_imports_no_module_of_the_portal():
    code = (
        "import sys, tfoms_emulator, tfoms_emulator.server, tfoms_emulator.__main__; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not PORTAL_PACKAGES & set(loaded)
