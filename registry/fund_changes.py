"""What the fund's packages about persons change here (C6, C7; manual §4.4.5.5; formats §6).

Each function is one message's effect; the consumer runs it inside the message's savepoint, so a
refusal (FundDataRefused) leaves the person, document, policy and attachment as they were.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from . import checkdigits
from .fund_formats import (
    FundDataRefused,
    FundPerson,
    FundPolicyData,
    IdlePerson,
    Polis,
    checkpers_person,
    compact,
    same_name,
)
from .models import Attachment, FundMerge, IdentityDocument, Mo, Person, Policy, Smo, TreatmentCase
from .services import FORM_BY_TYPE, FundPolicy, PolicyRefused, person_identification_request, policy_merge

REQUERY = Person.IdentificationReason.FUND


@dataclass
class FundResult:
    """What one package did: the person it is about (its МО owns the package), lines for the journal,
    and what our ANSWER adds (CHECKPERS: PERSON)."""

    person: Person | None = None
    notes: list[str] = field(default_factory=list)
    answer: dict[str, Any] | None = None
    enp: str = ""


def soc_status_by_age(birth_date: dt.date, sex: int, today: dt.date) -> str:
    """SOC_STATUS when the fund sends none (formats §6): under 7 → 1, under 18 → 3, of working age
    (women under 60, men under 65) → 5, else 6."""
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    if age < 7:
        return "1"
    if age < 18:
        return "3"
    return "5" if age < (60 if sex == 2 else 65) else "6"


def home_mo(person: Person, today: dt.date) -> Mo | None:
    """The МО a person belongs to for the fund's packages: the open attachment's, else the latest
    attachment's, else the latest treatment case's; None for a person of no МО (ЦОД admin's only)."""
    attachments = list(
        Attachment.objects.filter(person=person).select_related("mo").order_by("-date_from", "-pk")
    )
    found = next((a for a in attachments if a.is_active_on(today)), attachments[0] if attachments else None)
    if found is not None:
        return found.mo
    case = TreatmentCase.objects.filter(person=person).select_related("mo").order_by("-date_begin").first()
    return case.mo if case is not None else None


def _requery(persons: list[Person], today: dt.date) -> None:
    """The fund's id is no longer trusted: cleared, and the person queued for identification (until
    the online PERS query exists, the batch identification of their МО sends it)."""
    for person in persons:
        person.fund_person_id = None
        person.save(update_fields=["fund_person_id", "updated_at"])
        person_identification_request(person=person, reason=REQUERY, mo=home_mo(person, today))


def _names(persons: list[Person]) -> str:
    return ", ".join(f"{person.full_name} ({person.birth_date:%d.%m.%Y})" for person in persons)


def _differences(person: Person, theirs: FundPerson) -> list[str]:
    """Fields both sides fill and that differ (ФИО trimmed, СНИЛС and the document compact)."""
    found = []
    for title, ours, fund in (
        ("фамилия", person.last_name, theirs.last_name),
        ("имя", person.first_name, theirs.first_name),
        ("отчество", person.middle_name, theirs.middle_name),
    ):
        if ours.strip() and fund.strip() and not same_name(ours, fund):
            found.append(title)
    if person.birth_date != theirs.birth_date:
        found.append("дата рождения")
    if person.sex != theirs.sex:
        found.append("пол")
    if person.snils and theirs.snils and compact(person.snils) != theirs.snils:
        found.append("СНИЛС")
    same_type = [d for d in person.documents.all() if d.doc_type == theirs.doc_type]
    if same_type and not any(_same_document(d, theirs) for d in same_type):
        found.append("документ")
    return found


def _same_document(document: IdentityDocument, theirs: FundPerson) -> bool:
    return (document.doc_type, compact(document.series), compact(document.number)) == (
        theirs.doc_type,
        compact(theirs.doc_series),
        compact(theirs.doc_number),
    )


def _document_save(person: Person, theirs: FundPerson) -> str:
    """Manual §4.4.5.5.2.1: saved whole when the person has no document; only the issuing authority
    when the same document lacks it; otherwise ours stays."""
    documents = list(person.documents.all())
    if not documents:
        IdentityDocument.objects.create(
            person=person,
            doc_type=theirs.doc_type,
            series=theirs.doc_series,
            number=theirs.doc_number,
            issued_at=theirs.doc_issued_at,
            issuer=theirs.doc_issuer,
        )
        return "документ сохранён"
    same = next((d for d in documents if _same_document(d, theirs)), None)
    if same is not None and not same.issuer and theirs.doc_issuer:
        same.issuer = theirs.doc_issuer
        same.save(update_fields=["issuer"])
        return "сохранена организация, выдавшая документ"
    return ""


def _fill(person: Person, theirs: FundPerson, today: dt.date) -> list[str]:
    """Empty fields of the person filled from the fund's data (never an overwrite); the caller saves
    the person."""
    filled = []
    if not person.middle_name and theirs.middle_name:
        person.middle_name = theirs.middle_name
        filled.append("отчество")
    if not person.snils and theirs.snils:
        person.snils = theirs.snils
        filled.append("СНИЛС")
    if not person.soc_status:
        person.soc_status = theirs.soc_status or soc_status_by_age(theirs.birth_date, theirs.sex, today)
        filled.append(f"социальный статус {person.soc_status}")
    document = _document_save(person, theirs)
    return [*filled, *([document] if document else [])]


def _check_person(theirs: FundPerson) -> None:
    if theirs.snils and not checkdigits.snils_is_valid(theirs.snils):
        raise FundDataRefused(f"СНИЛС {theirs.snils}: неверное контрольное число")


def _person_create(bdzid: int, theirs: FundPerson, today: dt.date) -> Person:
    person = Person.objects.create(
        last_name=theirs.last_name,
        first_name=theirs.first_name,
        middle_name=theirs.middle_name,
        birth_date=theirs.birth_date,
        sex=theirs.sex,
        snils=theirs.snils,
        soc_status=theirs.soc_status or soc_status_by_age(theirs.birth_date, theirs.sex, today),
        fund_person_id=bdzid,
        identified_in_tfoms=True,
        identified_at=today,
    )
    _document_save(person, theirs)
    return person


def _lookup(theirs: FundPerson) -> list[Person]:
    """Not known by the fund's id: by ФИО + birth date + document, then ФИО + birth date + СНИЛС."""
    same_person = Person.objects.filter(
        last_name__iexact=theirs.last_name,
        first_name__iexact=theirs.first_name,
        middle_name__iexact=theirs.middle_name,
        birth_date=theirs.birth_date,
    ).prefetch_related("documents")
    by_document = [p for p in same_person if any(_same_document(d, theirs) for d in p.documents.all())]
    if by_document or not theirs.snils:
        return by_document
    return list(same_person.filter(snils=theirs.snils))


def _matching(policies: list[Policy], data: FundPolicyData, smo: Smo) -> Policy | None:
    """The same policy: type, series, number, ЕНП, СМО and start equal (formats §6); a unified
    policy's number is its ЕНП, whether or not it is also stored as the number."""
    key = (data.policy_type, compact(data.series), compact(data.number or data.enp), data.enp, smo.pk)
    return next(
        (
            p
            for p in policies
            if (p.policy_type, compact(p.series), compact(p.number or p.enp), p.enp, p.smo_id) == key
            and p.valid_from == data.valid_from
        ),
        None,
    )


def _policy_text(data: FundPolicyData, smo: Smo) -> str:
    number = data.enp or f"{data.series} {data.number}".strip()
    return f"полис {number} (СМО {smo.code}, с {data.valid_from:%d.%m.%Y})"


def _smo(code: str) -> Smo:
    smo = Smo.objects.filter(code=code).first()
    if smo is None:
        raise FundDataRefused(f"Неизвестный код СМО: SMOCODE={code}")
    return smo


def _policy_apply(person: Person, polis: Polis, smo: Smo, today: dt.date) -> tuple[list[str], bool]:
    """The policy of a POLIS on a known person. Returns the notes and whether a policy was added."""
    data = polis.policy
    policies = list(Policy.objects.select_for_update().filter(person=person).order_by("pk"))
    same = _matching(policies, data, smo)
    if polis.operation == "Delete":
        if same is None:
            raise FundDataRefused(f"Закрываемый {_policy_text(data, smo)} у человека не найден")
        same.valid_to = data.valid_to or today
        same.close_cause = data.close_cause
        same.save(update_fields=["valid_to", "close_cause"])
        return [f"{_policy_text(data, smo)} закрыт {same.valid_to:%d.%m.%Y}"], False
    if same is not None:
        same.valid_to, same.close_cause, same.source = data.valid_to, data.close_cause, Policy.Source.FUND
        same.save(update_fields=["valid_to", "close_cause", "source"])
        return [f"{_policy_text(data, smo)} обновлён"], False
    if data.policy_type not in FORM_BY_TYPE:
        raise FundDataRefused(f"Неизвестный тип полиса: POLISTYPE={data.policy_type}")
    try:
        changed = policy_merge(
            person=person,
            existing=policies,
            new=FundPolicy(
                smo=smo,
                policy_type=data.policy_type,
                series=data.series,
                number=data.number,
                enp=data.enp,
                valid_from=data.valid_from,
                valid_to=data.valid_to,
            ),
            source=Policy.Source.FUND,
        )
    except PolicyRefused as exc:
        raise FundDataRefused(str(exc)) from exc
    changed[-1].close_cause = data.close_cause
    for policy in changed:
        policy.save()
    closed = [f"полис с {p.valid_from:%d.%m.%Y} закрыт {p.valid_to:%d.%m.%Y}" for p in changed[:-1]]
    return [f"{_policy_text(data, smo)} сохранён", *closed], True


def _conditional_attachment(person: Person, polis: Polis, today: dt.date) -> str:
    """A new policy of a person with no open attachment: the conditional attachment from ATTACH."""
    if not polis.attach_mo:
        return ""
    open_attachments = Attachment.objects.filter(person=person, date_from__lte=today).filter(
        Q(date_to__isnull=True) | Q(date_to__gte=today)
    )
    if open_attachments.exists():
        return ""
    mo = Mo.objects.filter(code=polis.attach_mo).first()
    if mo is None:
        raise FundDataRefused(f"Неизвестная МО прикрепления: ATTACHMO={polis.attach_mo}")
    start = polis.attach_from or today
    Attachment.objects.create(
        person=person,
        mo=mo,
        method=Attachment.Method.BY_ADDRESS,
        attach_type=Attachment.AttachType.MAIN,
        is_conditional=True,
        date_from=start,
    )
    return f"создано условное прикрепление к МО {mo.code} с {start:%d.%m.%Y}"


def polis_apply(*, polis: Polis, today: dt.date) -> FundResult:
    """POLIS (C6): find the person, fill or create them, save or close the policy, attach."""
    smo = _smo(polis.policy.smo_code)
    result = FundResult(enp=polis.policy.enp)
    holders = list(
        Person.objects.select_for_update().filter(fund_person_id=polis.bdzid).prefetch_related("documents")
    )
    if polis.person is not None:
        _check_person(polis.person)
    if len(holders) > 1:
        _requery(holders, today)
        result.person = holders[0]
        result.notes.append(
            f"BDZID={polis.bdzid} у нескольких человек ({_names(holders)}): ИД снят у всех, каждый "
            f"поставлен на повторную идентификацию; полис не сохранён."
        )
        return result
    if holders:
        person = result.person = holders[0]
        if polis.person is not None:
            differs = _differences(person, polis.person)
            if differs:
                _requery([person], today)
                result.notes.append(
                    f"Данные ТФОМС расходятся с данными человека ({', '.join(differs)}): BDZID снят, "
                    f"человек поставлен на повторную идентификацию; полис не сохранён."
                )
                return result
            filled = _fill(person, polis.person, today)
            if filled:
                result.notes.append("Заполнено: " + ", ".join(filled))
    else:
        if polis.person is None:
            raise FundDataRefused(
                f"Человек с BDZID={polis.bdzid} в системе не найден, а данных о нём (PERSON) в пакете нет"
            )
        found = _lookup(polis.person)
        if len(found) > 1:
            _requery(found, today)
            result.person = found[0]
            result.notes.append(
                f"По ФИО, дате рождения и документу (СНИЛС) найдено несколько человек ({_names(found)}): "
                f"все поставлены на повторную идентификацию; полис не сохранён."
            )
            return result
        if found:
            person = result.person = found[0]
            person.fund_person_id = polis.bdzid
            filled = _fill(person, polis.person, today)
            result.notes.append(f"Человек найден по данным ТФОМС, ему присвоен BDZID={polis.bdzid}")
            if filled:
                result.notes.append("Заполнено: " + ", ".join(filled))
        else:
            if polis.operation == "Delete":
                raise FundDataRefused(f"Человек с BDZID={polis.bdzid} не найден: закрывать нечего")
            person = result.person = _person_create(polis.bdzid, polis.person, today)
            result.notes.append(f"Создан человек {person.full_name} с BDZID={polis.bdzid}")
    notes, added = _policy_apply(person, polis, smo, today)
    result.notes.extend(notes)
    if added:
        attached = _conditional_attachment(person, polis, today)
        if attached:
            result.notes.append(attached)
    person.save()  # what was filled, and the change time: a policy is part of what packages say
    return result


def _holders(bdzid: int) -> list[Person]:
    holders = list(Person.objects.select_for_update().filter(fund_person_id=bdzid).order_by("pk"))
    if not holders:
        raise FundDataRefused(f"Человек с BDZID={bdzid} в системе не найден")
    return holders


def checkpers_answer(*, bdzid: int) -> FundResult:
    """CHECKPERS: the person and their policies as we hold them, for our ANSWER."""
    holders = _holders(bdzid)
    if len(holders) > 1:
        raise FundDataRefused(f"BDZID={bdzid} у нескольких человек: {_names(holders)}")
    person = holders[0]
    policies = list(Policy.objects.filter(person=person).order_by("valid_from", "pk"))
    document = person.latest_document()
    return FundResult(
        person=person,
        notes=["Отправлены данные человека и полисов"],
        answer={"PERSON": checkpers_person(person, document, policies)},
        enp=next((p.enp for p in reversed(policies) if p.enp), ""),
    )


def perschange_apply(*, bdzid: int, today: dt.date) -> FundResult:
    """PERSCHANGE: personal data changed in the register (R001 П040); the person is re-queried and
    marked until the identification answer comes."""
    holders = _holders(bdzid)
    now = timezone.now()
    for person in holders:
        person.fund_changed_at = now
        person.save(update_fields=["fund_changed_at", "updated_at"])
        person_identification_request(person=person, reason=REQUERY, mo=home_mo(person, today))
    return FundResult(
        person=holders[0],
        notes=[f"Данные изменены в РС ЕРЗ: {_names(holders)} поставлен(ы) на повторную идентификацию"],
    )


def doubles_apply(*, kept_id: int, merged_id: int, package_uuid: Any) -> FundResult:
    """DOUBLES: the fund merged BDZDID into BDZID. A person holding BDZDID gets BDZID; when persons
    here hold both, they are listed as possible duplicates (no automatic merge of records)."""
    kept = list(Person.objects.select_for_update().filter(fund_person_id=kept_id).order_by("pk"))
    merged = list(Person.objects.select_for_update().filter(fund_person_id=merged_id).order_by("pk"))
    holders = merged or kept
    result = FundResult(person=holders[0] if holders else None)
    if kept and merged:
        for duplicate in merged:
            FundMerge.objects.create(
                kept_id=kept_id,
                merged_id=merged_id,
                person=kept[0],
                duplicate=duplicate,
                outcome=FundMerge.Outcome.POSSIBLE_DUPLICATE,
                package_uuid=package_uuid,
            )
        result.notes.append(
            f"ТФОМС объединил записи {merged_id} → {kept_id}; в системе обе: {_names(kept)} и "
            f"{_names(merged)} — внесены в список возможных дублей (страница «Объединённые записи ТФОМС»)"
        )
    elif merged:
        for person in merged:
            person.fund_person_id = kept_id
            person.save(update_fields=["fund_person_id", "updated_at"])
            FundMerge.objects.create(
                kept_id=kept_id,
                merged_id=merged_id,
                person=person,
                outcome=FundMerge.Outcome.REPLACED,
                package_uuid=package_uuid,
            )
        result.notes.append(f"ИД в РС ЕРЗ {merged_id} заменён на {kept_id}: {_names(merged)}")
    else:
        FundMerge.objects.create(
            kept_id=kept_id,
            merged_id=merged_id,
            person=kept[0] if kept else None,
            outcome=FundMerge.Outcome.NOTHING,
            package_uuid=package_uuid,
        )
        result.notes.append(
            f"Записи с BDZDID={merged_id} в системе нет"
            + (f"; BDZID={kept_id} уже у {_names(kept)}" if kept else "; изменять нечего")
        )
    return result


def idlepersons_apply(*, idle: IdlePerson, today: dt.date) -> FundResult:
    """IDLEPERSONS: the social status by the tax service's sign (README "Decisions"): not working →
    by age (1, 3, 5, 6 of soc_status_by_age), working → 2."""
    holders = _holders(idle.bdzid)
    notes = []
    for person in holders:
        status = soc_status_by_age(person.birth_date, person.sex, today) if idle.not_working else "2"
        if person.soc_status != status:
            notes.append(f"{person.full_name}: социальный статус {person.soc_status or '—'} → {status}")
            person.soc_status = status
            person.save(update_fields=["soc_status", "updated_at"])
    return FundResult(person=holders[0], notes=notes or ["Социальный статус не изменился"])
