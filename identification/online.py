"""Online identification of one person (SPEC B8, formats §6 PERS, §2.4 ANSWER).

"Идентифицировать онлайн" sends a PERS query (OPERATIONTYPE=Query) as an RPC call (servicelog.rpc).
The fund's ANSWER with PERSON and POLIS_DATA saves the policy by the rules of B5 (registry.services
.policy_save_from_fund, the code the batch response uses), marks the person identified and adds a
history row with source «Онлайн»; an ERROR answer is said on the card and in the history; no answer
within TFOMS_RPC_IDENTIFY_SECONDS puts the person in the batch queue (B2) and says so.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from lxml import etree

from registry.models import Mo, Person, Policy
from registry.services import FundPolicy, PolicyRefused, person_identification_request, smo_by_fund_codes
from servicelog.envelope import TAI, Envelope
from servicelog.formats import answer_parse
from servicelog.forming import PersonKeys, fio_key
from servicelog.models import RpcCall
from servicelog.rpc import ReplyUnreadable, RpcReply, rpc_call_start

from .models import IdentificationRecord, RecordStatus

KIND = "identify_online"
PERS_XSD = Path(__file__).resolve().parent / "xsd" / "pers.xsd"
PACKAGE_TYPE = "PERS"
PERS_ENVELOPE = Envelope(
    TAI,
    "PKG",
    header=("PERSONID",),
    body=(
        "FAM",
        "IM",
        "OT",
        "DR",
        "W",
        "DOCTYPE",
        "DOCSER",
        "DOCNUM",
        "SNILS",
        "POLISTYPE",
        "POLISSER",
        "POLISNUM",
        "POLISBEGDT",
        "POLISENDDT",
        "ENP",
    ),
    date_tag="DATA",
)
SOURCE = Person.IdentificationReason.ONLINE


def _stamp(day: dt.date | None) -> str:
    return f"{day.isoformat()}T00:00:00" if day else ""


def pers_payload(person: Person, today: dt.date, policy: Policy | None = None) -> dict[str, Any]:
    """What PERS says of the person: names, birth, the latest document and the policy in force
    (`policy`, when the caller has it already)."""
    document = person.latest_document()
    policy = policy or person.policy_on(today)
    return {
        "PERSONID": str(person.pk),
        "FAM": person.last_name[:40],
        "IM": person.first_name[:40],
        "OT": person.middle_name[:40],
        "DR": person.birth_date.isoformat(),
        "W": str(person.sex),
        "DOCTYPE": str(document.doc_type) if document else "",
        "DOCSER": document.series if document else "",
        "DOCNUM": document.number[:20] if document else "",
        "SNILS": person.snils,
        "POLISTYPE": str(policy.policy_type) if policy else "",
        "POLISSER": policy.series if policy else "",
        "POLISNUM": policy.number if policy else "",
        "POLISBEGDT": _stamp(policy.valid_from) if policy else "",
        "POLISENDDT": _stamp(policy.valid_to) if policy else "",
        "ENP": policy.enp if policy else "",
    }


def identify_online_start(*, person: Person, mo: Mo, user: Any) -> RpcCall:
    """Ask the fund about one person now; the page polls the returned call."""
    today = timezone.localdate()
    policy = person.policy_on(today)
    return rpc_call_start(
        kind=KIND,
        mo=mo,
        user=user,
        subject=str(person.pk),
        payload=pers_payload(person, today, policy),
        request={"person": person.pk, "name": person.full_name},
        person=PersonKeys(
            enp=policy.enp if policy else "", snils=person.snils, fio=fio_key(person.full_name)
        ),
    )


def timeout_seconds() -> float:
    return float(settings.TFOMS_RPC_IDENTIFY_SECONDS)


# --- the answer -------------------------------------------------------------------------------


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value[:10]) if value else None


def answer_read(root: etree._Element) -> RpcReply:
    """The fund's ANSWER to PERS: ERROR with its texts, or PERSON with its policies."""
    if root.tag != "ANSWER":
        raise ReplyUnreadable(f"ожидался ANSWER, получен {root.tag}")
    answer = answer_parse(root)
    if not answer.ok:
        texts = [f"{code} {text}".strip() for code, text in answer.errors] or ["RESULT=ERROR без описания"]
        return RpcReply(False, {"errors": texts}, "ТФОМС не идентифицировал: " + "; ".join(texts))
    person = root.find("BODY/PERSON")
    if person is None:
        raise ReplyUnreadable("в ответе RESULT=OK нет сведений о человеке (PERSON)")
    policies = [
        {child.tag: (child.text or "").strip() for child in item} for item in person.findall("POLIS_DATA")
    ]
    data = {"person": answer.person or {}, "policies": policies}
    return RpcReply(True, data, "ТФОМС идентифицировал пациента")


