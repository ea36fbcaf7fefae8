"""The hardened XML parser against a hostile corpus; cached XSD validation with readable errors."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from lxml.builder import E

from tfoms_portal.formats.xml import (
    DEFAULT_MAX_BYTES,
    SchemaRejected,
    XmlRejected,
    load_schema,
    parse_xml,
    serialize,
    validate,
)

MARKER = "SECRET-MARKER-7f3a"
DOCTYPE_REFUSED = "XML-документ содержит объявление DOCTYPE, такие документы не принимаются."


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(MARKER)
    return path


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local TCP port that records whether anything tried to connect."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    yield server
    server.close()


def _nobody_connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False


def _refused(data: bytes) -> str:
    with pytest.raises(XmlRejected) as info:
        parse_xml(data)
    message = str(info.value)
    assert MARKER not in message
    return message


def test_plain_document_is_parsed() -> None:
    root = parse_xml('<?xml version="1.0" encoding="windows-1251"?><R><A>Иванов</A></R>'.encode("cp1251"))
    assert root.findtext("A") == "Иванов"


def test_xxe_file_entity_is_refused_without_leaking(secret_file: Path) -> None:
    doc = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret_file}">]><r>&x;</r>'
    assert _refused(doc.encode()) == DOCTYPE_REFUSED


def test_xxe_etc_passwd_is_refused() -> None:
    doc = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    message = _refused(doc)
    assert message == DOCTYPE_REFUSED
    assert "root:" not in message


def test_xxe_network_entity_is_refused_without_connecting(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    for url in (f"http://127.0.0.1:{port}/", "http://127.0.0.1:9/"):
        doc = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{url}">]><r>&x;</r>'
        assert _refused(doc.encode()) == DOCTYPE_REFUSED
    assert _nobody_connected(listener)


def test_billion_laughs_is_refused() -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    doc = f'<?xml version="1.0"?><!DOCTYPE r [{"".join(entities)}]><r>&lol9;</r>'
    assert _refused(doc.encode()) == DOCTYPE_REFUSED


def test_quadratic_blowup_is_refused() -> None:
    doc = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "{"x" * 50_000}">]><r>{"&a;" * 10_000}</r>'
    assert _refused(doc.encode()) == DOCTYPE_REFUSED


def test_external_dtd_is_refused(secret_file: Path, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    for system_id in (f"file://{secret_file}", f"http://127.0.0.1:{port}/x.dtd", str(secret_file)):
        doc = f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{system_id}"><r/>'
        assert _refused(doc.encode()) == DOCTYPE_REFUSED
    assert _nobody_connected(listener)


def test_parameter_entities_are_refused(secret_file: Path, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    for url in (f"file://{secret_file}", f"http://127.0.0.1:{port}/p.dtd"):
        doc = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "{url}"> %p;]><r/>'
        assert _refused(doc.encode()) == DOCTYPE_REFUSED
    # The classic out-of-band exfiltration shape.
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % file SYSTEM "file://{secret_file}">'
        f"<!ENTITY % eval \"<!ENTITY &#x25; leak SYSTEM 'http://127.0.0.1:{port}/?%file;'>\">"
        "%eval; %leak;]><r/>"
    )
    _refused(doc.encode())
    assert _nobody_connected(listener)


def test_oversized_document_is_refused() -> None:
    with pytest.raises(XmlRejected, match=r"^XML-документ слишком велик: 2001 байт, допустимо не более 2000"):
        parse_xml(b"<r>" + b"x" * 1994 + b"</r>", max_bytes=2000)
    with pytest.raises(XmlRejected, match=r"слишком велик"):
        parse_xml(b" " * (DEFAULT_MAX_BYTES + 1))


def test_invalid_xml_is_refused() -> None:
    for data in (b"<a><b></a>", b"", b"not xml at all", b"<r>&undefined;</r>", b"\xff\xfe<"):
        assert _refused(data).startswith("Документ не является корректным XML: ")


def test_deep_nesting_is_refused() -> None:
    depth = 5000
    assert _refused(b"<a>" * depth + b"</a>" * depth).startswith("Документ не является корректным XML")


# --- XSD -------------------------------------------------------------------------------------------

MAIN_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:include schemaLocation="types/common.xsd"/>
  <xs:element name="PACKET">
    <xs:complexType><xs:sequence>
      <xs:element name="FAM" type="Name" maxOccurs="unbounded"/>
      <xs:element name="W" type="xs:integer"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""

TYPES_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:simpleType name="Name"><xs:restriction base="xs:string">
    <xs:maxLength value="{length}"/>
  </xs:restriction></xs:simpleType>
</xs:schema>
"""


@pytest.fixture
def schema_path(tmp_path: Path) -> Path:
    (tmp_path / "types").mkdir()
    (tmp_path / "types" / "common.xsd").write_text(TYPES_XSD.format(length=5))
    main = tmp_path / "packet.xsd"
    main.write_text(MAIN_XSD)
    return main


