"""Hardened XML parsing, XSD loading and validation for the emulator (lxml, no DTDs, no network)."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_MESSAGES = 20

# Characters XML 1.0 cannot carry; removed from texts we put into our own packages.
_NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


class XmlRefused(ValueError):
    """The bytes are not an acceptable XML document (malformed, DOCTYPE, too large)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 cannot represent."""
    return _NOT_XML_CHARS.sub("", text)


def parse(body: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted bytes: size limit, no DOCTYPE at all, no entities, no network."""
    if not body or not body.strip():
        raise XmlRefused("Пустой пакет")
    if len(body) > max_bytes:
        raise XmlRefused(f"Пакет больше допустимого размера ({len(body)} > {max_bytes} байт)")
    # The byte scan catches ASCII-compatible encodings before libxml2 sees the internal subset;
    # the docinfo check below catches the rest (UTF-16 and the like).
    if _DOCTYPE.search(body):
        raise XmlRefused("Объявление DOCTYPE в пакете не допускается")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        message = getattr(exc, "msg", None) or str(exc)
        raise XmlRefused(f"Пакет не является корректным XML: {xml_safe(message)}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlRefused("Объявление DOCTYPE в пакете не допускается")
    return root


def load_schema(path: Path) -> etree.XMLSchema:
    """Our own XSD file read as data (still through the hardened parser)."""
    return etree.XMLSchema(etree.parse(str(path), _parser()))


def validate(schema: etree.XMLSchema, root: etree._Element) -> list[str]:
    """The schema's messages for `root` (empty when valid), at most MAX_MESSAGES of them."""
    if schema.validate(root):
        return []
    errors = [f"Строка {e.line}: {xml_safe(e.message)}" for e in schema.error_log]
    if len(errors) > MAX_MESSAGES:
        errors = [*errors[:MAX_MESSAGES], f"… и ещё {len(errors) - MAX_MESSAGES} ошибок"]
    return errors or ["Пакет не соответствует XSD"]


def text(root: etree._Element, path: str) -> str | None:
    """Stripped text of the first element at `path` (None when absent; '' when empty)."""
    found = root.find(path)
    if found is None:
        return None
    return (found.text or "").strip()
