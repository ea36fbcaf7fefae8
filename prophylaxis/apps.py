"""Prophylaxis plans and dispensary observation (SPEC C3, C5, D2, D3)."""

from django.apps import AppConfig


class ProphylaxisConfig(AppConfig):
    name = "prophylaxis"
    verbose_name = "Профилактика и диспансерное наблюдение"

    def ready(self) -> None:
        from registry.cards import CardSection, register_card_section
        from registry.demo import register_demo_step
        from servicelog.catalog import TFOMS_AUTO, ServiceSpec, register_service
        from servicelog.families import register_family
        from servicelog.registry import PackageType, register_package_type

        from . import formats, plan_formats
        from .card import person_dispensary_section
        from .demo import dispensary_demo, plans_demo
        from .plans import PLANS, dispplan_reply, dispplan_sent
        from .services import DISPENSARY

        # One family "disp" (formats §5; titles as manual §4.2 names the profiles).
        for kind in (
            PackageType(
                "DISP",
                "disp",
                1,
                formats.DISP_XSD,
                check=formats.disp_check,
                title="Диспансерное наблюдение",
                envelope=formats.DISP_ENVELOPE,
            ),
            PackageType(
                "DISPOUT",
                "disp",
                2,
                formats.DISPOUT_XSD,
                check=formats.dispout_check,
                title="Снятие с диспансерного наблюдения",
                envelope=formats.DISPOUT_ENVELOPE,
            ),
            PackageType(
                "PERSCANCER",
                "disp",
                3,
                formats.PERSCANCER_XSD,
                check=formats.perscancer_check,
                title="Пациенты с ЗНО",
                envelope=formats.PERSCANCER_ENVELOPE,
            ),
            # Plans (formats §7.3): one message per person, formed by a plan's "Отправить".
            PackageType(
                "DISPPLAN",
                "dispplan",
                1,
                plan_formats.DISPPLAN_XSD,
                check=plan_formats.dispplan_check,
                title="План профилактических мероприятий",
                envelope=plan_formats.DISPPLAN_ENVELOPE,
                reply_handler=dispplan_reply,
                sent_handler=dispplan_sent,
            ),
        ):
            register_package_type(kind)
        register_service(TFOMS_AUTO)
        register_service(
            ServiceSpec(
                "dispplan_exchange",
                "Обмен планами профилактических осмотров",
                note="Пакеты сервиса формируются кнопкой «Отправить» на форме «Планы диспансеризации и "
                "профилактических медицинских осмотров».",
            )
        )
        register_family(DISPENSARY)
        register_family(PLANS)
        register_card_section(
            CardSection("prophylaxis/person_dispensary.html", person_dispensary_section, order=30)
        )
        register_demo_step(dispensary_demo)
        register_demo_step(plans_demo)