def _fund_policy(item: dict[str, str]) -> FundPolicy:
    """One POLIS_DATA as the B5 rules take it."""
    if not item.get("SMOCODE") or not item.get("SMOOGRN"):
        raise PolicyRefused("ТФОМС не сообщил СМО полиса (SMOCODE, SMOOGRN)")
    begins = _date(item.get("POLISBEGDT", ""))
    if begins is None:
        raise PolicyRefused("ТФОМС не сообщил дату начала полиса")
    policy_type = int(item.get("POLISTYPE") or 0)
    number, enp = item.get("POLISNUM", ""), item.get("ENP", "")
    if policy_type == 3:  # a unified policy is its ЕНП (POLISNUM carries it): kept as the batch keeps it
        enp, number = enp or number, ""
    return FundPolicy(
        smo=smo_by_fund_codes(item["SMOCODE"], item["SMOOGRN"]),
        policy_type=policy_type,
        series=item.get("POLISSER", ""),
        number=number,
        enp=enp,
        valid_from=begins,
        valid_to=_date(item.get("POLISENDDT", "")),
    )


def answer_apply(call: RpcCall, reply: RpcReply) -> RpcReply | None:
    """An answer in time: the policy saved (B5), the person marked, a history row either way."""
    from registry.services import policy_save_from_fund

    person = Person.objects.select_for_update().get(pk=int(call.subject))
    today = timezone.localdate()
    if not reply.ok:
        _history(call, person, today, RecordStatus.NOT_IDENTIFIED, "; ".join(reply.data.get("errors", [])))
        return None
    fund = reply.data.get("person", {})
    enp = fund.get("ENP", "")
    items = [{**item, "ENP": item.get("ENP") or enp} for item in reply.data.get("policies", [])]
    if not items:
        text = "ТФОМС не сообщил полис (POLIS_DATA)"
        _history(call, person, today, RecordStatus.NOT_IDENTIFIED, text)
        return RpcReply(False, message=f"Пациент найден в РС ЕРЗ, но полис не сохранён: {text}")
    current = max(items, key=lambda item: item.get("POLISBEGDT", ""))
    try:
        policy = policy_save_from_fund(person=person, new=_fund_policy(current), source=Policy.Source.ONLINE)
    except PolicyRefused as exc:
        _history(call, person, today, RecordStatus.NOT_IDENTIFIED, str(exc))
        return RpcReply(False, message=f"Пациент найден в РС ЕРЗ, но полис не сохранён: {exc}")
    person.identified_in_tfoms, person.identified_at, person.fund_changed_at = True, today, None
    person.identification_requested_at = None  # asked and answered: the batch need not ask again
    fields = ["identified_in_tfoms", "identified_at", "fund_changed_at", "identification_requested_at"]
    if person.fund_person_id is None and fund.get("BDZ_ID", "").isdigit():
        person.fund_person_id = int(fund["BDZ_ID"])
        fields.append("fund_person_id")
    person.save(update_fields=[*fields, "updated_at"])
    _history(call, person, today, RecordStatus.IDENTIFIED, "")
    what = f"ЕНП {policy.enp}" if policy.enp else f"полис {policy.series} {policy.number}".strip()
    smo = f", СМО {policy.smo.name_short}" if policy.smo else ""
    done = person.by_sex("идентифицирован", "идентифицирована")
    return RpcReply(True, message=f"{person.full_name} {done}: {what}{smo}, с {policy.valid_from:%d.%m.%Y}.")


def expired(call: RpcCall) -> str:
    """No answer in time: the person goes into the batch queue of the asking МО (B2)."""
    person = Person.objects.get(pk=int(call.subject))
    person_identification_request(
        person=person, reason=Person.IdentificationReason.ONLINE_TIMEOUT, mo=call.mo
    )
    waited = (call.deadline - call.created_at).total_seconds()
    text = (
        f"ТФОМС не ответил за {waited:.0f} с: {person.full_name} "
        f"{person.by_sex('поставлен', 'поставлена')} в очередь пакетной идентификации "
        f"(войдёт в ближайший пакет МО {call.mo.code})."
    )
    _history(call, person, timezone.localdate(), RecordStatus.NOT_IDENTIFIED, text)
    return text


def _history(call: RpcCall, person: Person, today: dt.date, status: str, errors: str) -> None:
    IdentificationRecord.objects.create(
        package=None,
        mo=call.mo,
        person=person,
        source=SOURCE,
        period_from=today,
        period_to=today,
        status=status,
        status_date=today,
        error_text=errors,
        request=call.package.payload if call.package is not None else call.request,
        response_row=call.reply,
    )
