"""POLIS from the fund (C6; manual §4.4.5.5; formats §6): one message, or a consumer's batch of them.

Both ways run the same rules on a person's state in memory (`_on_known`): documents, policies,
attachments and the МО they belong to, loaded once; the writes are collected (`Writes`) and stored
in bulk. A refusal is raised before anything of its message changed. What the batch cannot do in
memory (several persons with one id, a differing field, a person found by ФИО or created) goes the
one-message way inside its own savepoint, after the batch's writes so far are stored.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import transaction
from django.utils import timezone

from tfoms_portal.db import advisory_xact_locks, bulk_insert, bulk_update_fast

from . import checkdigits
from .fund_changes import FundResult, lock_fund_ids, mo_of, names, requery, soc_status_by_age
from .fund_formats import FundDataRefused, FundPerson, FundPolicyData, Polis, compact, same_name
from .models import Attachment, IdentityDocument, Mo, Person, Policy, Smo, TreatmentCase
from .services import FORM_BY_TYPE, FundPolicy, PolicyRefused, policy_merge

K = TypeVar("K")
PERSON_FIELDS = ["middle_name", "snils", "soc_status", "fund_person_id", "updated_at"]
POLICY_FIELDS = ["policy_type", "form", "series", "number", "enp", "smo", "valid_from", "valid_to"]
POLICY_FIELDS += ["source", "close_cause"]


@dataclass
class PersonState:
    """What the rules read of one person: their documents, policies, attachments (with the МО) and
    the МО of their latest treatment case."""

    person: Person
    documents: list[IdentityDocument] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    case_mo: Mo | None = None

    def home_mo(self, today: dt.date) -> Mo | None:
        return mo_of(self.attachments, self.case_mo, today)


def states_load(persons: list[Person]) -> dict[int, PersonState]:
    """The states of many persons in four queries (their policies locked: this message changes them)."""
    states = {person.pk: PersonState(person) for person in persons}
    ids = list(states)
    for document in IdentityDocument.objects.filter(person_id__in=ids).order_by("pk"):
        states[document.person_id].documents.append(document)
    for policy in Policy.objects.select_for_update().filter(person_id__in=ids).order_by("pk"):
        states[policy.person_id].policies.append(policy)
    for attachment in Attachment.objects.filter(person_id__in=ids).select_related("mo"):
        states[attachment.person_id].attachments.append(attachment)
    without = [pk for pk, state in states.items() if not state.attachments]
    cases = TreatmentCase.objects.filter(person_id__in=without).select_related("mo").order_by("date_begin")
    for case in cases:
        states[case.person_id].case_mo = case.mo  # the latest one wins
    return states


@dataclass
class Writes:
    """Changes of many messages, stored in a few statements."""

    persons: dict[int, Person] = field(default_factory=dict)
    documents_new: list[IdentityDocument] = field(default_factory=list)
    documents_changed: list[IdentityDocument] = field(default_factory=list)
    policies_new: list[Policy] = field(default_factory=list)
    policies_changed: dict[int, Policy] = field(default_factory=dict)
    attachments_new: list[Attachment] = field(default_factory=list)

    def policy(self, policy: Policy) -> None:
        if policy.pk is None:
            if all(policy is not p for p in self.policies_new):
                self.policies_new.append(policy)
        else:
            self.policies_changed[policy.pk] = policy

    def save(self) -> None:
        """Store everything collected, then start empty again (the batch goes on)."""
        now = timezone.now()
        for person in self.persons.values():
            person.updated_at = now  # a policy is part of what packages say about the person
        bulk_update_fast(list(self.persons.values()), PERSON_FIELDS)
        bulk_insert(IdentityDocument, self.documents_new)
        bulk_update_fast(self.documents_changed, ["issuer"])
        bulk_update_fast(list(self.policies_changed.values()), POLICY_FIELDS)
        bulk_insert(Policy, self.policies_new)
        bulk_insert(Attachment, self.attachments_new)
        self.persons, self.policies_changed = {}, {}
        self.documents_new, self.documents_changed, self.policies_new, self.attachments_new = [], [], [], []


def check_person(theirs: FundPerson) -> None:
    if theirs.snils and not checkdigits.snils_is_valid(theirs.snils):
        raise FundDataRefused(f"СНИЛС {theirs.snils}: неверное контрольное число")


def _same_document(document: IdentityDocument, theirs: FundPerson) -> bool:
    return (document.doc_type, compact(document.series), compact(document.number)) == (
        theirs.doc_type,
        compact(theirs.doc_series),
        compact(theirs.doc_number),
    )


def differences(state: PersonState, theirs: FundPerson) -> list[str]:
    """Fields both sides fill and that differ (ФИО trimmed, СНИЛС and the document compact)."""
    person = state.person
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
    same_type = [d for d in state.documents if d.doc_type == theirs.doc_type]
    if same_type and not any(_same_document(d, theirs) for d in same_type):
        found.append("документ")
    return found


def _fill(state: PersonState, theirs: FundPerson, today: dt.date, writes: Writes) -> list[str]:
    """Empty fields filled from the fund's data (never an overwrite); the document by manual
    §4.4.5.5.2.1 — whole when the person has none, only its authority when the same one lacks it."""
    person, filled = state.person, []
    if not person.middle_name and theirs.middle_name:
        person.middle_name = theirs.middle_name
        filled.append("отчество")
    if not person.snils and theirs.snils:
        person.snils = theirs.snils
        filled.append("СНИЛС")
    if not person.soc_status:
        person.soc_status = theirs.soc_status or soc_status_by_age(theirs.birth_date, theirs.sex, today)
        filled.append(f"социальный статус {person.soc_status}")
    if not state.documents:
        document = IdentityDocument(
            person=person,
            doc_type=theirs.doc_type,
            series=theirs.doc_series,
            number=theirs.doc_number,
            issued_at=theirs.doc_issued_at,
            issuer=theirs.doc_issuer,
        )
        state.documents.append(document)
        writes.documents_new.append(document)
        filled.append("документ")
    else:
        same = next((d for d in state.documents if _same_document(d, theirs)), None)
        if same is not None and not same.issuer and theirs.doc_issuer:
            same.issuer = theirs.doc_issuer
            writes.documents_changed.append(same)
            filled.append("организация, выдавшая документ")
    return filled


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


def _policy(
    state: PersonState, polis: Polis, smo: Smo, today: dt.date, writes: Writes
) -> tuple[list[str], bool]:
    """The policy: matched → its end and close cause; Delete → closed; else inserted by the B5 merge.
    Returns the notes and whether a policy was added; refuses before changing anything."""
    data = polis.policy
    same = _matching(state.policies, data, smo)
    if polis.operation == "Delete":
        if same is None:
            raise FundDataRefused(f"Закрываемый {_policy_text(data, smo)} у человека не найден", state.person)
        end = data.valid_to or today
        if end < same.valid_from:
            raise FundDataRefused(
                f"{_policy_text(data, smo)} не может быть закрыт {end:%d.%m.%Y}: это раньше его начала "
                f"(в пакете нет POLISENDDT)",
                state.person,
            )
        same.valid_to, same.close_cause = end, data.close_cause
        writes.policy(same)
        return [f"{_policy_text(data, smo)} закрыт {same.valid_to:%d.%m.%Y}"], False
    if same is not None:
        same.valid_to, same.close_cause, same.source = data.valid_to, data.close_cause, Policy.Source.FUND
        writes.policy(same)
        return [f"{_policy_text(data, smo)} обновлён"], False
    if data.policy_type not in FORM_BY_TYPE:
        raise FundDataRefused(f"Неизвестный тип полиса: POLISTYPE={data.policy_type}", state.person)
    new = FundPolicy(
        smo, data.policy_type, data.series, data.number, data.enp, data.valid_from, data.valid_to
    )
    try:
        changed = policy_merge(
            person=state.person, existing=state.policies, new=new, source=Policy.Source.FUND
        )
    except PolicyRefused as exc:
        raise FundDataRefused(str(exc), state.person) from exc
    changed[-1].close_cause = data.close_cause
    for policy in changed:
        writes.policy(policy)
    closed = [f"полис с {p.valid_from:%d.%m.%Y} закрыт {p.valid_to:%d.%m.%Y}" for p in changed[:-1]]
    return [f"{_policy_text(data, smo)} сохранён", *closed], True


def _attach_mo(polis: Polis, mos: dict[str, Mo]) -> Mo | None:
    if not polis.attach_mo:
        return None
    mo = mos.get(polis.attach_mo)
    if mo is None:
        raise FundDataRefused(f"Неизвестная МО прикрепления: ATTACHMO={polis.attach_mo}")
    return mo


def on_known(
    state: PersonState, polis: Polis, smo: Smo, mos: dict[str, Mo], today: dt.date, writes: Writes
) -> list[str]:
    """POLIS on a person known here, whose data agree with the fund's: the policy, the conditional
    attachment of a new policy of an unattached person, the empty fields. Notes for the journal."""
    try:
        attach_to = _attach_mo(polis, mos)  # every refusal before any change
    except FundDataRefused as exc:
        raise FundDataRefused(str(exc), state.person) from None
    notes, added = _policy(state, polis, smo, today, writes)
    if added and attach_to is not None and not any(a.is_active_on(today) for a in state.attachments):
        start = polis.attach_from or today
        attachment = Attachment(
            person=state.person,
            mo=attach_to,
            method=Attachment.Method.BY_ADDRESS,
            attach_type=Attachment.AttachType.MAIN,
            is_conditional=True,
            date_from=start,
        )
        state.attachments.append(attachment)
        writes.attachments_new.append(attachment)
        notes.append(f"создано условное прикрепление к МО {attach_to.code} с {start:%d.%m.%Y}")
    if polis.person is not None:
        filled = _fill(state, polis.person, today, writes)
        if filled:
            notes.insert(0, "Заполнено: " + ", ".join(filled))
    writes.persons[state.person.pk] = state.person
    return notes


# --- one message -------------------------------------------------------------------------------


def _smos() -> dict[str, Smo]:
    return {smo.code: smo for smo in Smo.objects.all()}


def _smo(polis: Polis, smos: dict[str, Smo]) -> Smo:
    smo = smos.get(polis.policy.smo_code)
    if smo is None:
        raise FundDataRefused(f"Неизвестный код СМО: SMOCODE={polis.policy.smo_code}")
    return smo


def _lookup(theirs: FundPerson) -> list[Person]:
    """Not known by the fund's id: by ФИО + birth date + document, then ФИО + birth date + СНИЛС.
    Names compare as everywhere here (same_name: trimmed, case and ё aside), so in Python."""
    born = Person.objects.select_for_update().filter(birth_date=theirs.birth_date).order_by("pk")
    candidates = [
        p
        for p in born
        if same_name(p.last_name, theirs.last_name)
        and same_name(p.first_name, theirs.first_name)
        and same_name(p.middle_name, theirs.middle_name)
    ]
    documents = defaultdict(list)
    for document in IdentityDocument.objects.filter(person__in=candidates):
        documents[document.person_id].append(document)
    by_document = [p for p in candidates if any(_same_document(d, theirs) for d in documents[p.pk])]
    if by_document or not theirs.snils:
        return by_document
    return [p for p in candidates if p.snils == theirs.snils]


def _lookup_key(theirs: FundPerson) -> str:
    name = " ".join(
        part.strip().casefold().replace("ё", "е") for part in (theirs.last_name, theirs.first_name)
    )
    return f"person:{name}:{theirs.birth_date.isoformat()}"


def polis_apply(*, polis: Polis, today: dt.date) -> FundResult:
    """POLIS (C6): find the person, fill or create them, save or close the policy, attach."""
    lock_fund_ids([polis.bdzid])
    smo = _smo(polis, _smos())
    if polis.person is not None:
        check_person(polis.person)
    mos = {mo.code: mo for mo in Mo.objects.filter(code=polis.attach_mo)} if polis.attach_mo else {}
    _attach_mo(polis, mos)
    result = FundResult(enp=polis.policy.enp)
    holders = list(Person.objects.select_for_update().filter(fund_person_id=polis.bdzid).order_by("pk"))
    if len(holders) > 1:
        return _requeried(result, holders, today, f"BDZID={polis.bdzid} у нескольких человек: ИД снят у всех")
    if holders:
        state = states_load(holders)[holders[0].pk]
        differs = differences(state, polis.person) if polis.person is not None else []
        if differs:
            why = f"данные ТФОМС расходятся с данными человека ({', '.join(differs)}): BDZID снят"
            return _requeried(result, holders, today, why)
    else:
        if polis.person is None:
            raise FundDataRefused(
                f"Человек с BDZID={polis.bdzid} в системе не найден, а данных о нём (PERSON) в пакете нет"
            )
        advisory_xact_locks([_lookup_key(polis.person)])  # two consumers never create one person twice
        found = _lookup(polis.person)
        if len(found) > 1:
            return _requeried(
                result, found, today, "по ФИО, дате рождения и документу (СНИЛС) найдено несколько"
            )
        if found and found[0].fund_person_id not in (None, polis.bdzid):
            why = f"найден по данным ТФОМС, но у него другой BDZID={found[0].fund_person_id}"
            return _requeried(result, found, today, why)
        if found:
            found[0].fund_person_id = polis.bdzid
            state = states_load(found)[found[0].pk]
            result.notes.append(f"Человек найден по данным ТФОМС, ему присвоен BDZID={polis.bdzid}")
        else:
            if polis.operation == "Delete":
                raise FundDataRefused(f"Человек с BDZID={polis.bdzid} не найден: закрывать нечего")
            state = PersonState(_person_create(polis.bdzid, polis.person, today))
            result.notes.append(f"Создан человек {state.person.full_name} с BDZID={polis.bdzid}")
    writes = Writes()
    result.notes.extend(on_known(state, polis, smo, mos, today, writes))
    writes.save()
    result.person, result.mo, result.mo_known = state.person, state.home_mo(today), True
    return result


def _requeried(result: FundResult, persons: list[Person], today: dt.date, why: str) -> FundResult:
    """The fund's POLIS not applied: its persons re-queried; said as a warning, naming each."""
    no_mo = requery(persons, today)
    result.person, result.involved = persons[0], persons
    result.warnings.append(
        f"Полис не сохранён: {why}; поставлены на повторную идентификацию: {names(persons)}."
    )
    result.warnings.extend(no_mo)
    return result


