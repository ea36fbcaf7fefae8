"""The one hardened XML parser of the portal (no DTD, no entities, no network, bounded), XSDs and output."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_SCHEMA_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ERRORS = 100

_DOCTYPE_REFUSED = "XML-документ содержит объявление DOCTYPE, такие документы не принимаются."
_XS = "{http://www.w3.org/2001/XMLSchema}"
_SCHEMA_LINKS = (f"{_XS}include", f"{_XS}import", f"{_XS}redefine", f"{_XS}override")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_SPACES = re.compile(rb"[ \t\r\n]*")


class XmlRejected(ValueError):
    """The document is refused; the message is Russian and safe to show to a user."""


class SchemaRejected(XmlRejected):
    """An XSD (or a file it includes) cannot be loaded; the message is Russian."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _has_doctype(root: etree._Element) -> bool:
    docinfo = root.getroottree().docinfo
    return bool(docinfo.doctype) or docinfo.internalDTD is not None or docinfo.externalDTD is not None


def _prolog_has_doctype(data: bytes) -> bool:
    """Whether a DOCTYPE follows the BOM, whitespace, comments and PIs (the only place it may stand)."""
    position = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while True:
        match = _SPACES.match(data, position)
        position = match.end() if match else position
        for opening, closing in ((b"<?", b"?>"), (b"<!--", b"-->")):
            if data.startswith(opening, position):
                end = data.find(closing, position + len(opening))
                if end < 0:
                    return False
                position = end + len(closing)
                break
        else:
            return data.startswith(b"<!DOCTYPE", position)


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse bytes into an element tree, refusing DOCTYPEs (so entities and DTDs), oversize and garbage."""
    if len(data) > max_bytes:
        raise XmlRejected(f"XML-документ слишком велик: {len(data)} байт, допустимо не более {max_bytes}.")
    # Refused before libxml2 sees the DTD at all; the check after parsing covers other encodings.
    if _prolog_has_doctype(data):
        raise XmlRejected(_DOCTYPE_REFUSED)
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"Документ не является корректным XML: {exc.msg}") from exc
    if _has_doctype(root):
        raise XmlRejected(_DOCTYPE_REFUSED)
    return root


def serialize(
    root: etree._Element,
    encoding: str = "windows-1251",
    *,
    pretty_print: bool = False,
    standalone: bool = False,
) -> bytes:
    """Serialize an element with a double-quoted XML declaration (`standalone="yes"` when asked, as
    order 88's files have it); unencodable characters become &#N;."""
    extra = ' standalone="yes"' if standalone else ""
    declaration = f'<?xml version="1.0" encoding="{encoding}"{extra}?>\n'.encode("ascii")
    body: bytes = etree.tostring(root, encoding=encoding, xml_declaration=False, pretty_print=pretty_print)
    return declaration + body


# --- XSD -------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Schema:
    """A compiled XSD with the files it was built from (for cache invalidation) and a validation lock."""

    path: Path
    files: dict[Path, tuple[int, int]]  # file -> (mtime_ns, size) when compiled
    xmlschema: etree.XMLSchema
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


_schemas: dict[Path, Schema] = {}
_schemas_lock = threading.Lock()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _read_schema_file(path: Path, max_bytes: int) -> tuple[bytes, etree._Element]:
    stamp = _stamp(path)
    if stamp is None or not path.is_file():
        raise SchemaRejected(f"XSD-схема не найдена: {path.name}.")
    if stamp[1] > max_bytes:
        raise SchemaRejected(f"XSD-схема {path.name} слишком велика: {stamp[1]} байт.")
    data = path.read_bytes()
    try:
        return data, parse_xml(data, max_bytes=max_bytes)
    except XmlRejected as exc:
        raise SchemaRejected(f"XSD-схема {path.name} отклонена: {exc}") from exc


def _linked_file(owner: Path, location: str) -> Path:
    """The local file an xs:include/xs:import/xs:redefine points to; anything but a local path is refused."""
    if not location or _URL_SCHEME.match(location) or location.startswith(("//", "\\")):
        raise SchemaRejected(
            f"XSD-схема {owner.name} ссылается на «{location}»: допускаются только локальные файлы."
        )
    return (owner.parent / location).resolve()


def _collect_schema_files(main: Path, max_bytes: int) -> dict[Path, bytes]:
    """Read the schema and every schema it links to, each checked with the hardened parser."""
    files: dict[Path, bytes] = {}
    pending = [main]
    while pending:
        path = pending.pop()
        if path in files:
            continue
        files[path], root = _read_schema_file(path, max_bytes)
        for link in root.iter(*_SCHEMA_LINKS):
            location = link.get("schemaLocation")
            if location is not None:
                pending.append(_linked_file(path, location.strip()))
    return files


class _LocalFilesResolver(etree.Resolver):
    """Serves libxml2 only the schema files already read and checked; anything else gets an empty answer."""

    def __init__(self, files: dict[Path, bytes]) -> None:
        super().__init__()
        self._files = {str(path): data for path, data in files.items()}

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> object:
        url = unquote((system_url or "").removeprefix("file://"))
        if url.startswith("/"):
            url = str(Path(url).resolve())
        data = self._files.get(url)
        if data is None:
            return self.resolve_string(b"<refused/>", context)
        return self.resolve_string(data, context, base_url=url)


def _compile(main: Path, max_bytes: int) -> Schema:
    files = _collect_schema_files(main, max_bytes)
    parser = _parser()
    parser.resolvers.add(_LocalFilesResolver(files))
    try:
        root = etree.fromstring(files[main], parser=parser, base_url=str(main))
        xmlschema = etree.XMLSchema(root)
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise SchemaRejected(f"XSD-схема {main.name} некорректна: {exc}") from exc
    stamps = {path: _stamp(path) or (0, 0) for path in files}
    return Schema(path=main, files=stamps, xmlschema=xmlschema)


def load_schema(path: str | Path, *, max_bytes: int = DEFAULT_MAX_SCHEMA_BYTES) -> Schema:
    """Compile a local XSD (with its local includes/imports), cached until any of its files changes."""
    main = Path(path).resolve()
    with _schemas_lock:
        cached = _schemas.get(main)
        if cached is not None and all(_stamp(p) == stamp for p, stamp in cached.files.items()):
            return cached
        schema = _compile(main, max_bytes)
        _schemas[main] = schema
        return schema


def validate(
    root: etree._Element, schema: Schema | str | Path, *, max_errors: int = DEFAULT_MAX_ERRORS
) -> list[str]:
    """Validate against an XSD; return readable lines ("строка N: …" or "/path: …"), empty when valid."""
    if not isinstance(schema, Schema):
        schema = load_schema(schema)
    with schema.lock:
        if schema.xmlschema.validate(root):
            return []
        entries = list(schema.xmlschema.error_log)
    lines = []
    for entry in entries[:max_errors]:
        where = f"строка {entry.line}" if entry.line > 0 else (entry.path or "документ")
        lines.append(f"{where}: {entry.message}")
    if len(entries) > max_errors:
        lines.append(f"… и ещё ошибок: {len(entries) - max_errors}.")
    if not lines:
        lines.append("документ не соответствует XSD-схеме.")
    return lines
