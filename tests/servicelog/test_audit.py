"""The audit trail, recording side (A5): one function records who, when, from where, what, outcome."""

import pytest
from django.db import DatabaseError, transaction
from django.test import RequestFactory

from servicelog.audit import audit_record
from servicelog.models import AuditAction, AuditEvent
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_audit_record_keeps_who_where_what_and_outcome(mo_admin_a):
    request = RequestFactory().get("/persons/1/", REMOTE_ADDR="10.1.2.3")
    request.user = mo_admin_a.user
    request.workplace = mo_admin_a
    person = PersonFactory()
    event = audit_record(action=AuditAction.PERSON_VIEWED, request=request, obj=person, details={"k": 1})
    event.refresh_from_db()
    assert event.username == "mo_admin_a" and event.user_id == mo_admin_a.user_id
    assert event.mo_id == mo_admin_a.mo_id and event.workplace == "mo_admin"
    assert event.ip == "10.1.2.3"
    assert (event.object_type, event.object_id) == ("registry.Person", str(person.pk))
    assert event.outcome == "успешно" and event.details == {"k": 1}


def test_failed_login_without_user_keeps_the_typed_name(client):
    client.post("/login/", {"username": "ghost", "password": "x"})
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.user_id is None and event.username == "ghost" and event.ip == "127.0.0.1"


@pytest.mark.postgres
def test_postgres_refuses_to_change_or_delete_audit_rows():
    event = audit_record(action=AuditAction.LOGIN, username="someone")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(outcome="подделано")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.outcome == "успешно"


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("10.0.0.5", "1.2.3.4", [], "10.0.0.5"),  # a client cannot claim another address
        ("10.0.0.5", "1.2.3.4", ["10.0.0.5"], "1.2.3.4"),  # our proxy's word is taken
        ("10.0.0.5", "6.6.6.6, 1.2.3.4", ["10.0.0.5"], "1.2.3.4"),  # the hop our proxy saw, not a forged one
        ("10.0.0.5", "not-an-ip", ["10.0.0.5"], "10.0.0.5"),  # garbage never reaches the inet column
        ("garbage", "", [], None),
    ],
)
def test_client_address_believes_only_our_proxies(settings, remote, forwarded, trusted, expected):
    from servicelog.audit import client_ip

    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_forged_forwarded_header_does_not_escape_throttling(client, mo_admin_a, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    for n in range(2):
        client.post(
            "/login/", {"username": "mo_admin_a", "password": "x"}, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}"
        )
    page = client.post(
        "/login/", {"username": "mo_admin_a", "password": "secret-pass-1"}, HTTP_X_FORWARDED_FOR="10.9.9.9"
    ).content.decode()
    assert "Слишком много неудачных попыток" in page
    assert set(AuditEvent.objects.values_list("ip", flat=True)) == {"127.0.0.1"}
