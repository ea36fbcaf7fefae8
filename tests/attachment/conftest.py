"""The in-process broker and fund (locmem backend + emulator), fresh for each test that asks."""

import pytest

import tfoms_emulator
from tfoms_portal import messaging


@pytest.fixture
def locmem(settings):
    settings.TFOMS_AMQP_URL = ""
    settings.TFOMS_QUEUE_PREFIX = ""
    messaging.reset_backend()
    tfoms_emulator.reset()
    yield messaging.get_backend()
    messaging.reset_backend()
    tfoms_emulator.reset()
