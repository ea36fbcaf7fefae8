"""Shared data of the prophylaxis tests: a plan of МО A with three persons of one СМО."""

from __future__ import annotations

import pytest

from tests.factories import make_plan


@pytest.fixture
def plan(mo_a):
    return make_plan(mo_a)
