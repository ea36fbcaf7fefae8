"""Check digits of СНИЛС, ЕНП and ОГРН (reference/formats.md §9), as validators and generators."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from stdnum.ru import ogrn as stdnum_ogrn

_DIGITS = re.compile(r"\d+")
SNILS_CHECK_THRESHOLD = 1_001_998  # numbers up to 001-001-998 carry no check (§9.1)


def digits_only(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


# --- СНИЛС ---------------------------------------------------------------------------------


def snils_control(number9: str) -> str:
    """The two control digits of a 9-digit СНИЛС number (§9.1)."""
    total = sum(int(d) * w for d, w in zip(number9, range(9, 0, -1), strict=True))
    while total > 101:
        total %= 101
    return "00" if total in (100, 101) else f"{total:02d}"


def snils_is_valid(value: str) -> bool:
    snils = digits_only(value)
    if len(snils) != 11 or len(value.strip()) not in (11, 14):
        return False
    if int(snils[:9]) <= SNILS_CHECK_THRESHOLD:
        return True
    return snils_control(snils[:9]) == snils[9:]


def snils_format(value: str) -> str:
    """11 stored digits → `XXX-XXX-XXX XX`; anything else is returned as it is."""
    s = digits_only(value)
    if len(s) != 11:
        return value
    return f"{s[:3]}-{s[3:6]}-{s[6:9]} {s[9:]}"


def make_snils(number9: int) -> str:
    n = f"{number9:09d}"
    return n + snils_control(n)


def validate_snils(value: str) -> None:
    if value and not snils_is_valid(value):
        raise ValidationError("Некорректный СНИЛС: не сходится контрольное число.", code="snils")


# --- ЕНП -----------------------------------------------------------------------------------


def luhn_check_digit(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # rightmost payload digit is doubled (it becomes position 2 with the check digit)
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def enp_is_valid(value: str) -> bool:
    """Length 16, digits only, Luhn (§9.2)."""
    return len(value) == 16 and value.isdigit() and luhn_check_digit(value[:15]) == value[15]


def enp_facet(birth_date: dt.date, sex: int) -> str:
    """Positions 3–10 of an ЕНП computed from birth date and sex (1 male, 2 female)."""

    def inv(s: str) -> str:
        return "".join(str(9 - int(c)) for c in s)

    month = birth_date.month + (20 if birth_date.year <= 1950 else 40 if birth_date.year <= 2000 else 0)
    day = birth_date.day + (50 if sex == 1 else 0)
    return inv(f"{month:02d}") + inv(f"{birth_date.year:04d}"[::-1]) + inv(f"{day:02d}")


def enp_facet_matches(enp: str, birth_date: dt.date, sex: int) -> bool:
    """A warning only: the fund's numbers are never refused for it."""
    return enp[2:10] == enp_facet(birth_date, sex)


def make_enp(region: str, birth_date: dt.date, sex: int, serial: int) -> str:
    payload = f"{region}{enp_facet(birth_date, sex)}{serial:05d}"
    return payload + luhn_check_digit(payload)


def validate_enp(value: str) -> None:
    if value and not enp_is_valid(value):
        raise ValidationError("Некорректный ЕНП: нужно 16 цифр с верной контрольной цифрой.", code="enp")


# --- ОГРН ----------------------------------------------------------------------------------


def ogrn_is_valid(value: str) -> bool:
    """ОГРН (13) and ОГРНИП (15): remainder mod 11 (13) then mod 10 (§9.3, python-stdnum)."""
    return bool(_DIGITS.fullmatch(value)) and stdnum_ogrn.is_valid(value)


def make_ogrn(first12: str) -> str:
    return first12 + str(int(first12) % 11 % 10)


def validate_ogrn(value: str) -> None:
    if value and not ogrn_is_valid(value):
        raise ValidationError("Некорректный ОГРН: не сходится контрольная цифра.", code="ogrn")


def validate_three_digits(value: str) -> None:
    if not re.fullmatch(r"\d{3}", value):
        raise ValidationError("Код должен состоять из трёх цифр.", code="three_digits")
