"""Playwright (Python) driving Debian's chromium against a live server; screenshots per step."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One chromium per test module. While Playwright's sync API runs its event loop in this thread,
    Django's ORM calls from the test (fixtures, assertions) are still plain synchronous code."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield from _chromium(sync_playwright)
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _chromium(sync_playwright) -> Iterator[object]:
    with sync_playwright() as p:
        executable = shutil.which("chromium")
        assert executable, "chromium is not on PATH"
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request) -> Iterator[object]:
    context = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # Every browser test checks the content security policy too (issue 16 item 5): a blocked inline
    # script, handler, style or eval is reported by Chromium as an error on the console.
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    steps = iter(range(1, 100))

    def shot(name: str) -> None:
        page.screenshot(path=str(folder / f"{next(steps):02d}-{name}.png"), full_page=True)

    page.shot = shot  # type: ignore[attr-defined]
    yield page
    context.close()
    assert not blocked, f"the content security policy blocked: {blocked}"


@pytest.fixture(autouse=True)
def background_in_threads(settings, transactional_db) -> Iterator[None]:
    """As in the demo: what a page starts runs in the portal's worker threads, not in the request.
    Set up after the database, so the threads finish before it is emptied."""
    from tfoms_portal import background

    settings.TFOMS_BACKGROUND = "thread"
    yield
    background.wait_idle()


@pytest.fixture
def fund_in_process(settings) -> Iterator[None]:
    """The demo's exchange: the in-process broker and fund, and the consumer taking the fund's answers
    in a thread of its own, as `rundemo` runs it."""
    import threading

    import tfoms_emulator
    from servicelog.inbox import consume_forever
    from tfoms_portal import messaging

    settings.TFOMS_AMQP_URL = ""
    messaging.reset_backend()
    tfoms_emulator.reset()
    stop = threading.Event()
    consumer = threading.Thread(target=consume_forever, kwargs={"should_stop": stop.is_set}, daemon=True)
    consumer.start()
    yield
    stop.set()
    consumer.join(timeout=10)
    messaging.reset_backend()


def log_in(page, live_server, username: str, password: str = "secret-pass-1") -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
