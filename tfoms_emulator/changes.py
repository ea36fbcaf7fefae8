"""Streams of the fund's packages about persons (formats §6: POLIS, CHECKPERS, PERSCHANGE, DOUBLES,
IDLEPERSONS) made from the register of insured persons, a few deliberately bad ones among them;
`python -m tfoms_emulator push-changes` publishes one to tfoms.to_mis."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lxml import etree

from . import clock
from .checks import snils_control, snils_valid
from .core import Emulator, Message
from .ident import Person, Policy, RegisterError, parse_register, register_json

DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
PACKAGE_TYPES = ("POLIS", "CHECKPERS", "PERSCHANGE", "DOUBLES", "IDLEPERSONS")
# Kind → its weight in a stream (about a percentage). The bad ones are POLIS packages the МО must refuse.
WEIGHTS: dict[str, float] = {"smo_change": 25, "policy_update": 10, "closure": 10, "new_person": 8}
WEIGHTS |= {"perschange": 10, "checkpers": 10, "doubles": 5, "idlepersons": 10}
BAD_KINDS = (
    "malformed_xml",
    "invalid_xsd",
    "unknown_smo",
    "reversed_dates",
    "future_birth",
    "unknown_policy",
)
WEIGHTS |= dict.fromkeys(BAD_KINDS, 0.8)
KINDS = tuple(WEIGHTS)
EVERY_KIND_FROM = 40  # a stream this long has every kind at least once
UNKNOWN_SMO = "99999"
DEFAULT_SMO = "59001"  # for a register naming no СМО at all
DEFAULT_REGION = "59"

MALE_NAMES = ("Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Илья", "Кирилл")
FEMALE_NAMES = ("Анна", "Мария", "Елена", "Дарья", "Алина", "Ирина", "Екатерина", "Ольга", "Софья")
SURNAMES = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Новиков", "Морозов")
FATHERS = ("Александров", "Дмитриев", "Сергеев", "Андреев", "Алексеев", "Михайлов", "Иванов", "Петров")
STREETS = ("ул. Ленина", "ул. Мира", "ул. Советская", "ул. Пушкина", "Комсомольский пр-т", "ул. Крупской")
TOWNS = ("г. Пермь", "г. Березники", "г. Соликамск", "г. Кунгур", "г. Чайковский", "г. Екатеринбург")
REGISTRY_OFFICES = ("Отдел ЗАГС администрации г. Перми", "Управление ЗАГС Пермского края")
PASSPORT_OFFICES = ("ГУ МВД России по Пермскому краю", "Отделом УФМС России по Пермскому краю в г. Перми")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")
CYRILLIC = "АБВГДЕЖЗИКЛМНОПРСТУФХ"

Fields = list[tuple[str, Any]]  # (tag, value) in the XSD's order: None leaves it out, a list nests


@dataclass(frozen=True)
class Change:
    """One package of the fund: its AMQP type, the XML and what it is (one of KINDS)."""

    package_type: str
    body: bytes
    kind: str


def read_register(path: Path | str) -> dict[str, Any]:
    """The register JSON `{"persons": [...]}`, checked; RegisterError says why it cannot be used."""
    data: dict[str, Any] = register_json(path)
    _Book(data)
    return data


def changes_stream(
    register: Mapping[str, Any],
    count: int,
    *,
    seed: int = 0,
    today: dt.date | None = None,
    mo_codes: Sequence[str] = (),
    first_new_id: int = 0,
) -> list[Change]:
    """`count` packages of the fund about the register's persons (the decoded JSON), the same for the
    same seed, day and МО codes. Kinds are mixed by WEIGHTS, every kind at least once from
    EVERY_KIND_FROM packages on; a kind no register person fits becomes a new person. `mo_codes`:
    6-digit МО codes a new policy may name in ATTACH (none: no ATTACH). New ids start above the
    register's and above `first_new_id` (several streams from one register keep their new persons apart)."""
    if count < 0:
        raise ValueError("count must not be negative")
    bad = [code for code in mo_codes if not re.fullmatch(r"\d{6}", code)]
    if bad:
        raise ValueError(f"МО codes must be 6 digits: {', '.join(bad)}")
    stream = _Stream(_Book(register), random.Random(seed), today or clock.today(), list(mo_codes))
    stream.next_id = max(stream.next_id, first_new_id)
    schedule = [kind for kind, quota in _quotas(count).items() for _ in range(quota)]
    stream.rng.shuffle(schedule)
    return [stream.make(kind) for kind in schedule]


