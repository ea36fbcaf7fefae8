"""The attachment service and the attachment file (SPEC C4, D1): DISTRICT and attachment packages."""

from django.apps import AppConfig


class AttachmentConfig(AppConfig):
    name = "attachment"
    verbose_name = "Прикрепление"

    def ready(self) -> None:
        from registry.cards import CardSection, register_card_section
        from servicelog.registry import PackageType, register_package_type, register_service_job

        from .card import person_attachment_section
        from .formats import DISTRICT_XSD, district_build, district_check
        from .formats.person_attach import (
            PERSONATTACH_XSD,
            PERSONATTACHDISTRICT_XSD,
            person_attach_build,
            person_attach_check,
            person_attach_district_build,
            person_attach_district_check,
        )
        from .services import tfoms_auto_job

        # One family "attach": the districts first, then the attachments (formats §2.3).
        for kind in (
            PackageType("DISTRICT", "attach", 1, DISTRICT_XSD, district_build, check=district_check),
            PackageType(
                "PERSONATTACH", "attach", 2, PERSONATTACH_XSD, person_attach_build, check=person_attach_check
            ),
            PackageType(
                "PERSONATTACHDISTRICT",
                "attach",
                3,
                PERSONATTACHDISTRICT_XSD,
                person_attach_district_build,
                check=person_attach_district_check,
            ),
        ):
            register_package_type(kind)
        register_service_job("tfoms_auto")(tfoms_auto_job)
        register_card_section(CardSection("attachment/person_send.html", person_attachment_section, order=20))
