"""docker-compose.yml is kept true by reading it against the commands the process tests run (R2)."""

from pathlib import Path

import yaml

from .test_processes import PROCESS_COMMANDS

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_every_portal_service_runs_a_tested_command():
    services = compose()["services"]
    portal = {name: svc for name, svc in services.items() if svc.get("image") == "tfoms-portal"}
    assert {name: svc["command"] for name, svc in portal.items()} == PROCESS_COMMANDS


def test_portal_services_get_the_backing_services():
    services = compose()["services"]
    assert {"postgres", "rabbitmq", "redis"} <= set(services)
    web = services["web"]
    assert web["environment"]["DATABASE_URL"].startswith("postgres://")
    assert web["environment"]["CELERY_BROKER_URL"] != web["environment"]["TFOMS_AMQP_URL"]
    assert web["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_dockerfile_installs_the_pinned_runtime_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "requirements.lock" in dockerfile and "USER " in dockerfile
    assert "collectstatic" in dockerfile