def _person_create(bdzid: int, theirs: FundPerson, today: dt.date) -> Person:
    """A person the fund knows and we do not: their document and social status follow (on_known)."""
    return Person.objects.create(
        last_name=theirs.last_name,
        first_name=theirs.first_name,
        middle_name=theirs.middle_name,
        birth_date=theirs.birth_date,
        sex=theirs.sex,
        snils=theirs.snils,
        fund_person_id=bdzid,
        identified_in_tfoms=True,
        identified_at=today,
    )


# --- a consumer's batch ------------------------------------------------------------------------


@dataclass
class Item(Generic[K]):
    key: K
    polis: Polis | None  # None: refused while being read (its error is in `refused`)
    refused: str = ""


def polis_batch(items: list[Item[K]], today: dt.date) -> dict[K, FundResult | FundDataRefused]:
    """Many POLIS in the caller's transaction, each with the effect it would have alone, in order.
    A person with one id here and data agreeing with the fund's is worked in memory; any other
    message the one-message way in its own savepoint (the batch's writes stored first, and that
    person's state forgotten, so later messages about them see what it did)."""
    outcomes: dict[K, FundResult | FundDataRefused] = {}
    bdzids = [item.polis.bdzid for item in items if item.polis is not None]
    lock_fund_ids(bdzids)
    smos = _smos()
    codes = {item.polis.attach_mo for item in items if item.polis is not None and item.polis.attach_mo}
    mos = {mo.code: mo for mo in Mo.objects.filter(code__in=codes)}
    holders: dict[int, list[Person]] = defaultdict(list)
    for person in Person.objects.select_for_update().filter(fund_person_id__in=bdzids).order_by("pk"):
        holders[person.fund_person_id or 0].append(person)
    states = states_load([found[0] for found in holders.values() if len(found) == 1])
    by_id = {bdzid: states[found[0].pk] for bdzid, found in holders.items() if len(found) == 1}
    writes = Writes()
    for item in items:
        polis = item.polis
        if polis is None:
            outcomes[item.key] = FundDataRefused(item.refused)
            continue
        state = by_id.get(polis.bdzid)
        try:
            smo = _smo(polis, smos)
            if polis.person is not None:
                check_person(polis.person)
            if state is not None and not (polis.person is not None and differences(state, polis.person)):
                notes = on_known(state, polis, smo, mos, today, writes)
                outcomes[item.key] = FundResult(
                    state.person, notes, enp=polis.policy.enp, mo=state.home_mo(today), mo_known=True
                )
                continue
        except FundDataRefused as exc:
            outcomes[item.key] = exc
            continue
        writes.save()  # the one-message way reads the database
        by_id.pop(polis.bdzid, None)
        try:
            with transaction.atomic():
                result = polis_apply(polis=polis, today=today)
        except FundDataRefused as exc:
            outcomes[item.key] = exc
            continue
        outcomes[item.key] = result
        if result.person is not None:  # whatever it touched is read afresh by later messages
            by_id = {i: s for i, s in by_id.items() if s.person.pk != result.person.pk}
    writes.save()
    return outcomes
