"""The identification form's state carried by every one of its forms (issue 15 item 4)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html_join

register = template.Library()


@register.simple_tag
def kept_fields(kept: dict[str, Any], skip: str = "") -> str:
    """Hidden fields for the state (period, "Показать", selection, column searches) but the names in
    `skip` (space-separated), which the form sets itself."""
    skipped = set(skip.split())
    return format_html_join(
        "",
        '<input type="hidden" name="{}" value="{}">',
        ((k, v) for k, v in kept.items() if k not in skipped),
    )
