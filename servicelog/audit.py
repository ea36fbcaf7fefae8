"""Moved to the audit app; kept so old imports go on working."""

from audit.services import audit_record, client_ip

__all__ = ["audit_record", "client_ip"]
