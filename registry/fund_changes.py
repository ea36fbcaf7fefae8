"""What the fund's packages about persons change here (C7; formats §6); POLIS (C6) is fund_polis.py.

Each function is one message's effect; the consumer runs it inside the message's savepoint, so a
refusal (FundDataRefused) leaves the person, document, policy and attachment as they were.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from tfoms_portal.db import advisory_xact_locks

from .fund_formats import FundDataRefused, IdlePerson, checkpers_person, same_name
from .models import Attachment, FundMerge, Mo, Person, Policy, TreatmentCase
from .services import person_identification_request

REQUERY = Person.IdentificationReason.FUND


@dataclass
class FundResult:
    """What one package did: the person it is about (its МО owns the package), lines for the journal,
    and what our ANSWER adds (CHECKPERS: PERSON)."""

    person: Person | None = None
    notes: list[str] = field(default_factory=list)
    answer: dict[str, Any] | None = None
    enp: str = ""
    mo: Mo | None = None  # the person's МО, when `mo_known` (the rules read it already)
    mo_known: bool = False
    warnings: list[str] = field(default_factory=list)  # what the fund said and we did not do, and why
    involved: list[Person] = field(default_factory=list)  # every person the lines name


def soc_status_by_age(birth_date: dt.date, sex: int, today: dt.date) -> str:
    """SOC_STATUS when the fund sends none (formats §6): under 7 → 1, under 18 → 3, of working age
    (women under 60, men under 65) → 5, else 6."""
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    if age < 7:
        return "1"
    if age < 18:
        return "3"
    return "5" if age < (60 if sex == 2 else 65) else "6"


def mo_of(attachments: list[Attachment], case_mo: Mo | None, today: dt.date) -> Mo | None:
    """The МО a person belongs to for the fund's packages: the open attachment's, else the latest
    attachment's, else that of the latest treatment case; None for a person of no МО."""
    ordered = sorted(attachments, key=lambda a: (a.date_from, a.pk or 0), reverse=True)
    found = next((a for a in ordered if a.is_active_on(today)), ordered[0] if ordered else None)
    return found.mo if found is not None else case_mo


def home_mo(person: Person, today: dt.date) -> Mo | None:
    """mo_of() read from the database for one person."""
    attachments = list(Attachment.objects.filter(person=person).select_related("mo"))
    if attachments:
        return mo_of(attachments, None, today)
    case = TreatmentCase.objects.filter(person=person).select_related("mo").order_by("-date_begin").first()
    return case.mo if case is not None else None


# ask(person, mo): an online identification query (identification.online registers it; registry
# imports no family app). The batch queue stays the fallback: an answer in time clears it.
_online_askers: list[Callable[[Person, Mo], object]] = []


def register_online_asker(ask: Callable[[Person, Mo], object]) -> None:
    if ask not in _online_askers:
        _online_askers.append(ask)


def requery(persons: list[Person], today: dt.date, *, clear_id: bool = True) -> list[str]:
    """The fund's id is no longer trusted (`clear_id`) or the fund's data changed: the person is
    asked about again — online (PERS) when their МО is known, and queued for the batch
    identification of that МО, which is what stays if the online answer does not come. Returns
    warnings for persons of no МО, whom nobody asks about."""
    warnings = []
    for person in persons:
        if clear_id:
            person.fund_person_id = None
            person.save(update_fields=["fund_person_id", "updated_at"])
        mo = home_mo(person, today)
        person_identification_request(person=person, reason=REQUERY, mo=mo)
        if mo is not None:
            for ask in _online_askers:
                ask(person, mo)
        if mo is None:
            warnings.append(
                f"{person.full_name} не {person.by_sex('прикреплён', 'прикреплена')} и не "
                f"{person.by_sex('лечился', 'лечилась')} ни в одной МО: пакетная "
                f"идентификация МО его (её) не запросит — нужна проверка администратором ЦОД."
            )
    return warnings


def lock_fund_ids(ids: list[int]) -> None:
    """The fund's ids of a message (or of a batch) locked before anything is read about them."""
    advisory_xact_locks([f"bdzid:{i}" for i in ids])


def names(persons: list[Person]) -> str:
    return ", ".join(f"{person.full_name} ({person.birth_date:%d.%m.%Y})" for person in persons)


