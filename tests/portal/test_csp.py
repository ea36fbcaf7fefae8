"""The content security policy (issue 16 item 5): every page is sent with a policy that allows
scripts and styles only from our own files, and no page carries what that policy would block — an
inline script, a handler attribute, a style attribute or element. The browser tier checks the same in
Chromium on every page it opens (tests/browser/conftest.py)."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from lxml import html

from servicelog.runs import run_open
from tests.factories import PersonFactory, journal_package

pytestmark = pytest.mark.django_db


def _plain_page_urls() -> list[str]:
    """Every page without a parameter in its address (the API and the admin aside)."""
    urls = []

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if not route.startswith(("api/", "admin/")):
                    walk(pattern.url_patterns, route)
            elif "<" not in route and not route.startswith(("api/", "admin/")) and pattern.name:
                urls.append(reverse(pattern.name))

    walk(get_resolver().url_patterns, "")
    return sorted(set(urls))


def blocked_by_the_policy(page: str) -> list[str]:
    tree = html.fromstring(page)
    found = [
        f"inline <script> {(script.text or '')[:60]!r}"
        for script in tree.iter("script")
        if not script.get("src") and script.get("type") != "application/json"
    ]
    found += ["<style> element" for _ in tree.iter("style")]
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        found += [f"<{element.tag} {name}=…>" for name in element.attrib if name.startswith("on")]
        found += [
            f"<{element.tag} {name}=javascript:…>"
            for name in ("href", "src", "action", "formaction")
            if element.get(name, "").strip().lower().startswith("javascript:")
        ]
        if "style" in element.attrib:
            found.append(f"<{element.tag} style=…>")
        trigger = element.get("hx-trigger", "")
        if "[" in trigger:  # an htmx trigger filter is evaluated JavaScript
            found.append(f"<{element.tag} hx-trigger={trigger!r}>")
    return found


def test_every_page_is_sent_with_a_strict_policy_and_carries_nothing_it_would_block(enter, dc_admin):
    run = run_open("tfoms_auto", mo=dc_admin.mo)
    service = run.service
    package = journal_package(run, dc_admin.mo)
    person = PersonFactory()
    client = enter(dc_admin)
    urls = [
        *_plain_page_urls(),
        f"{reverse('journal')}?service={service.code}&run={run.pk}",
        f"{reverse('journal_print')}?service={service.code}&run={run.pk}",
        reverse("journal_package", args=[package.pk]),
        f"{reverse('journal')}?service={service.code}&run={run.pk}&tab=log",
        reverse("person_card", args=[person.pk]),
    ]
    checked = 0
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy, url
        page = b"".join(response.streaming_content) if response.streaming else response.content
        assert blocked_by_the_policy(page.decode()) == [], url
        checked += 1
    assert checked >= 15, checked  # the walk really reached the portal's pages


def test_the_error_pages_and_the_login_page_too(enter, mo_admin_a, statistician_a, client, settings):
    from tfoms_portal.errors import PLAIN

    settings.DEBUG = False
    assert blocked_by_the_policy(PLAIN) == []
    assert blocked_by_the_policy(render_to_string("500.html", {})) == []
    missing = enter(mo_admin_a).get("/persons/999999/")
    forbidden = enter(statistician_a).get("/admin/registry/person/", follow=True)
    assert (missing.status_code, forbidden.status_code) == (404, 403)
    for page in (missing, forbidden):
        assert "data-history-back" in page.content.decode()
        assert blocked_by_the_policy(page.content.decode()) == []
    response = client.get(reverse("login"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert blocked_by_the_policy(response.content.decode()) == []