def push_changes(
    emulator: Emulator,
    register: Mapping[str, Any],
    count: int,
    *,
    seed: int = 0,
    today: dt.date | None = None,
    mo_codes: Sequence[str] = (),
) -> list[Message]:
    """changes_stream() pushed by the emulator: each lands in emulator.pushed (queue tfoms.to_mis)."""
    changes = changes_stream(register, count, seed=seed, today=today, mo_codes=mo_codes)
    return [emulator.push(change.package_type, change.body) for change in changes]


def summary(changes: Sequence[Change]) -> str:
    """How many per package type and kind: `POLIS 12 (smo_change 7, closure 5), CHECKPERS 2 (…)`."""
    counts = Counter((change.package_type, change.kind) for change in changes)
    parts = []
    for package_type in PACKAGE_TYPES:
        kinds = [f"{kind} {n}" for kind in KINDS if (n := counts[package_type, kind])]
        if kinds:
            total = sum(n for (t, _), n in counts.items() if t == package_type)
            parts.append(f"{package_type} {total} ({', '.join(kinds)})")
    return ", ".join(parts) or "nothing"


def _quotas(count: int) -> dict[str, int]:
    """How many of each kind: proportional to WEIGHTS, by the largest remainder."""
    total = sum(WEIGHTS.values())
    exact = {kind: count * weight / total for kind, weight in WEIGHTS.items()}
    quotas = {kind: max(int(value), 1 if count >= EVERY_KIND_FROM else 0) for kind, value in exact.items()}
    rest = count - sum(quotas.values())
    for kind in sorted(KINDS, key=lambda kind: exact[kind] - int(exact[kind]), reverse=True)[: max(rest, 0)]:
        quotas[kind] += 1
    for _ in range(-rest):  # the minimum of one each took too many: the largest kind gives them back
        quotas[max(quotas, key=lambda kind: quotas[kind])] -= 1
    return quotas


class _Book:
    """The register as the stream needs it: persons with an id, duplicates, СМО codes, ЕНП, СНИЛС."""

    def __init__(self, data: Any) -> None:
        persons = parse_register(data).persons
        self.persons = [person for person in persons if person.bdzid]
        self.duplicate_of: dict[int, int] = {}  # the duplicate's id → the original's
        for index, (item, person) in enumerate(zip(data["persons"], persons, strict=True), start=1):
            other = item.get("duplicate_of")
            if other is None or not person.bdzid:
                continue
            if isinstance(other, bool) or not isinstance(other, int) or other < 1 or other == person.bdzid:
                raise RegisterError(f"Регистр, запись № {index}: duplicate_of — BDZID другой записи")
            self.duplicate_of[person.bdzid] = other
        policies = [policy for person in self.persons for policy in person.policies]
        self.smo_codes = sorted({policy.smo for policy in policies if re.fullmatch(r"\d{5}", policy.smo)})
        self.enps = {policy.enp for policy in policies if policy.enp}
        self.snils = {person.snils for person in self.persons}
        self.names = {(p.fam.upper(), p.im.upper(), p.ot.upper(), p.dr) for p in self.persons}
        regions = Counter(enp[:2] for enp in self.enps if len(enp) == 16)
        self.region = regions.most_common(1)[0][0] if regions else DEFAULT_REGION
        self.max_id = max([p.bdzid or 0 for p in self.persons] + list(self.duplicate_of.values()), default=0)


def _latest(person: Person) -> Policy | None:
    return max(person.policies, key=lambda p: p.dbeg or dt.date.min, default=None)


def _enp(person: Person) -> str:
    """The person's ЕНП: of the latest policy that has one."""
    with_enp = [p for p in person.policies if re.fullmatch(r"\d{16}", p.enp)]
    latest = max(with_enp, key=lambda p: p.dbeg or dt.date.min, default=None)
    return latest.enp if latest else ""


def _policy_fits(policy: Policy) -> bool:
    """The register's policy can be named in POLIS_DATA exactly as it is."""
    number, enp_fits = policy.num or policy.enp, re.fullmatch(r"(\d{16})?", policy.enp) is not None
    return enp_fits and 1 <= len(policy.smo) <= 5 and len(policy.ser) <= 10 and 1 <= len(number) <= 16


