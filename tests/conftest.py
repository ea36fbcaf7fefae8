"""Shared fixtures: two МО, a user per role, clients already inside their workplace."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from registry.access import SESSION_MO, SESSION_WORKPLACE
from registry.models import Role, UserProfile, Workplace

from .factories import MoFactory, WorkplaceFactory


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def tier_missing(marker: str) -> str:
    """Why a test tier cannot run here ('' when it can). CI provides every tier and allows no skip."""
    if marker == "browser" and not shutil.which("chromium"):
        return "needs Debian's chromium on PATH (apt-get install chromium)"
    if marker == "postgres" and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return "needs DATABASE_URL=postgres://… (PostgreSQL)"
    if marker == "amqp" and not os.environ.get("TFOMS_AMQP_URL", "").startswith("amqp"):
        return "needs TFOMS_AMQP_URL=amqp://… (RabbitMQ)"
    if marker == "redis" and not _port_open("127.0.0.1", 6379):
        return "needs redis on 127.0.0.1:6379 (the Celery broker of the process tests)"
    return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker in ("browser", "postgres", "amqp", "redis"):
            reason = item.get_closest_marker(marker) and tier_missing(marker)
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"tier {marker}: {reason}"))


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def background_inline(settings):
    """A page's background work runs in the request in tests, so each test sees its end; the tests
    of the background itself (and the browser tier) switch to threads."""
    settings.TFOMS_BACKGROUND = "inline"


@pytest.fixture
def mo_a():
    return MoFactory(code="590001", name_short="ГКБ № 1")


@pytest.fixture
def mo_b():
    return MoFactory(code="590002", name_short="Поликлиника № 2")


@pytest.fixture
def enter() -> Callable[[Workplace], Client]:
    """A client logged in and working in `workplace`, as after the МО and АРМ choice."""

    def make(workplace: Workplace) -> Client:
        client = Client()
        client.force_login(workplace.user)
        session = client.session
        session[SESSION_WORKPLACE] = workplace.pk
        session[SESSION_MO] = workplace.mo_id
        session.save()
        UserProfile.objects.update_or_create(user=workplace.user, defaults={"default_workplace": workplace})
        return client

    return make


@pytest.fixture
def mo_admin_a(mo_a) -> Workplace:
    return WorkplaceFactory(user__username="mo_admin_a", mo=mo_a, role=Role.MO_ADMIN)


@pytest.fixture
def mo_admin_b(mo_b) -> Workplace:
    return WorkplaceFactory(user__username="mo_admin_b", mo=mo_b, role=Role.MO_ADMIN)


@pytest.fixture
def dc_admin(mo_a) -> Workplace:
    return WorkplaceFactory(user__username="dc", mo=mo_a, role=Role.DC_ADMIN)


@pytest.fixture
def statistician_a(mo_a) -> Workplace:
    return WorkplaceFactory(user__username="stat_a", mo=mo_a, role=Role.STATISTICIAN)


@pytest.fixture
def locmem(settings):
    """The in-process broker and fund (locmem backend + emulator), fresh for each test that asks."""
    import tfoms_emulator
    from tfoms_portal import messaging

    settings.TFOMS_AMQP_URL = ""
    settings.TFOMS_QUEUE_PREFIX = ""
    messaging.reset_backend()
    tfoms_emulator.reset()
    yield messaging.get_backend()
    messaging.reset_backend()
    tfoms_emulator.reset()


@pytest.fixture
def post_committed(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """client.post whose after-commit work (an RPC call's publish) runs as it would in production."""

    def post(client: Client, url: str, data: Any = None, **extra: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {}, **extra)

    return post
