"""Benchmarks share the suite's fixtures; they are collected only by `make bench`."""

from tests.conftest import *  # noqa: F403
