"""The production processes start with the exact commands of docker-compose.yml (R2, DESIGN §4)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# The commands of the compose services; test_compose.py checks the compose file says exactly these.
PROCESS_COMMANDS: dict[str, list[str]] = {
    "migrate": ["python", "manage.py", "migrate", "--no-input"],
    "web": [
        "gunicorn",
        "tfoms_portal.wsgi",
        "--bind",
        "0.0.0.0:8000",
        "--workers",
        "3",
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--access-logfile",
        "-",
    ],
    "worker": ["celery", "-A", "tfoms_portal", "worker", "-l", "INFO"],
    "beat": ["celery", "-A", "tfoms_portal", "beat", "-l", "INFO", "--schedule", "/tmp/celerybeat-schedule"],
    "consumer": ["python", "manage.py", "runconsumer"],
    "emulator": ["python", "-m", "tfoms_emulator", "serve"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _argv(command: list[str], **replace: str) -> list[str]:
    """The compose command runnable here: the venv's executables, some arguments swapped."""
    argv = [replace.get(arg, arg) for arg in command]
    first = BIN / argv[0]
    argv[0] = str(first) if first.exists() else sys.executable
    return argv


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY_FILE"}}
    env.update(
        SECRET_KEY="process-test-secret-key-" + "x" * 40, ALLOWED_HOSTS="127.0.0.1", SECURE_COOKIES="true"
    )
    if not env.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env.update(extra)
    return env


def _wait_for_output(proc: subprocess.Popen[str], needle: str, timeout: float = 60) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"{needle!r} not seen; output:\n{''.join(seen)[-3000:]}")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_web_serves_healthz_with_production_settings(tmp_path):
    port = _free_port()
    argv = _argv(PROCESS_COMMANDS["web"], **{"0.0.0.0:8000": f"127.0.0.1:{port}", "3": "1"})
    # production has Celery's broker (the deploy check refuses page work in web threads, tfoms.E004)
    env = _env(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    assert b'"database": {"ok": true' in response.read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        _stop(proc)


def test_web_refuses_to_start_with_debug_on(tmp_path):
    port = _free_port()
    argv = _argv(PROCESS_COMMANDS["web"], **{"0.0.0.0:8000": f"127.0.0.1:{port}", "3": "1"})
    result = subprocess.run(
        argv, cwd=ROOT, env=_env(tmp_path, DEBUG="true"), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "tfoms.E002" in result.stdout + result.stderr


def test_migrate_command_runs(tmp_path):
    env = _env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'migrate.sqlite3'}")
    result = subprocess.run(
        _argv(PROCESS_COMMANDS["migrate"]), cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "Applying registry.0001_initial... OK" in result.stdout


@pytest.mark.redis
def test_celery_worker_starts(tmp_path):
    env = _env(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:6379/15")
    argv = [*_argv(PROCESS_COMMANDS["worker"]), "--pool", "solo", "--without-mingle", "--without-gossip"]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_output(proc, "ready.")
    finally:
        _stop(proc)


@pytest.mark.redis
def test_celery_beat_starts(tmp_path):
    env = _env(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:6379/15")
    argv = _argv(PROCESS_COMMANDS["beat"], **{"/tmp/celerybeat-schedule": str(tmp_path / "beat-schedule")})
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_output(proc, "beat: Starting")
    finally:
        _stop(proc)


def _delete_queues(url: str, names: list[str]) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    for name in names:
        channel.queue_delete(name)
    connection.close()


@pytest.mark.amqp
def test_consumer_starts_and_stops_on_sigterm(tmp_path):
    prefix = f"proc{os.getpid()}."
    env = _env(tmp_path, TFOMS_QUEUE_PREFIX=prefix)
    proc = subprocess.Popen(
        _argv(PROCESS_COMMANDS["consumer"]),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_output(proc, "consumer ready")
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=20)[0]
        assert proc.returncode == 0 and "consumer stopped" in rest
    finally:
        _stop(proc)
        _delete_queues(
            env["TFOMS_AMQP_URL"],
            [
                f"{prefix}{q}"
                for q in (
                    "tfoms.from_mis",
                    "tfoms.from_mis.answer",
                    "tfoms.to_mis",
                    "tfoms.to_mis.answer",
                    "iszl.request",
                    "iszl.reply",
                    "iszl.rpc",
                )
            ],
        )


EMULATOR_QUEUES = ("from_mis", "from_mis.answer", "to_mis", "to_mis.answer", "iszl.request", "iszl.reply")


@pytest.mark.amqp
def test_emulator_starts_and_stops_on_sigterm(tmp_path):
    prefix = f"emu{os.getpid()}."
    env = _env(tmp_path)
    argv = [
        *_argv(PROCESS_COMMANDS["emulator"]),
        *("--queue-prefix", prefix, "--iszl-request", f"{prefix}iszl.request"),
        *("--iszl-reply", f"{prefix}iszl.reply"),
    ]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_output(proc, "ready")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
        assert proc.returncode == 0
    finally:
        _stop(proc)
        _delete_queues(
            env["TFOMS_AMQP_URL"],
            [f"{prefix}{q}" for q in EMULATOR_QUEUES],
        )
