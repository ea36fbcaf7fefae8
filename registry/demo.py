"""The demo data set (`manage.py seed_demo`): three МО of region 59 with structure, staff, people, users."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from . import checkdigits
from .models import (
    Attachment,
    Bed,
    BedProfile,
    Department,
    IdentityDocument,
    Mo,
    NsiEntry,
    Person,
    Policy,
    Role,
    Sex,
    Site,
    Smo,
    Staff,
    Subdivision,
    TreatmentCase,
    Workplace,
)

SEED = 590_001
REGION = "59"
OKATO_REGION = "57"  # first two digits of a Perm passport series
HOSPITAL_MO = "590001"
ADULT_MO = "590002"
CHILDREN_MO = "590003"
MO_CODES = (HOSPITAL_MO, ADULT_MO, CHILDREN_MO)
SMO_CODES = ("59021", "59022", "59023")
SMO_WEIGHTS = (50, 32, 18)
DEMO_USERNAMES = ("dc_admin", "mo_admin", "mo_admin2", "statistician")

EARLIEST_BIRTH = dt.date(1935, 1, 1)
LATEST_BIRTH = dt.date(2024, 12, 31)
UNIFORM_POLICIES_FROM = dt.date(2011, 5, 1)
ELECTRONIC_POLICIES_FROM = dt.date(2022, 12, 1)
STRUCTURE_SINCE = dt.date(2013, 1, 1)
DAY = dt.timedelta(days=1)

G = Department.GroupType
K = Subdivision.Kind
T = Site.SiteType

# --- structure: building (code, name, kind) → departments (code, name, group, [(V020, beds)]) --------

Beds = list[tuple[str, int]]
DepartmentSpec = tuple[str, str, str, Beds]
BuildingSpec = tuple[str, str, str, list[DepartmentSpec]]

STRUCTURE: dict[str, list[BuildingSpec]] = {
    HOSPITAL_MO: [
        (
            "001",
            "Стационар",
            K.HOSPITAL,
            [
                ("001", "Приёмное отделение", G.ADMISSION, []),
                ("010", "Терапевтическое отделение", G.ROUND_THE_CLOCK, [("19", 30)]),
                ("011", "Кардиологическое отделение", G.ROUND_THE_CLOCK, [("10", 24), ("11", 6)]),
                ("012", "Неврологическое отделение", G.ROUND_THE_CLOCK, [("12", 25)]),
                ("013", "Хирургическое отделение", G.ROUND_THE_CLOCK, [("22", 28), ("20", 12)]),
                ("014", "Гастроэнтерологическое отделение", G.ROUND_THE_CLOCK, [("3", 18)]),
                ("015", "Гинекологическое отделение", G.ROUND_THE_CLOCK, [("5", 15)]),
                ("020", "Дневной стационар терапевтического профиля", G.DAY_HOSPITAL, [("19", 10)]),
                ("030", "Стационар на дому", G.DAY_HOME, [("19", 5)]),
            ],
        ),
        (
            "002",
            "Поликлиника",
            K.POLYCLINIC,
            [
                ("101", "Терапевтическое отделение поликлиники", G.POLYCLINIC, []),
                ("102", "Отделение общей врачебной практики", G.POLYCLINIC, []),
                ("103", "Женская консультация", G.POLYCLINIC, []),
                ("104", "Стоматологическое отделение", G.POLYCLINIC, []),
                ("105", "Педиатрическое отделение", G.POLYCLINIC, []),
                ("120", "Дневной стационар при поликлинике", G.DAY_POLYCLINIC, [("19", 8)]),
            ],
        ),
        ("003", "Отделение скорой медицинской помощи", K.EMS, []),
    ],
    ADULT_MO: [
        (
            "001",
            "Поликлиника",
            K.POLYCLINIC,
            [
                ("001", "Терапевтическое отделение № 1", G.POLYCLINIC, []),
                ("002", "Терапевтическое отделение № 2", G.POLYCLINIC, []),
                ("003", "Отделение общей врачебной практики", G.POLYCLINIC, []),
                ("010", "Дневной стационар", G.DAY_POLYCLINIC, [("19", 10)]),
            ],
        ),
    ],
    CHILDREN_MO: [
        (
            "001",
            "Детская поликлиника",
            K.POLYCLINIC,
            [
                ("001", "Педиатрическое отделение № 1", G.POLYCLINIC, []),
                ("002", "Педиатрическое отделение № 2", G.POLYCLINIC, []),
                ("010", "Дневной стационар", G.DAY_POLYCLINIC, [("17", 6)]),
            ],
        ),
    ],
}

# V020 names as loaded by load_nsi (registry/nsi/V020.xml); the loaded rows win when present.
V020_NAMES = {
    "3": "гастроэнтерологические для взрослых",
    "5": "гинекологические",
    "10": "кардиологические для взрослых",
    "11": "кардиологические интенсивной терапии",
    "12": "неврологические для взрослых",
    "17": "педиатрические соматические",
    "19": "терапевтические",
    "20": "травматологические для взрослых",
    "22": "хирургические для взрослых",
}
CHILD_BED_PROFILES = {"17"}

# Sites: (first number, count, type, "building/department"); FAP sites are served by a feldsher.
SiteSpec = tuple[int, int, int, str]
SITES: dict[str, list[SiteSpec]] = {
    HOSPITAL_MO: [
        (1, 6, T.THERAPEUTIC, "002/101"),
        (7, 2, T.GENERAL_PRACTICE, "002/102"),
        (9, 3, T.FAP, "002/102"),
        (12, 1, T.GYNAECOLOGICAL, "002/103"),
        (13, 1, T.DENTAL, "002/104"),
        (14, 3, T.PAEDIATRIC, "002/105"),
    ],
    ADULT_MO: [
        (1, 5, T.THERAPEUTIC, "001/001"),
        (6, 4, T.THERAPEUTIC, "001/002"),
        (10, 2, T.GENERAL_PRACTICE, "001/003"),
        (12, 2, T.FAP, "001/003"),
    ],
    CHILDREN_MO: [
        (1, 4, T.PAEDIATRIC, "001/001"),
        (5, 4, T.PAEDIATRIC, "001/002"),
    ],
}
SITES_WITHOUT_DOCTOR = {(HOSPITAL_MO, "6"), (ADULT_MO, "9"), (CHILDREN_MO, "8")}
SITES_DOCTOR_WITHOUT_SNILS = {(HOSPITAL_MO, "3"), (ADULT_MO, "4")}
EXTRA_STAFF = {HOSPITAL_MO: (12, 14), ADULT_MO: (3, 6), CHILDREN_MO: (2, 4)}  # (doctors, mid-level)

# --- names -----------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = _words(
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков "
    "Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин "
    "Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов "
    "Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв "
    "Белов Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов "
    "Осипов Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Денисов "
    "Гаврилов Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Мартынов Ефимов "
    "Щербаков Назаров Калинин Исаев Быков Маслов Родионов Коновалов Лазарев Воронин Климов Филатов "
    "Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Трофимов Леонов Соболев Ермаков "
    "Колесников Гончаров Емельянов Никифоров Котов Гришин Ефремов Архипов Громов Кириллов Малышев "
    "Панов Моисеев Акимов Горбунов Анисимов Ерёмин Галкин Лукьянов Скворцов Юдин Белоусов Нестеров "
    "Пермяков Чудинов Вотинов Мехоношин Кычанов Шилов Пепеляев Лунегов Ожгибесов Сыропятов Зубарев "
    "Гилёв Вяткин Мальцев Тетерин Шистеров Бабушкин Хохряков Чащухин Собянин Полуэктов Старцев "
    "Покровский Успенский Вознесенский Троицкий Шевчук Ковальчук Бондаренко Мельниченко Гордиенко"
)

FIRST_NAMES: dict[int, tuple[list[str], list[str]]] = {  # born before → (male, female)
    1960: (
        _words(
            "Александр Владимир Николай Виктор Анатолий Геннадий Валентин Василий Юрий Борис Михаил Иван "
            "Пётр Леонид Валерий Евгений Фёдор Григорий"
        ),
        _words(
            "Валентина Галина Нина Людмила Тамара Надежда Лидия Раиса Зинаида Антонина Вера Мария Анна "
            "Клавдия Любовь Александра Евдокия"
        ),
    ),
    1990: (
        _words(
            "Сергей Андрей Александр Алексей Дмитрий Игорь Олег Владимир Евгений Михаил Вячеслав Константин "
            "Денис Роман Павел Виталий Юрий Николай"
        ),
        _words(
            "Елена Ольга Татьяна Светлана Наталья Ирина Марина Юлия Оксана Анна Екатерина Надежда Людмила "
            "Лариса Галина Евгения"
        ),
    ),
    9999: (
        _words(
            "Александр Максим Артём Дмитрий Кирилл Никита Иван Михаил Даниил Егор Матвей Тимофей Илья "
            "Андрей Роман Марк Лев Владислав"
        ),
        _words(
            "Анастасия Мария Дарья Анна Виктория Полина Елизавета Екатерина Софья Алиса Ксения Валерия "
            "Варвара Александра Ева Арина"
        ),
    ),
}

PATRONYMICS = [
    pair.split("/")
    for pair in _words(
        "Александрович/Александровна Сергеевич/Сергеевна Владимирович/Владимировна "
        "Николаевич/Николаевна Иванович/Ивановна Михайлович/Михайловна Викторович/Викторовна "
        "Андреевич/Андреевна Алексеевич/Алексеевна Дмитриевич/Дмитриевна Юрьевич/Юрьевна "
        "Анатольевич/Анатольевна Петрович/Петровна Васильевич/Васильевна Евгеньевич/Евгеньевна "
        "Геннадьевич/Геннадьевна Олегович/Олеговна Игоревич/Игоревна Павлович/Павловна "
        "Борисович/Борисовна Валерьевич/Валерьевна Фёдорович/Фёдоровна Ильич/Ильинична "
        "Романович/Романовна Константинович/Константиновна Григорьевич/Григорьевна"
    )
]

BIRTH_PLACES = [
    "г. Пермь",
    "г. Пермь",
    "г. Пермь",
    "Пермский край, г. Березники",
    "Пермский край, г. Соликамск",
    "Пермский край, г. Кунгур",
    "Пермский край, г. Чайковский",
    "Пермский край, г. Лысьва",
    "Пермский край, Пермский р-н, с. Фролы",
    "Свердловская обл., г. Екатеринбург",
    "Удмуртская Респ., г. Ижевск",
    "Респ. Башкортостан, г. Уфа",
]
DISTRICTS = ["Ленинском", "Свердловском", "Дзержинском", "Мотовилихинском", "Индустриальном", "Кировском"]
# (first birth year, last birth year, relative weight per year): a rough population pyramid
BIRTH_YEAR_WEIGHTS = [
    (1935, 1944, 1.0),
    (1945, 1954, 2.2),
    (1955, 1964, 3.2),
    (1965, 1974, 3.0),
    (1975, 1989, 3.4),
    (1990, 1999, 2.4),
    (2000, 2009, 2.6),
    (2010, 2024, 3.0),
]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]
CERT_LETTERS = ["ВГ", "ВЕ", "ВИ", "ВО", "ВП", "ГИ", "ГО", "ГС", "ЕА", "ЕК", "ЖИ", "КБ"]
OLD_POLICY_SERIES = ["ПМ", "ПР", "КМ", "СМ", "5901", "5902"]

# People plans: (name, share of all people, minimum count).
POLICY_PLANS = [
    ("old_open", 0.03, 3),  # an old-style (С) policy, still valid: it never expires
    ("old_then_uniform", 0.18, 3),  # С, then a uniform policy
    ("temporary_now", 0.02, 3),  # only a temporary certificate (В), valid now
    ("temporary_then_uniform", 0.06, 3),  # В, then a uniform policy
    ("uec", 0.015, 2),  # a policy in a universal electronic card (К)
    ("overlap", 0.02, 3),  # an SMO change where the old policy ends after the new one starts
    ("smo_change", 0.08, 2),  # an SMO change without overlap
    ("expired", 0.04, 4),  # the last policy expired: no valid policy now
]
ATTACHMENT_PLANS = [
    ("none", 0.03, 2),  # never attached (only treatment cases)
    ("detached", 0.03, 3),  # detached, no open attachment
    ("reattached", 0.04, 3),  # closed at one МО, open at another
    ("site_change", 0.02, 2),  # closed at one site, open at another site of the same МО
    ("conditional", 0.03, 3),  # open, conditional (by registration address, formats §4.1)
]


@dataclass
class DemoResult:
    counts: dict[str, int]
    users: list[tuple[str, list[str]]]  # username → workplaces as printable lines
    password: str
    register: Path | None = None  # the built-in fund's register of insured persons


# Steps that family apps add to the demo (registry imports no family app, DESIGN §2): each gets the
# demo's "today" and its own seeded generator, runs in the demo's transaction, returns its counts.
DemoStep = Callable[[dt.date, random.Random], dict[str, int]]
_demo_steps: list[DemoStep] = []


def register_demo_step(step: DemoStep) -> None:
    if step not in _demo_steps:
        _demo_steps.append(step)


class DemoError(Exception):
    """The demo cannot be loaded (already loaded, or reference data missing)."""


class DemoAlreadySeededError(DemoError):
    pass


def is_seeded() -> bool:
    User = get_user_model()
    return (
        Person.objects.exists()
        or Subdivision.objects.filter(mo__code__in=MO_CODES).exists()
        or User.objects.filter(username__in=DEMO_USERNAMES).exists()
    )


def seed_demo(persons: int = 2000, *, today: dt.date | None = None) -> DemoResult:
    """Create the whole demo set in one transaction; refuse when the database already holds data."""
    if is_seeded():
        raise DemoAlreadySeededError(
            "В базе уже есть люди, подразделения демо-МО или демо-пользователи: демо-данные не загружались "
            "повторно. Для новой загрузки очистите базу (manage.py flush)."
        )
    builder = DemoBuilder(persons, today or timezone.localdate())
    with transaction.atomic():
        result = builder.build()
    result.register = emulator_register_write(Path(settings.STORAGE_ROOT) / "emulator" / "register.json")
    return result


def emulator_register_write(path: Path) -> Path:
    """The built-in fund's register of insured persons (its answers to identification requests), made
    from the demo persons with deliberate differences: some unknown to the fund, some insured by another
    СМО, some whose policy expired and was renewed, some with the fund's own errors (B4, R3)."""
    rng = random.Random(SEED + 1)
    smos = list(Smo.objects.filter(code__startswith=settings.REGION_CODE).order_by("code"))
    register = []
    persons = Person.objects.prefetch_related("documents", "policies__smo").order_by("pk")
    first_of: dict[tuple[str, str, str, dt.date], int] = {}  # the same human twice: a duplicate
    for person in persons:
        same = (person.last_name, person.first_name, person.middle_name, person.birth_date)
        bdzid = person.fund_person_id or 9_000_000 + person.pk
        duplicate_of = first_of.setdefault(same, bdzid)
        roll = rng.random()
        if roll < 0.05:
            continue  # the fund does not know this person
        document = max(person.documents.all(), key=lambda d: d.issued_at or dt.date.min, default=None)
        policies: list[dict[str, Any]] = []
        for policy in sorted(person.policies.all(), key=lambda p: p.valid_from):
            smo = policy.smo or smos[0]
            policies.append(
                {
                    "type": policy.policy_type if policy.policy_type <= 5 else 3,
                    "ser": policy.series,
                    "num": policy.number,
                    "enp": policy.enp,
                    "smo": smo.code,
                    "smo_ogrn": smo.ogrn,
                    "okato": "57000",
                    "dbeg": policy.valid_from.isoformat(),
                    "dend": policy.valid_to.isoformat() if policy.valid_to else None,
                }
            )
        if policies and 0.05 <= roll < 0.10:  # insured by another СМО since this year
            other = next((s for s in smos if s.code != policies[-1]["smo"]), smos[0])
            start = dt.date(timezone.localdate().year, 1, 1)
            last = policies[-1]
            if last["dbeg"] < start.isoformat():
                last["dend"] = (start - DAY).isoformat()
                policies.append(
                    {
                        **last,
                        "smo": other.code,
                        "smo_ogrn": other.ogrn,
                        "dbeg": start.isoformat(),
                        "dend": None,
                    }
                )
        if policies and 0.10 <= roll < 0.14:  # the policy expired last year and was renewed
            last = policies[-1]
            renewal = dt.date(timezone.localdate().year, 1, 1)
            if last["dbeg"] < renewal.isoformat() and last["dend"] is None:
                last["dend"] = (renewal - DAY).isoformat()
                policies.append({**last, "dbeg": renewal.isoformat(), "dend": None})
        errors = [["Р04", "Расхождение ФИО с данными РС ЕРЗ"]] if 0.14 <= roll < 0.17 else []
        register.append(
            {
                "bdzid": bdzid,
                "fam": person.last_name,
                "im": person.first_name,
                "ot": person.middle_name,
                "dr": person.birth_date.isoformat(),
                "w": person.sex,
                "snils": person.snils,
                "doc_type": document.doc_type if document else None,
                "doc_ser": document.series if document else "",
                "doc_num": document.number if document else "",
                "policies": policies,
                "errors": errors,
                **({"duplicate_of": duplicate_of} if duplicate_of != bdzid else {}),
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"persons": register}, ensure_ascii=False, indent=0), encoding="utf-8")
    temporary.replace(path)
    return path


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _feminine(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ий"):
        return surname[:-2] + "ая"
    return surname


@dataclass
class _Person:
    """A person being built with what the later steps need."""

    obj: Person
    enp: str
    mo_code: str = ""  # the МО of the current (or last) attachment
    policy_plan: str = "regular"
    attachment_plan: str = "open"


class DemoBuilder:
    """Builds the demo set step by step; every random choice comes from one seeded generator."""

    def __init__(self, persons: int, today: dt.date) -> None:
        self.n = persons
        self.today = today
        self.yesterday = today - DAY
        self.rng = random.Random(SEED)
        self.counts: Counter[str] = Counter()
        self.mos: dict[str, Mo] = {}
        self.smos: list[Smo] = []
        self.departments: dict[tuple[str, str], Department] = {}  # (mo, "building/department")
        self.sites: dict[str, dict[int, list[Site]]] = {}  # mo → site type → sites
        self.used_snils: set[str] = set()
        self.people: list[_Person] = []

    # --- helpers -------------------------------------------------------------------------------

    def _save(self, label: str, objects: Sequence[Model]) -> None:
        if objects:
            type(objects[0])._default_manager.bulk_create(objects, batch_size=500)
        self.counts[label] += len(objects)

    def _date_between(self, first: dt.date, last: dt.date) -> dt.date:
        if last <= first:
            return first
        return first + dt.timedelta(days=self.rng.randint(0, (last - first).days))

    def _created_at(self) -> dt.datetime:
        """When the person came into the МИС: spread over three years, some in the last days, so the
        attachment file of any period has new persons («Р») beside the others («И») (issue 15)."""
        day = self._days_ago(0, 6) if self.rng.random() < 0.03 else self._days_ago(7, 1100)
        moment = dt.datetime.combine(day, dt.time(self.rng.randint(8, 17), self.rng.randint(0, 59)))
        return timezone.make_aware(moment)

    def _days_ago(self, low: int, high: int) -> dt.date:
        return self.today - dt.timedelta(days=self.rng.randint(low, high))

    def _snils(self) -> str:
        while True:
            snils = checkdigits.make_snils(self.rng.randint(2_000_000, 199_999_999))
            if snils not in self.used_snils:
                self.used_snils.add(snils)
                return snils

    def _name(self, sex: int, birth_year: int) -> tuple[str, str, str]:
        era = min(year for year in FIRST_NAMES if birth_year < year)
        male, female = FIRST_NAMES[era]
        surname = self.rng.choice(SURNAMES)
        patronymic = self.rng.choice(PATRONYMICS)
        if sex == Sex.MALE:
            return surname, self.rng.choice(male), patronymic[0]
        return _feminine(surname), self.rng.choice(female), patronymic[1]

    def _smo(self, other_than: Smo | None = None) -> Smo:
        while True:
            smo = self.rng.choices(self.smos, weights=SMO_WEIGHTS)[0]
            if smo != other_than:
                return smo

    def _assign_plans(
        self, plans: list[tuple[str, float, int]], attr: str, eligible: Callable[[str, Person], bool]
    ) -> None:
        """Give each plan its share of people (at least its minimum), disjoint, among the eligible."""
        order = list(self.people)
        self.rng.shuffle(order)
        for name, share, minimum in plans:
            wanted = max(minimum, round(share * self.n))
            for person in order:
                if wanted == 0:
                    break
                if getattr(person, attr) in ("regular", "open") and eligible(name, person.obj):
                    setattr(person, attr, name)
                    wanted -= 1

    # --- steps ---------------------------------------------------------------------------------

    def build(self) -> DemoResult:
        self.load_reference()
        self.build_structure()
        self.build_staff_and_sites()
        self.build_persons()
        self.build_documents()
        self.build_policies()
        self.build_attachments()
        self.build_treatment_cases()
        self.build_duplicates()
        self.build_identification_queue()
        for index, step in enumerate(_demo_steps):
            self.counts.update(step(self.today, random.Random(SEED + 100 + index)))
        users = self.build_users()
        return DemoResult(counts=dict(self.counts), users=users, password=settings.DEMO_PASSWORD)

    def load_reference(self) -> None:
        self.mos = {mo.code: mo for mo in Mo.objects.filter(code__in=MO_CODES)}
        self.smos = list(Smo.objects.filter(code__in=SMO_CODES).order_by("code"))
        if len(self.mos) != len(MO_CODES) or len(self.smos) != len(SMO_CODES):
            raise DemoError(
                f"В справочниках нет МО {', '.join(MO_CODES)} или СМО {', '.join(SMO_CODES)}: "
                "загрузите НСИ (manage.py load_nsi)."
            )

    def build_structure(self) -> None:
        """Buildings, departments, bed profiles and beds of the three МО."""
        v020 = dict(V020_NAMES)
        v020.update(NsiEntry.objects.filter(directory="V020").values_list("code", "name"))
        subdivisions: list[Subdivision] = []
        departments: list[tuple[str, str, Department, Beds]] = []
        for mo_code, buildings in STRUCTURE.items():
            for code, name, kind, specs in buildings:
                building = Subdivision(mo=self.mos[mo_code], code=code, name=name, kind=kind)
                subdivisions.append(building)
                for dep_code, dep_name, group, beds in specs:
                    department = Department(
                        subdivision=building, code=dep_code, name=dep_name, group_type=group
                    )
                    departments.append((mo_code, f"{code}/{dep_code}", department, beds))
        self._save("подразделений", subdivisions)
        self._save("отделений", [d for _m, _k, d, _b in departments])
        profiles: list[tuple[BedProfile, int]] = []
        for mo_code, key, department, beds in departments:
            self.departments[(mo_code, key)] = department
            for profile_code, count in beds:
                profile = BedProfile(
                    department=department,
                    profile_code=profile_code,
                    name=v020.get(profile_code, f"профиль V020 {profile_code}"),
                    date_begin=STRUCTURE_SINCE,
                )
                profiles.append((profile, count))
        self._save("профилей коек", [p for p, _c in profiles])
        beds_list: list[Bed] = []
        for profile, count in profiles:
            kind = Bed.Kind.CHILD if profile.profile_code in CHILD_BED_PROFILES else Bed.Kind.ADULT
            code = profile.department.code
            for i in range(1, count + 1):
                closed = i == count and count > 10  # the last bed of big profiles was taken out of service
                beds_list.append(
                    Bed(
                        bed_profile=profile,
                        number=f"{code}-{i:02d}",
                        kind=kind,
                        date_begin=STRUCTURE_SINCE,
                        date_end=self._days_ago(30, 400) if closed else None,
                    )
                )
        self._save("коек", beds_list)

    def build_staff_and_sites(self) -> None:
        """District doctors and feldshers, extra staff, and the districts (участки) they serve."""
        staff: list[Staff] = []
        site_doctor: dict[tuple[str, str], Staff] = {}

        def worker(mo_code: str, post: int, with_snils: bool = True) -> Staff:
            sex = self.rng.choices([Sex.MALE, Sex.FEMALE], weights=[30, 70])[0]
            last, first, middle = self._name(sex, self.rng.randint(1960, 1997))
            person = Staff(
                mo=self.mos[mo_code],
                last_name=last,
                first_name=first,
                middle_name=middle,
                snils=self._snils() if with_snils else "",
                post_type=post,
            )
            staff.append(person)
            return person

        for mo_code, specs in SITES.items():
            for first_number, count, site_type, _dep in specs:
                for number in range(first_number, first_number + count):
                    key = (mo_code, str(number))
                    if key in SITES_WITHOUT_DOCTOR:
                        continue
                    post = Staff.PostType.MID_LEVEL if site_type == T.FAP else Staff.PostType.DOCTOR
                    site_doctor[key] = worker(mo_code, post, key not in SITES_DOCTOR_WITHOUT_SNILS)
            doctors, mid_level = EXTRA_STAFF[mo_code]
            for _ in range(doctors):
                worker(mo_code, Staff.PostType.DOCTOR)
            for _ in range(mid_level):
                worker(mo_code, Staff.PostType.MID_LEVEL)
        self._save("медработников", staff)

        sites: list[Site] = []
        for mo_code, specs in SITES.items():
            self.sites[mo_code] = defaultdict(list)
            for first_number, count, site_type, dep in specs:
                for number in range(first_number, first_number + count):
                    site = Site(
                        mo=self.mos[mo_code],
                        department=self.departments[(mo_code, dep)],
                        number=str(number),
                        site_type=site_type,
                        doctor=site_doctor.get((mo_code, str(number))),
                        date_begin=STRUCTURE_SINCE,
                    )
                    sites.append(site)
                    self.sites[mo_code][site_type].append(site)
        self._save("участков", sites)

    def _birth_date(self) -> dt.date:
        latest = min(LATEST_BIRTH, self.yesterday)
        years: list[int] = []
        weights: list[float] = []
        for first, last, weight in BIRTH_YEAR_WEIGHTS:
            for year in range(first, min(last, latest.year) + 1):
                years.append(year)
                weights.append(weight)
        year = self.rng.choices(years, weights=weights)[0]
        day = dt.date(year, 1, 1) + dt.timedelta(days=self.rng.randint(0, 364))
        return min(max(day, EARLIEST_BIRTH), latest)

    def build_persons(self) -> None:
        """People with valid ЕНП (kept for their policies) and СНИЛС; most identified in the fund."""
        used_enp: set[str] = set()
        fund_id = 7_000_000
        for _ in range(self.n):
            birth = self._birth_date()
            female_share = 0.52 if birth.year >= 1970 else 0.62 if birth.year >= 1950 else 0.72
            sex = Sex.FEMALE if self.rng.random() < female_share else Sex.MALE
            last, first, middle = self._name(sex, birth.year)
            while True:
                enp = checkdigits.make_enp(REGION, birth, sex, self.rng.randint(1, 99_999))
                if enp not in used_enp:
                    used_enp.add(enp)
                    break
            fund_id += self.rng.randint(1, 40)
            identified = self.rng.random() < 0.92
            person = Person(
                last_name=last,
                first_name=first,
                middle_name=middle,
                birth_date=birth,
                sex=sex,
                snils=self._snils() if self.rng.random() < 0.9 else "",
                birth_place=self.rng.choice(BIRTH_PLACES),
                fund_person_id=fund_id if identified else None,
                identified_in_tfoms=identified,
                identified_at=self._days_ago(1, 1500) if identified else None,
                created_at=self._created_at(),
            )
            self.people.append(_Person(obj=person, enp=enp))
        self._save("людей", [p.obj for p in self.people])

    def build_documents(self) -> None:
        """A passport (F011 14) from 14 years of age, a birth certificate (F011 3) before."""
        documents: list[IdentityDocument] = []
        used: set[tuple[str, str]] = set()
        for person in self.people:
            birth = person.obj.birth_date
            if _age(birth, self.today) < 14:
                doc_type, issued = 3, birth + dt.timedelta(days=self.rng.randint(3, 30))
                series = f"{self.rng.choice(ROMAN)}-{self.rng.choice(CERT_LETTERS)}"
                issuer = f"Отдел ЗАГС {self.rng.choice(DISTRICTS)[:-2]}ого района г. Перми"
            else:
                milestones = [_add_years(birth, age) for age in (14, 20, 45)]
                issued = max(m for m in milestones if m <= self.today)
                if issued < dt.date(1998, 1, 1):  # Soviet passports were exchanged in 1998–2004
                    issued = self._date_between(dt.date(1998, 1, 1), dt.date(2004, 12, 31))
                issued = min(issued + dt.timedelta(days=self.rng.randint(1, 45)), self.today)
                doc_type, series = 14, f"{OKATO_REGION}{issued.year % 100:02d}"
                district = self.rng.choice(DISTRICTS)
                if issued.year < 2005:
                    issuer = f"ОВД {district[:-2]}ого р-на г. Перми"
                elif issued.year < 2019:
                    issuer = f"Отделом УФМС России по Пермскому краю в {district} р-не г. Перми"
                else:
                    issuer = "ГУ МВД России по Пермскому краю"
            while True:
                number = f"{self.rng.randint(100_000, 999_999)}"
                if (series, number) not in used:
                    used.add((series, number))
                    break
            documents.append(
                IdentityDocument(
                    person=person.obj,
                    doc_type=doc_type,
                    series=series,
                    number=number,
                    issued_at=issued,
                    issuer=issuer,
                )
            )
        self._save("документов", documents)

    def _policy_eligible(self, plan: str, person: Person) -> bool:
        born = person.birth_date
        if plan in ("old_open", "old_then_uniform"):
            return born.year <= 2009
        if plan == "uec":
            return born.year <= 1995
        if plan in ("overlap", "smo_change", "expired"):
            return born <= _add_years(self.today, -3)
        return True

    def _uniform_start(self, born: dt.date) -> dt.date:
        if born < UNIFORM_POLICIES_FROM:
            return self._date_between(UNIFORM_POLICIES_FROM, dt.date(2017, 12, 31))
        return min(born + dt.timedelta(days=self.rng.randint(3, 60)), self.today)

    def _policy(
        self, person: _Person, form: str, start: dt.date, end: dt.date | None, smo: Smo | None = None
    ) -> Policy:
        policy_type = {"С": 1, "В": 2}.get(form, 3)
        identified = person.obj.fund_person_id is not None and self.rng.random() < 0.7
        series, number, enp = "", "", person.enp
        if form == Policy.Form.OLD:
            series, number, enp = (
                self.rng.choice(OLD_POLICY_SERIES),
                f"{self.rng.randint(10**7, 10**9):d}",
                "",
            )
        elif form == Policy.Form.TEMPORARY:
            number = f"{REGION}{self.rng.randint(1_000_000, 9_999_999)}"
        return Policy(
            person=person.obj,
            policy_type=policy_type,
            form=form,
            series=series,
            number=number,
            enp=enp,
            smo=smo or self._smo(),
            valid_from=start,
            valid_to=end,
            source=Policy.Source.IDENTIFICATION if identified else Policy.Source.MANUAL,
        )

    def _policy_history(self, person: _Person) -> list[Policy]:
        plan, born = person.policy_plan, person.obj.birth_date
        start = self._uniform_start(born)
        uniform = Policy.Form.ELECTRONIC if start >= ELECTRONIC_POLICIES_FROM else Policy.Form.PAPER
        history: list[Policy] = []
        if plan in ("old_open", "old_then_uniform"):
            old_start = self._date_between(max(born + 30 * DAY, dt.date(1998, 1, 1)), dt.date(2010, 12, 31))
            old_end = None if plan == "old_open" else start - DAY  # valid until replaced
            history.append(self._policy(person, Policy.Form.OLD, old_start, old_end))
            if plan == "old_open":
                return history
        if plan == "temporary_now":
            issued = max(born, self._days_ago(0, 40))
            return [self._policy(person, Policy.Form.TEMPORARY, issued, issued + 44 * DAY)]
        if plan == "temporary_then_uniform":
            issued = max(born, start - self.rng.randint(20, 45) * DAY)
            history.append(self._policy(person, Policy.Form.TEMPORARY, issued, max(issued, start - DAY)))
        if plan == "uec":
            start = self._date_between(dt.date(2013, 1, 1), dt.date(2016, 12, 31))
            return [self._policy(person, Policy.Form.UEC, start, None)]
        if plan in ("overlap", "smo_change"):
            switch = self._date_between(start + 365 * DAY, self.today - 30 * DAY)
            first_smo = self._smo()
            first_end = switch + self.rng.randint(10, 90) * DAY if plan == "overlap" else switch - DAY
            history.append(self._policy(person, uniform, start, first_end, first_smo))
            second = Policy.Form.ELECTRONIC if switch >= ELECTRONIC_POLICIES_FROM else Policy.Form.PAPER
            history.append(self._policy(person, second, switch, None, self._smo(other_than=first_smo)))
            return history
        end: dt.date | None = None
        if plan == "expired":
            end = max(start, self._days_ago(20, 700))
        history.append(self._policy(person, uniform, start, end))
        return history

    def build_policies(self) -> None:
        """Policy histories: all five forms, expired, overlapping and missing current policies."""
        self._assign_plans(POLICY_PLANS, "policy_plan", self._policy_eligible)
        policies = [policy for person in self.people for policy in self._policy_history(person)]
        self._save("полисов", policies)

    def _site(self, mo_code: str, types: Sequence[int], other_than: Site | None = None) -> Site:
        choices = [s for t in types for s in self.sites[mo_code].get(t, []) if s != other_than]
        return self.rng.choice(choices)

    def _home_mo(self, person: Person) -> str:
        if _age(person.birth_date, self.today) < 18:
            return CHILDREN_MO if self.rng.random() < 0.7 else HOSPITAL_MO
        return HOSPITAL_MO if self.rng.random() < 0.55 else ADULT_MO

    def _attachment(
        self, person: Person, mo_code: str, start: dt.date, *, other_site: Site | None = None
    ) -> Attachment:
        child = _age(person.birth_date, self.today) < 18
        fap_site = None
        if child:
            site = self._site(mo_code, [T.PAEDIATRIC], other_site)
        else:
            site = self._site(mo_code, [T.THERAPEUTIC, T.GENERAL_PRACTICE], other_site)
            if T.FAP in self.sites[mo_code] and self.rng.random() < 0.12:
                fap_site = self._site(mo_code, [T.FAP])
        method = self.rng.choices([1, 2, 0], weights=[65, 30, 5])[0]
        return Attachment(
            person=person, mo=self.mos[mo_code], site=site, fap_site=fap_site, method=method, date_from=start
        )

    def _attachment_start(self, person: Person, low: int = 60) -> dt.date:
        born = person.birth_date
        return min(max(born + self.rng.randint(3, 30) * DAY, self._days_ago(low, 12 * 365)), self.today)

    def _attachment_history(self, person: _Person) -> list[Attachment]:
        plan, obj = person.attachment_plan, person.obj
        if plan == "none":
            return []
        mo_code = self._home_mo(obj)
        person.mo_code = mo_code
        current = self._attachment(obj, mo_code, self._attachment_start(obj, low=800))
        history = [current]
        if plan == "detached":
            current.date_to = max(current.date_from, self._days_ago(5, 700))
            current.close_cause = self.rng.choice([Attachment.CloseCause.MOVED, Attachment.CloseCause.OTHER])
        elif plan in ("reattached", "site_change"):
            moved = max(current.date_from + DAY, self._days_ago(10, 700))
            current.date_to, current.close_cause = moved - DAY, Attachment.CloseCause.OTHER_SITE
            new_mo = mo_code
            if plan == "reattached":
                current.close_cause = Attachment.CloseCause.OTHER_MO
                other = CHILDREN_MO if _age(obj.birth_date, self.today) < 18 else ADULT_MO
                new_mo = other if mo_code == HOSPITAL_MO else HOSPITAL_MO
            site = current.site if new_mo == mo_code else None
            latest = self._attachment(obj, new_mo, moved, other_site=site)
            latest.method = Attachment.Method.BY_APPLICATION
            history.append(latest)
            person.mo_code = new_mo
        elif plan == "conditional":
            current.method, current.is_conditional = Attachment.Method.BY_ADDRESS, True
        adult_woman = obj.sex == Sex.FEMALE and _age(obj.birth_date, self.today) >= 18
        if adult_woman and person.mo_code == HOSPITAL_MO and plan != "detached" and self.rng.random() < 0.15:
            history.append(
                Attachment(
                    person=obj,
                    mo=self.mos[HOSPITAL_MO],
                    site=self._site(HOSPITAL_MO, [T.GYNAECOLOGICAL]),
                    method=Attachment.Method.BY_APPLICATION,
                    attach_type=Attachment.AttachType.GYNAECOLOGICAL,
                    date_from=max(_add_years(obj.birth_date, 18), self._attachment_start(obj)),
                )
            )
        return history

    def build_attachments(self) -> None:
        """Attachments to МО and districts: open, conditional, detached and re-attached ones."""
        self._assign_plans(ATTACHMENT_PLANS, "attachment_plan", lambda _plan, _person: True)
        attachments = [a for person in self.people for a in self._attachment_history(person)]
        self._save("прикреплений", attachments)

    def _case(self, person: _Person, start: dt.date, *, inpatient: bool | None = None) -> TreatmentCase:
        child = _age(person.obj.birth_date, start) < 18
        if inpatient is None:
            inpatient = self.rng.random() < 0.15
        if inpatient:
            mo_code = CHILDREN_MO if child else HOSPITAL_MO
            end: dt.date | None = start + self.rng.randint(1, 14) * DAY
        else:
            mo_code = person.mo_code or self._home_mo(person.obj)
            end = start + self.rng.choice([0, 0, 0, 3, 7, 14, 21]) * DAY
        if end is not None and end > self.today:
            end = None  # still being treated
        kind = TreatmentCase.Kind.INPATIENT if inpatient else TreatmentCase.Kind.OUTPATIENT
        payment = TreatmentCase.Payment.OMS if self.rng.random() < 0.92 else TreatmentCase.Payment.OTHER
        return TreatmentCase(
            number="",
            kind=kind,
            person=person.obj,
            mo=self.mos[mo_code],
            date_begin=start,
            date_end=end,
            payment=payment,
        )

    def build_treatment_cases(self) -> None:
        """ТАП and КВС over two years, every recent day covered, some without a valid policy."""
        counters: Counter[tuple[str, str]] = Counter()
        cases: list[TreatmentCase] = []
        for person in self.people:
            count = self.rng.choices([0, 1, 2, 3], weights=[25, 40, 25, 10])[0]
            if person.attachment_plan == "none":
                count = max(count, 1)
            born = person.obj.birth_date
            for _ in range(count):
                cases.append(self._case(person, max(born, self._days_ago(0, 730))))
        per_day = max(4, self.n // 100)
        visitors = [p for p in self.people if p.obj.birth_date < self.today - 7 * DAY]
        for days_ago in range(1, 8):
            for person in self.rng.sample(visitors, min(per_day, len(visitors))):
                cases.append(self._case(person, self.today - days_ago * DAY))
        # Yesterday's one-visit ОМС outpatient cases are always there, some of people without a policy.
        without_policy = [p for p in self.people if p.policy_plan == "expired"]
        yesterdays = without_policy[: max(3, len(without_policy) // 2)]
        yesterdays += self.rng.sample(visitors, min(3, len(visitors)))
        for person in yesterdays:
            case = self._case(person, self.yesterday, inpatient=False)
            case.payment, case.date_end = TreatmentCase.Payment.OMS, self.yesterday
            cases.append(case)
        cases.sort(key=lambda c: (c.date_begin, c.mo.code, c.kind))
        for case in cases:
            counters[(case.mo.code, case.kind)] += 1
            case.number = f"{counters[(case.mo.code, case.kind)]:06d}"
        self._save("случаев лечения", cases)

    def build_duplicates(self) -> None:
        """A few persons registered twice (the same human, another fund id, a visit to another МО):
        the fund's DOUBLES about them lists both on "Объединённые записи ТФОМС" (C7)."""
        originals = [p for p in self.people if p.obj.fund_person_id is not None][7::97][:4]
        copies = []
        for index, original in enumerate(originals):
            person = original.obj
            copies.append(
                _Person(
                    obj=Person(
                        last_name=person.last_name,
                        first_name=person.first_name,
                        middle_name=person.middle_name,
                        birth_date=person.birth_date,
                        sex=person.sex,
                        fund_person_id=8_900_001 + index,
                        identified_in_tfoms=True,
                        identified_at=self._days_ago(30, 400),
                    ),
                    enp=original.enp,
                )
            )
        self._save("повторно заведённых людей", [c.obj for c in copies])
        cases = [self._case(copy, self._days_ago(5, 200), inpatient=True) for copy in copies]
        for number, case in enumerate(cases, start=900_001):
            case.number = f"{number:06d}"
        TreatmentCase.objects.bulk_create(cases)

    def build_identification_queue(self) -> None:
        """A few persons of each МО waiting for identification, so the form has work at once (B2)."""
        now = timezone.now()
        queued = 0
        for mo_code, mo in self.mos.items():
            candidates = [p.obj for p in self.people if p.mo_code == mo_code][:: max(1, self.n // 60)][:10]
            for person in candidates:
                person.identification_requested_at = now
                person.identification_request_reason = Person.IdentificationReason.NEW_PERSON
                person.identification_request_mo = mo
            Person.objects.bulk_update(
                candidates,
                ["identification_requested_at", "identification_request_reason", "identification_request_mo"],
            )
            queued += len(candidates)
        self.counts["в очереди на идентификацию"] += queued

    def build_users(self) -> list[tuple[str, list[str]]]:
        """The four demo users and their workplaces (АРМ)."""
        User = get_user_model()
        specs = [
            (
                "dc_admin",
                "Андрей",
                "Пермяков",
                [
                    (Role.DC_ADMIN, HOSPITAL_MO, "Администратор ЦОД"),
                    (Role.STATISTICIAN, HOSPITAL_MO, "Медицинский статистик"),
                    (Role.MO_ADMIN, CHILDREN_MO, "Администратор МО"),
                ],
            ),
            ("mo_admin", "Ольга", "Чудинова", [(Role.MO_ADMIN, HOSPITAL_MO, "Администратор МО")]),
            ("mo_admin2", "Ирина", "Вотинова", [(Role.MO_ADMIN, ADULT_MO, "Администратор МО")]),
            (
                "statistician",
                "Елена",
                "Мальцева",
                [(Role.STATISTICIAN, HOSPITAL_MO, "Медицинский статистик")],
            ),
        ]
        # the manual's columns "Подразделение / Отделение / Служба" and "Расписание" (§3.2)
        units = {
            Role.DC_ADMIN: ("Центр обработки данных", "Пн–Пт 08:00–17:00"),
            Role.MO_ADMIN: ("Отдел информационных технологий", "Пн–Пт 08:00–16:30"),
            Role.STATISTICIAN: ("Кабинет медицинской статистики", "Пн–Пт 08:00–15:42"),
        }
        printed: list[tuple[str, list[str]]] = []
        workplaces: list[Workplace] = []
        password = make_password(settings.DEMO_PASSWORD)  # hashed once: hashing is deliberately slow
        for username, first, last, places in specs:
            user = User.objects.create(username=username, password=password, first_name=first, last_name=last)
            lines = []
            for role, mo_code, post in places:
                mo = self.mos[mo_code]
                unit, schedule = units[role]
                workplaces.append(
                    Workplace(user=user, mo=mo, role=role, post=post, unit=unit, schedule=schedule)
                )
                lines.append(f"{Role(role).label} — {mo.code} {mo.name_short}")
            printed.append((username, lines))
        self.counts["пользователей"] += len(specs)
        self._save("мест работы (АРМ)", workplaces)
        return printed
