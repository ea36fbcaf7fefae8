"""Template filters of the journal: package types by their Russian titles, grouped data readably."""

from typing import Any

from django import template
from django.utils.html import format_html

from servicelog.registry import package_type_title

register = template.Library()


@register.filter
def type_title(code: str) -> str:
    """`{{ p.package_type|type_title }}` → "Участки" for DISTRICT (manual §4.2)."""
    return package_type_title(str(code))


@register.filter
def data_value(value: object) -> str:
    """A package data value for people: a group (SV_PL_MER) as "PERIOD: 4; DISP: ОН1", a list one
    item after another, text as it is."""
    if isinstance(value, dict):
        return "; ".join(f"{key}: {data_value(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(data_value(item) for item in value)
    return "" if value is None else str(value)


_PANE_TARGETS = {
    "journal": "#journal",
    "right": "#journal-right",
    "runs": "#pane-runs",
    "detail": "#pane-detail",
}


@register.simple_tag
def jlink(state: Any, pane: str = "", **changes: Any) -> str:
    """The journal's address with `changes` (servicelog.journal_views.JournalState.url)."""
    return str(state.url(pane, **changes))


@register.simple_tag
def jnav(state: Any, pane: str, **changes: Any) -> str:
    """A link's attributes that replace one journal pane (htmx) and still work without JavaScript:
    `<a {% jnav state "right" page=2 %}>`."""
    return format_html(
        'href="{}" hx-get="{}" hx-target="{}" hx-swap="outerHTML" hx-sync="#journal:replace"',
        state.url(**changes),
        state.url(pane, **changes),
        _PANE_TARGETS[pane],
    )  # the server sets the browser's address (HX-Push-Url): the page's, never the pane's