def test_valid_document_has_no_errors(schema_path: Path) -> None:
    root = parse_xml("<PACKET><FAM>Иван</FAM><W>1</W></PACKET>".encode())
    assert validate(root, load_schema(schema_path)) == []
    assert validate(root, schema_path) == []


def test_errors_are_readable_lines_with_line_numbers(schema_path: Path) -> None:
    data = "<PACKET>\n<FAM>Иванов</FAM>\n<W>x</W>\n</PACKET>".encode()
    errors = validate(parse_xml(data), schema_path)
    assert len(errors) == 2
    assert errors[0].startswith("строка 2: Element 'FAM': [facet 'maxLength']")
    assert errors[1].startswith("строка 3: Element 'W': 'x' is not a valid value")


def test_errors_of_a_built_tree_name_the_element(schema_path: Path) -> None:
    errors = validate(E.PACKET(E.FAM("Иван"), E.FAM("Петрова"), E.W("1")), schema_path)
    assert errors == [
        "/PACKET/FAM[2]: Element 'FAM': [facet 'maxLength'] The value has a length of '7'; "
        "this exceeds the allowed maximum length of '5'."
    ]


def test_error_list_is_bounded(schema_path: Path) -> None:
    root = E.PACKET(*[E.FAM("слишком длинное") for _ in range(20)], E.W("1"))
    errors = validate(root, schema_path, max_errors=5)
    assert len(errors) == 6
    assert errors[-1] == "… и ещё ошибок: 15."


def test_schema_is_cached_until_an_included_file_changes(schema_path: Path) -> None:
    first = load_schema(schema_path)
    assert load_schema(str(schema_path)) is first
    included = schema_path.parent / "types" / "common.xsd"
    included.write_text(TYPES_XSD.format(length=10))
    stat = included.stat()
    os.utime(included, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_schema(schema_path)
    assert second is not first
    assert validate(E.PACKET(E.FAM("Петрова"), E.W("1")), second) == []


def _schema_with_include(tmp_path: Path, location: str) -> Path:
    path = tmp_path / "bad.xsd"
    path.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        f'<xs:include schemaLocation="{location}"/><xs:element name="A" type="xs:string"/></xs:schema>'
    )
    return path


def test_schema_network_include_is_refused(tmp_path: Path, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    for location in (f"http://127.0.0.1:{port}/x.xsd", f"//127.0.0.1:{port}/x.xsd"):
        with pytest.raises(SchemaRejected, match=r"допускаются только локальные файлы"):
            load_schema(_schema_with_include(tmp_path, location))
    assert _nobody_connected(listener)


def test_schema_file_url_include_is_refused(tmp_path: Path, schema_path: Path) -> None:
    with pytest.raises(SchemaRejected, match=r"допускаются только локальные файлы"):
        load_schema(_schema_with_include(tmp_path, f"file://{schema_path}"))


def test_schema_missing_include_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SchemaRejected, match=r"XSD-схема не найдена: missing.xsd"):
        load_schema(_schema_with_include(tmp_path, "missing.xsd"))


def test_schema_with_doctype_is_refused(tmp_path: Path, secret_file: Path) -> None:
    path = tmp_path / "evil.xsd"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE xs:schema [<!ENTITY x SYSTEM "file://{secret_file}">]>'
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:element name="A" type="xs:string" fixed="&x;"/></xs:schema>'
    )
    with pytest.raises(SchemaRejected) as info:
        load_schema(path)
    assert "DOCTYPE" in str(info.value)
    assert MARKER not in str(info.value)


def test_broken_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.xsd"
    path.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:bogus/></xs:schema>')
    with pytest.raises(SchemaRejected, match=r"^XSD-схема broken.xsd некорректна: "):
        load_schema(path)


def test_serialize_writes_a_double_quoted_declaration_in_the_encoding() -> None:
    data = serialize(E.R(E.FAM("Иванов"), E.X("é")))
    assert data.startswith(b'<?xml version="1.0" encoding="windows-1251"?>\n<R>')
    assert "Иванов".encode("cp1251") in data
    assert b"&#233;" in data  # outside windows-1251: a character reference, not a loss
    root = parse_xml(data)
    assert (root.findtext("FAM"), root.findtext("X")) == ("Иванов", "é")
    assert isinstance(root, etree._Element)


def test_doctype_after_comments_and_in_utf16_is_refused() -> None:
    doc = '<?xml version="1.0"?>\n<!-- a -->\n<?pi x?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'
    assert _refused(doc.encode()) == DOCTYPE_REFUSED
    utf16 = doc.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16")
    _refused(utf16)  # the byte scan cannot see it; libxml2 or the check after parsing refuses it
    assert parse_xml(b"<!-- <!DOCTYPE in a comment --><r/>").tag == "r"
