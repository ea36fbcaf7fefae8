"""Hospitalisation under FFOMS order 263 (SPEC C2)."""

from django.apps import AppConfig


class HospitalisationConfig(AppConfig):
    name = "hospitalisation"
    verbose_name = "Госпитализация (приказ 263)"

    def ready(self) -> None:
        from registry.cards import CardSection, register_card_section
        from registry.demo import register_demo_step
        from servicelog.catalog import ServiceSpec, register_service
        from servicelog.families import register_family
        from servicelog.registry import PackageType, register_iszl_replies, register_package_type
        from tfoms_portal import messaging

        from . import formats as f
        from .card import person_hospitalisation_section
        from .demo import hospitalisation_demo
        from .services import PATIENTS, SERVICE, STRUCTURE, referral_reply

        register_service(
            ServiceSpec(SERVICE, "Сервис сопровождения застрахованных лиц (263 приказ)", detail="log")
        )
        # Titles as the detailed log names them (manual §4.6.2.4); ranks are the insert order (§4.4.5.1.3).
        for family, rank, code, title in (
            (STRUCTURE.code, 1, f.BRANCH, "Филиал"),
            (STRUCTURE.code, 2, f.DIVISION, "Отделение"),
            (STRUCTURE.code, 3, f.DLSB, "Связь отделений и профилей коек"),
            (STRUCTURE.code, 4, f.AMOUNT_BED, "Количество коек в профиле"),
            (STRUCTURE.code, 5, f.FREE_BEDS, "Количество свободных коек"),
            (PATIENTS.code, 1, f.REFERRAL, "Направления на госпитализацию"),
            (PATIENTS.code, 2, f.CANCEL_REFERRAL, "Отмена направления на госпитализацию"),
            (PATIENTS.code, 3, f.HOSPITALISATION, "Информация о госпитализации"),
            (PATIENTS.code, 4, f.MOTION, "Движение пациента в стационаре"),
            (PATIENTS.code, 5, f.CANCEL_HOSPITALISATION, "Отказ от госпитализации"),
        ):
            register_package_type(
                PackageType(
                    code,
                    family,
                    rank,
                    f.XSD,
                    check=f.CHECKS.get(code),
                    queue=messaging.ISZL_REQUEST,
                    reply_queue=messaging.ISZL_REPLY,
                    title=title,
                    envelope=f.ENVELOPES[code],
                    reply_handler=referral_reply if code == f.REFERRAL else None,
                )
            )
        register_iszl_replies(messaging.ISZL_REPLY, SERVICE)
        register_family(STRUCTURE)
        register_family(PATIENTS)
        register_card_section(
            CardSection(
                "hospitalisation/person_hospitalisation.html", person_hospitalisation_section, order=40
            )
        )
        register_demo_step(hospitalisation_demo)
        self._register_free_beds()

    def _register_free_beds(self) -> None:
        """Stage 3: the free-beds RPC (FREE_BEDS_REQUEST on iszl.rpc) the referral form asks."""
        from servicelog.formats import ANSWER_XSD
        from servicelog.rpc import RpcKind, register_rpc_kind
        from tfoms_portal import messaging

        from . import free_beds as fb
        from .services import SERVICE

        register_rpc_kind(
            RpcKind(
                fb.KIND,
                service=SERVICE,
                package_type=fb.PACKAGE_TYPE,
                timeout_seconds=fb.timeout_seconds,
                read=fb.reply_read,
                reply_xsd={fb.RESPONSE: fb.XSD, "ANSWER": ANSWER_XSD},
                expired=lambda call: fb.NO_ANSWER,
                template="hospitalisation/free_beds_call.html",
                context=fb.pane_context,
            ),
            request_xsd=fb.XSD,
            envelope=fb.ENVELOPE,
            queue=messaging.ISZL_RPC,
            title="Запрос свободных коек",
        )
