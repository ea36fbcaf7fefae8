"""Fixtures of batch identification: a person queued in МО A, request and response DBFs built here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from identification.formats import REQUEST_FIELDS, REQUEST_NAMES
from identification.models import IdentificationPackage
from identification.services import ident_packages_form
from registry.models import Person
from registry.services import person_identification_request
from tests.factories import AttachmentFactory, DocumentFactory, PersonFactory, PolicyFactory, SmoFactory
from tfoms_portal.formats.dbf import read_dbf, write_dbf

RESULT_FIELDS = [
    "EERP C(10)",
    "REPL C(254)",
    "RQ C(5)",
    "RQOGRN C(13)",
    "ROKATO C(5)",
    "ROPDOC N(2,0)",
    "RSPOL C(10)",
    "RNPOL C(20)",
    "RENP C(16)",
    "RDBEG D",
    "RDEND D",
    "RPRZ C(5)",
]
DOCTP = {"C_DOC": "DOCTP", "S_DOC": "DOCS", "N_DOC": "DOCN"}


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.STORAGE_ROOT = tmp_path / "storage"
    return settings.STORAGE_ROOT


@pytest.fixture
def smo():
    return SmoFactory(code="59021", ogrn="1025900000006", name_short="СОГАЗ-Мед")


def queued_person(mo, **kw) -> Person:
    person = PersonFactory(**kw)
    AttachmentFactory(person=person, mo=mo)
    DocumentFactory(person=person)
    PolicyFactory(person=person, valid_from=dt.date(2015, 1, 1), enp="")
    person_identification_request(person=person, reason=Person.IdentificationReason.NEW_PERSON, mo=mo)
    return person


@pytest.fixture
def package(mo_a, django_capture_on_commit_callbacks) -> IdentificationPackage:
    for name in ("Иванов", "Петров", "Сидоров"):
        queued_person(mo_a, last_name=name)
    with django_capture_on_commit_callbacks(execute=True):
        (package,) = ident_packages_form(run=None, mo=mo_a, today=dt.date(2026, 11, 26))
    return package


def request_rows(package: IdentificationPackage) -> list[dict[str, Any]]:
    return [record.values for record in read_dbf(bytes(package.request_file)).records()]


def response_dbf(rows: list[dict[str, Any]], *, doc_names: str = "c_doc") -> bytes:
    """A response echoing request rows plus result fields (formats §1.4)."""
    specs = list(REQUEST_FIELDS)
    if doc_names == "doctp":
        specs = [f"{DOCTP.get(s.split()[0], s.split()[0])} {s.split(' ', 1)[1]}" for s in specs]
    out = []
    for row in rows:
        echoed = {DOCTP.get(n, n) if doc_names == "doctp" else n: row.get(n) for n in REQUEST_NAMES}
        results = {spec.split()[0]: row.get(spec.split()[0]) for spec in RESULT_FIELDS}
        out.append({**echoed, **results})
    return write_dbf(specs + RESULT_FIELDS, out)


def identified(
    row: dict[str, Any],
    *,
    enp="5956410834000014",
    ropdoc=3,
    dbeg=dt.date(2026, 1, 1),
    dend=None,
    rq="59021",
    rqogrn="1025900000006",
) -> dict[str, Any]:
    return {
        **row,
        "EERP": "",
        "REPL": "",
        "RQ": rq,
        "RQOGRN": rqogrn,
        "ROKATO": "57000",
        "ROPDOC": ropdoc,
        "RSPOL": "",
        "RNPOL": "",
        "RENP": enp,
        "RDBEG": dbeg,
        "RDEND": dend,
    }


def refused(row: dict[str, Any], repl: str) -> dict[str, Any]:
    return {**row, "EERP": "1", "REPL": repl}
