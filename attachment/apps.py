"""The attachment service and the attachment file (SPEC C4, D1): DISTRICT and attachment packages."""

from django.apps import AppConfig


class AttachmentConfig(AppConfig):
    name = "attachment"
    verbose_name = "Прикрепление"

    def ready(self) -> None:
        from registry.cards import CardSection, register_card_section
        from servicelog.catalog import TFOMS_AUTO, register_service
        from servicelog.families import register_family
        from servicelog.registry import PackageType, register_package_type

        from .card import person_attachment_section
        from .formats import DISTRICT_ENVELOPE, DISTRICT_XSD, district_check
        from .formats.person_attach import (
            PERSONATTACH_ENVELOPE,
            PERSONATTACH_XSD,
            PERSONATTACHDISTRICT_ENVELOPE,
            PERSONATTACHDISTRICT_XSD,
            person_attach_check,
            person_attach_district_check,
        )
        from .services import ATTACH

        # One family "attach": the districts first, then the attachments (formats §2.3; titles §4.2).
        for kind in (
            PackageType(
                "DISTRICT",
                "attach",
                1,
                DISTRICT_XSD,
                check=district_check,
                title="Участки",
                envelope=DISTRICT_ENVELOPE,
            ),
            PackageType(
                "PERSONATTACH",
                "attach",
                2,
                PERSONATTACH_XSD,
                check=person_attach_check,
                title="Прикрепление",
                envelope=PERSONATTACH_ENVELOPE,
            ),
            PackageType(
                "PERSONATTACHDISTRICT",
                "attach",
                3,
                PERSONATTACHDISTRICT_XSD,
                check=person_attach_district_check,
                title="Прикрепление (единый пакет с участками)",
                envelope=PERSONATTACHDISTRICT_ENVELOPE,
            ),
        ):
            register_package_type(kind)
        register_service(TFOMS_AUTO)
        register_family(ATTACH)
        register_card_section(CardSection("attachment/person_send.html", person_attachment_section, order=20))
