"""Template filters for registry pages: СНИЛС as people read it, NSI codes with their names."""

from __future__ import annotations

from django import template

from registry import checkdigits

register = template.Library()


@register.filter
def snils(value: str) -> str:
    return checkdigits.snils_format(value) if value else "—"


@register.filter
def nsi_name(code: object, names: dict[str, str]) -> str:
    """`{{ doc.doc_type|nsi_name:card.nsi.F011 }}` → "14 — Паспорт гражданина Российской Федерации"."""
    name = names.get(str(code), "") if names else ""
    return f"{code} — {name}" if name else str(code)