def _identity_fits(person: Person, today: dt.date) -> bool:
    """The person can be sent as PERSON (POLIS, IDLEPERSONS) exactly as the register has them."""
    names = 1 <= len(person.fam) <= 40 and 1 <= len(person.im) <= 40 and len(person.ot) <= 40
    document = person.doc_type is not None and person.doc_type <= 99 and 1 <= len(person.doc_num) <= 20
    born = person.dr is not None and person.dr <= today
    return names and document and born and person.w in (1, 2) and len(person.doc_ser) <= 10


def _stamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00"


def _element(tag: str, fields: Fields) -> etree._Element:
    element = etree.Element(tag)
    for name, value in fields:
        if isinstance(value, list):
            element.append(_element(name, value))
        elif value is not None:
            etree.SubElement(element, name).text = str(value)
    return element


def _xml(fields: Fields) -> bytes:
    return (DECLARATION + etree.tostring(_element("PKG", fields), encoding="unicode")).encode("utf-8")


def enp_make(region: str, birth_date: dt.date, sex: int, serial: int) -> str:
    """An ЕНП (formats §9.2): region, birth date and sex in inverted digits, serial, Luhn check digit."""

    def inverted(digits: str) -> str:
        return "".join(str(9 - int(char)) for char in digits)

    year = birth_date.year
    month = birth_date.month + (20 if year <= 1950 else 40 if year <= 2000 else 0)
    day = birth_date.day + (50 if sex == 1 else 0)
    payload = f"{region}{inverted(f'{month:02d}')}{inverted(f'{year:04d}'[::-1])}{inverted(f'{day:02d}')}"
    payload += f"{serial:05d}"
    total = 0
    for index, char in enumerate(reversed(payload)):  # the rightmost payload digit is doubled
        digit = int(char) * (2 if index % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return payload + str((10 - total % 10) % 10)


class _Stream:
    """Makes the packages one by one; remembers what it handed out (new ids, ЕНП, merged records)."""

    def __init__(self, book: _Book, rng: random.Random, today: dt.date, mo_codes: list[str]) -> None:
        self.book, self.rng, self.today, self.mo_codes = book, rng, today, mo_codes
        self.next_id = book.max_id
        self.touched: set[int] = set()  # persons whose policy an earlier package changed
        self.gone: set[int] = set()  # duplicates a DOUBLES merged into their original
        self.ids: dict[int, int] = {}  # the register's id → the new one a DOUBLES gave the record

    def make(self, kind: str) -> Change:
        if kind in BAD_KINDS:
            return self._unknown_policy() if kind == "unknown_policy" else self._bad(kind)
        if kind in ("policy_update", "closure"):
            change = self._policy_change(kind)
        elif kind in ("perschange", "checkpers"):
            change = self._by_id(kind)
        else:
            change = getattr(self, f"_{kind}")()
        return change or self._new_person()

    # --- helpers ---------------------------------------------------------------------------------

    def _pick(
        self, fits: Callable[[Person], bool] | None = None, *, changes_policy: bool = False
    ) -> Person | None:
        """A random register person (not merged away) that `fits`; for a policy change preferably one
        whose policies no earlier package changed."""
        candidates = [p for p in self.book.persons if p.bdzid not in self.gone and (fits is None or fits(p))]
        fresh = [p for p in candidates if p.bdzid not in self.touched] if changes_policy else []
        pool = fresh or candidates
        if not pool:
            return None
        person = self.rng.choice(pool)
        if changes_policy:
            self.touched.add(person.bdzid or 0)
        return person

    def _id(self, person: Person) -> int:
        """The person's id now (a DOUBLES may have renumbered the record)."""
        bdzid = person.bdzid or 0
        return self.ids.get(bdzid, bdzid)

    def _new_id(self) -> int:
        self.next_id += self.rng.randint(1, 25)
        return self.next_id

    def _new_enp(self, birth_date: dt.date, sex: int) -> str:
        while True:
            enp = enp_make(self.book.region, birth_date, sex, self.rng.randint(0, 99_999))
            if enp not in self.book.enps:
                self.book.enps.add(enp)
                return enp

    def _new_snils(self) -> str:
        while True:
            number = f"{self.rng.randint(2_000_000, 199_999_999):09d}"
            snils = f"{number}{snils_control(number):02d}"
            if snils not in self.book.snils:
                self.book.snils.add(snils)
                return snils

    def _smo(self, *, besides: str = "") -> str:
        return self.rng.choice([code for code in self.book.smo_codes if code != besides] or [DEFAULT_SMO])

    def _address(self) -> str:
        street, house, flat = self.rng.choice(STREETS), self.rng.randint(1, 120), self.rng.randint(1, 200)
        return f"г. Пермь, {street}, д. {house}, кв. {flat}"

    def _person_fields(self, person: Person) -> Fields | None:
        """PERSON as the register has the person; None (no PERSON) when that would not fit the XSD."""
        if not _identity_fits(person, self.today) or person.dr is None:
            return None
        snils = person.snils if person.snils and snils_valid(person.snils) else None
        fields: Fields = [
            ("FAM", person.fam),
            ("IM", person.im),
            ("OT", person.ot or None),
            ("DR", person.dr),
        ]
        fields += [("W", person.w), ("DOCTYPE", person.doc_type), ("DOCSER", person.doc_ser or None)]
        return [*fields, ("DOCNUM", person.doc_num), ("SNILS", snils)]

    def _polis(
        self,
        operation: str,
        bdzid: int | None,
        person: Fields | None,
        policy: Policy,
        *,
        number: int = 1,
        new_person: bool = False,
        close_cause: int | None = None,
        attach: bool = False,
    ) -> bytes:
        """POLIS of `policy` (the `number`-th of the person in the register, for PERSONPOLISID)."""
        begin = policy.dbeg or self.today
        edited = dt.datetime.combine(self.today, dt.time(self.rng.randint(8, 19), self.rng.randint(0, 59)))
        policy_id = (bdzid or 0) % 10**15 * 100 + number
        data: Fields = [("ENP", policy.enp), ("NEWPERSDATA", int(new_person)), ("PERSONPOLISID", policy_id)]
        data += [("SMOCODE", policy.smo), ("POLISTYPE", policy.type), ("POLISSER", policy.ser or None)]
        data += [("POLISNUM", policy.num or policy.enp), ("POLISBEGDT", _stamp(begin))]
        data += [
            ("POLISENDDT", _stamp(policy.dend) if policy.dend else None),
            ("POLISEDITDT", edited.isoformat()),
        ]
        data += [("POLISCLOSECAUSE", close_cause)]
        body: Fields = [("PERSON", person), ("POLIS_DATA", data)]
        if attach and self.mo_codes and self.rng.random() < 0.5:
            body.append(("ATTACH", [("ATTACHMO", self.rng.choice(self.mo_codes)), ("ATTACHDT", begin)]))
        return _xml([("HEADER", [("OPERATIONTYPE", operation), ("BDZID", bdzid)]), ("BODY", body)])

    # --- the kinds -------------------------------------------------------------------------------

    def _smo_change(self) -> Change | None:
        """A new unified policy with another СМО of the register from about today, the same ЕНП."""
        begin = self.today - dt.timedelta(days=self.rng.randint(0, 5))

        def fits(person: Person) -> bool:
            latest = _latest(person)
            return bool(_enp(person)) and latest is not None and (latest.dbeg or begin) < begin

        person = self._pick(fits, changes_policy=True) if len(self.book.smo_codes) > 1 else None
        latest = _latest(person) if person else None
        if person is None or latest is None:
            return None
        enp = _enp(person)
        policy = Policy(type=3, num=enp, enp=enp, smo=self._smo(besides=latest.smo), dbeg=begin)
        fields, number = self._person_fields(person), len(person.policies) + 1
        body = self._polis("Insert", self._id(person), fields, policy, number=number, attach=True)
        return Change("POLIS", body, "smo_change")

    def _policy_change(self, kind: str) -> Change | None:
        """The latest policy exactly as the register has it: Update with a later end (renewal) or a
        close cause (policy_update); Delete of an open one, ending today with cause 1 (closure)."""
        closing = kind == "closure"

        def fits(person: Person) -> bool:
            latest = _latest(person)
            if latest is None or latest.dbeg is None or not _policy_fits(latest):
                return False
            return not closing or latest.dbeg <= self.today <= (latest.dend or self.today)

        person = self._pick(fits, changes_policy=True)
        policy = _latest(person) if person else None
        if person is None or policy is None:
            return None
        number, cause, begin = person.policies.index(policy) + 1, None, policy.dbeg or self.today
        if closing:
            policy, cause = replace(policy, dend=self.today), 1
        elif self.rng.random() < 0.6:
            start = max(self.today, policy.dend or begin)
            policy = replace(policy, dend=start + dt.timedelta(days=self.rng.randint(30, 720)))
        else:
            cause = self.rng.choice((2, 3, 9))
        operation, fields = "Delete" if closing else "Update", self._person_fields(person)
        body = self._polis(operation, self._id(person), fields, policy, number=number, close_cause=cause)
        return Change("POLIS", body, kind)

    def _newcomer(self, *, born: dt.date | None = None) -> tuple[Fields, Policy]:
        """PERSON of someone the register does not know, a newborn (always when `born` is given) or a
        newcomer, and their new unified policy from about today."""
        sex = self.rng.choice((1, 2))
        newborn = born is not None or self.rng.random() < 0.4
        while True:
            if born is not None:
                dr = born
            else:
                days = self.rng.randint(3, 60) if newborn else self.rng.randint(18 * 366, 80 * 365)
                dr = self.today - dt.timedelta(days=days)
            fam = self.rng.choice(SURNAMES) + ("" if sex == 1 else "а")
            im = self.rng.choice(MALE_NAMES if sex == 1 else FEMALE_NAMES)
            ot = self.rng.choice(FATHERS) + ("ич" if sex == 1 else "на")
            if (fam.upper(), im.upper(), ot.upper(), dr) not in self.book.names:
                self.book.names.add((fam.upper(), im.upper(), ot.upper(), dr))
                break
        if newborn:  # a birth certificate, soon after the birth
            doc = (3, f"{self.rng.choice(ROMAN)}-{''.join(self.rng.choices(CYRILLIC, k=2))}")
            issued = dr + dt.timedelta(days=self.rng.randint(1, min(20, max((self.today - dr).days, 1))))
            issuer, soc_status = self.rng.choice(REGISTRY_OFFICES), "1"
            snils = self._new_snils() if self.rng.random() < 0.3 else None
        else:  # a passport of the last ten years
            doc = (14, f"57{self.rng.randint(0, 24):02d}")
            first = max(self.today - dt.timedelta(days=3650), dr + dt.timedelta(days=14 * 366))
            issued = first + dt.timedelta(days=self.rng.randint(0, max((self.today - first).days - 30, 0)))
            by_age = "6" if (self.today - dr).days // 365 >= (65 if sex == 1 else 60) else "5"
            issuer, soc_status = self.rng.choice(PASSPORT_OFFICES), self.rng.choice(("2", by_age))
            snils = self._new_snils()
        address = self._address()
        fields: Fields = [("FAM", fam), ("IM", im), ("OT", ot), ("DR", dr), ("W", sex), ("DOCTYPE", doc[0])]
        fields += [("DOCSER", doc[1]), ("DOCNUM", f"{self.rng.randint(0, 999_999):06d}"), ("DOCDT", issued)]
        fields += [("DOCORG", issuer), ("SNILS", snils)]
        fields += [("SOC_STATUS", soc_status if self.rng.random() < 0.7 else None), ("pADR", address)]
        fields += [("uADR", address if self.rng.random() < 0.8 else self._address())]
        enp = self._new_enp(dr, sex)
        begin = max(dr, self.today - dt.timedelta(days=self.rng.randint(0, 5)))
        return fields, Policy(type=3, num=enp, enp=enp, smo=self._smo(), dbeg=begin)

    def _new_person(self) -> Change:
        """A person the register does not know: a new BDZID, the full PERSON and a new unified policy."""
        bdzid = self._new_id()
        person, policy = self._newcomer()
        body = self._polis("Insert", bdzid, person, policy, new_person=True, attach=True)
        return Change("POLIS", body, "new_person")

    def _by_id(self, kind: str) -> Change | None:
        """PERSCHANGE or CHECKPERS of a register person."""
        person = self._pick()
        if person is None:
            return None
        body = _xml([("HEADER", [("OPERATIONTYPE", "Insert")]), ("BODY", [("BDZID", self._id(person))])])
        return Change(kind.upper(), body, kind)

    def _doubles(self) -> Change | None:
        """The fund merged records: a duplicate of the register into its original (the duplicate is not
        named again), else a register record into a new id (the record is named by it from then on)."""
        pairs = [(kept, merged) for merged, kept in self.book.duplicate_of.items() if merged not in self.gone]
        if pairs:
            original, duplicate = self.rng.choice(pairs)
            self.gone.add(duplicate)
            kept, merged = self.ids.get(original, original), self.ids.get(duplicate, duplicate)
        else:
            person = self._pick()
            if person is None:
                return None
            kept, merged = self._new_id(), self._id(person)
            self.ids[person.bdzid or 0] = kept
        header: Fields = [("OPERATIONTYPE", "Insert"), ("BDZID", kept)]
        body = _xml([("HEADER", header), ("BODY", [("BDZDID", merged)])])
        return Change("DOUBLES", body, "doubles")

    def _idlepersons(self) -> Change | None:
        """The tax service's sign for last month about a register person: not working (PR_FNI 1) mostly."""
        person = self._pick(lambda p: _identity_fits(p, self.today))
        fields = self._person_fields(person) if person else None
        if person is None or person.dr is None or fields is None:
            return None
        last = self.today.replace(day=1) - dt.timedelta(days=1)
        registered = person.dr + dt.timedelta(days=self.rng.randint(0, (self.today - person.dr).days))
        header: Fields = [("OPERATIONTYPE", "Insert"), ("VERSION", "1.0"), ("DATA", self.today)]
        header += [("DN", last.replace(day=1)), ("DK", last), ("DT_REPORT", self.today)]
        address = self._address()
        fields += [("B_ADDRSES_NAME", self.rng.choice(TOWNS)), ("OKSM_ALFA3", "RUS")]
        stay = address if self.rng.random() < 0.3 else None
        fields += [("P_ADDRSES_NAME", stay), ("R_ADDRSES_NAME", address)]
        fields += [("R_ADDRESS_BEGDT", registered), ("PR_FNI", int(self.rng.random() < 0.85))]
        body = _xml([("HEADER", header), ("BODY", [("PERSON", fields), ("BDZ_ID", self._id(person))])])
        return Change("IDLEPERSONS", body, "idlepersons")

    # --- the bad ones ----------------------------------------------------------------------------

    def _bad(self, kind: str) -> Change:
        """A new person's POLIS gone wrong: cut off in the middle (malformed_xml), without HEADER/BDZID
        (invalid_xsd), SMOCODE 99999 (unknown_smo), ending before it begins (reversed_dates), of
        someone born after today (future_birth)."""
        bdzid = None if kind == "invalid_xsd" else self._new_id()
        born = self.today + dt.timedelta(days=self.rng.randint(1, 400)) if kind == "future_birth" else None
        person, policy = self._newcomer(born=born)
        if kind == "unknown_smo":
            policy = replace(policy, smo=UNKNOWN_SMO)
        elif kind == "reversed_dates":
            days = dt.timedelta(days=self.rng.randint(1, 365))
            policy = replace(policy, dend=(policy.dbeg or self.today) - days)
        text = self._polis("Insert", bdzid, person, policy, new_person=True).decode("utf-8")
        if kind == "malformed_xml":
            text = text[: self.rng.randint(len(text) * 2 // 5, len(text) * 9 // 10)]
        return Change("POLIS", text.encode("utf-8"), kind)

    def _unknown_policy(self) -> Change:
        """A Delete of a unified policy whose ЕНП nobody in the register has."""
        person = self._pick(lambda p: p.dr is not None)
        fields: Fields | None
        if person is None or person.dr is None:
            bdzid, (fields, policy) = self._new_id(), self._newcomer()
        else:
            enp = self._new_enp(person.dr, person.w or 1)
            bdzid, fields, policy = (
                self._id(person),
                self._person_fields(person),
                Policy(3, num=enp, enp=enp),
            )
        begin = self.today - dt.timedelta(days=self.rng.randint(30, 1000))
        policy = replace(policy, smo=self._smo(), dbeg=begin, dend=self.today)
        body = self._polis("Delete", bdzid, fields, policy, number=99, close_cause=1)
        return Change("POLIS", body, "unknown_policy")
