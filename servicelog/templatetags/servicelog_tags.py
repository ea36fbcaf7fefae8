"""Template filters of the journal: package types by their Russian titles, grouped data readably."""

from django import template

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
