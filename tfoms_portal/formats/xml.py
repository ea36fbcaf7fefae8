"""The one hardened XML parser of the portal: no DTD, no entities, no network, bounded size."""

from __future__ import annotations

from lxml import etree

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


class XmlRejected(ValueError):
    """The document is refused; the message is Russian and safe to show to a user."""


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


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse bytes into an element tree, refusing DOCTYPEs (so entities and DTDs), oversize and garbage."""
    if len(data) > max_bytes:
        raise XmlRejected(f"XML-документ слишком велик: {len(data)} байт, допустимо не более {max_bytes}.")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"Документ не является корректным XML: {exc.msg}") from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlRejected("XML-документ содержит объявление DOCTYPE, такие документы не принимаются.")
    return root
