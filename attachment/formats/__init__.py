"""Wire layouts of the attachment service: the RabbitMQ packages and the attachment CSV file (C4, D1).
External tag and field names live only in this package."""

from .district import (
    DISTRICT_BODY,
    DISTRICT_ENVELOPE,
    DISTRICT_HEADER,
    DISTRICT_XSD,
    XSD_DIR,
    district_check,
    district_delete_payload,
    district_payload,
)

__all__ = [
    "DISTRICT_BODY",
    "DISTRICT_ENVELOPE",
    "DISTRICT_HEADER",
    "DISTRICT_XSD",
    "XSD_DIR",
    "district_check",
    "district_delete_payload",
    "district_payload",
]
