"""Template filters of the journal: package types by their Russian titles."""

from django import template

from servicelog.registry import package_type_title

register = template.Library()


@register.filter
def type_title(code: str) -> str:
    """`{{ p.package_type|type_title }}` → "Участки" for DISTRICT (manual §4.2)."""
    return package_type_title(str(code))