def _holders(bdzid: int) -> list[Person]:
    holders = list(Person.objects.select_for_update().filter(fund_person_id=bdzid).order_by("pk"))
    if not holders:
        raise FundDataRefused(f"Человек с BDZID={bdzid} в системе не найден")
    return holders


def checkpers_answer(*, bdzid: int) -> FundResult:
    """CHECKPERS: the person and their policies as we hold them, for our ANSWER; what answer.xsd
    cannot carry (a policy without a number, a document number over 10 characters) is left out and
    said as a warning."""
    holders = _holders(bdzid)
    if len(holders) > 1:
        raise FundDataRefused(f"BDZID={bdzid} у нескольких человек ({len(holders)})", holders[0])
    person = holders[0]
    policies = list(Policy.objects.filter(person=person).order_by("valid_from", "pk"))
    answer, left_out = checkpers_person(person, person.latest_document(), policies)
    return FundResult(
        person=person,
        notes=["Отправлены данные человека и полисов"],
        warnings=[f"В ответ не вошло: {what}" for what in left_out],
        answer={"PERSON": answer},
        enp=next((p.enp for p in reversed(policies) if p.enp), ""),
    )


def perschange_apply(*, bdzid: int, today: dt.date) -> FundResult:
    """PERSCHANGE: personal data changed in the register (R001 П040); the person is re-queried and
    marked until the identification answer comes."""
    lock_fund_ids([bdzid])
    holders = _holders(bdzid)
    now = timezone.now()
    for person in holders:
        person.fund_changed_at = now
        person.save(update_fields=["fund_changed_at", "updated_at"])
    warnings = requery(holders, today, clear_id=False)
    return FundResult(
        person=holders[0],
        involved=holders,
        notes=[f"Данные изменены в РС ЕРЗ: {names(holders)} поставлен(ы) на повторную идентификацию"],
        warnings=warnings,
    )


def doubles_apply(*, kept_id: int, merged_id: int, package_uuid: uuid.UUID) -> FundResult:
    """DOUBLES: the fund merged BDZDID into BDZID. A person holding BDZDID gets BDZID; when persons
    here hold both, they are listed as possible duplicates (no automatic merge of records)."""
    if kept_id == merged_id:
        raise FundDataRefused(f"BDZID и BDZDID совпадают ({kept_id}): объединять нечего")
    lock_fund_ids([kept_id, merged_id])
    kept = list(Person.objects.select_for_update().filter(fund_person_id=kept_id).order_by("pk"))
    merged = list(Person.objects.select_for_update().filter(fund_person_id=merged_id).order_by("pk"))
    holders = merged or kept
    result = FundResult(person=holders[0] if holders else None, involved=kept + merged)
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
            f"ТФОМС объединил записи {merged_id} → {kept_id}; в системе обе: {names(kept)} и "
            f"{names(merged)} — внесены в список возможных дублей (страница «Объединённые записи ТФОМС»)"
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
        result.notes.append(f"ИД в РС ЕРЗ {merged_id} заменён на {kept_id}: {names(merged)}")
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
            + (f"; BDZID={kept_id} уже у {names(kept)}" if kept else "; изменять нечего")
        )
    return result


def idlepersons_apply(*, idle: IdlePerson, today: dt.date) -> FundResult:
    """IDLEPERSONS: the social status by the tax service's sign (README "Decisions"): a minor, or
    nobody's work known (PR_FNI = 1) → by age (1, 3, 5, 6 of soc_status_by_age), else 2 (works).
    The person must be the fund's: surname and birth date as ours."""
    lock_fund_ids([idle.bdzid])
    holders = _holders(idle.bdzid)
    for person in holders:
        if person.birth_date != idle.birth_date or not same_name(person.last_name, idle.last_name):
            raise FundDataRefused(
                f"Данные ТФОМС (фамилия, дата рождения) не совпадают с данными человека с BDZID={idle.bdzid}",
                person,
            )
    notes = []
    for person in holders:
        by_age = soc_status_by_age(person.birth_date, person.sex, today)
        status = by_age if idle.not_working or by_age in ("1", "3") else "2"
        if person.soc_status != status:
            notes.append(f"{person.full_name}: социальный статус {person.soc_status or '—'} → {status}")
            person.soc_status = status
            person.save(update_fields=["soc_status", "updated_at"])
    return FundResult(person=holders[0], involved=holders, notes=notes or ["Социальный статус не изменился"])
