"""Check digits the fund verifies (reference/formats.md §9); the emulator has its own copy by design."""

from __future__ import annotations

import re

_SNILS = re.compile(r"(\d{3})-(\d{3})-(\d{3}) (\d{2})|(\d{11})")
# Numbers up to 001-001-998 were issued before the check digits existed and are accepted as they are.
_SNILS_UNCHECKED_UP_TO = 1_001_998


def snils_digits(value: str) -> str | None:
    """The 11 digits of a СНИЛС written `XXX-XXX-XXX XX` or as 11 digits; None for any other shape."""
    match = _SNILS.fullmatch(value)
    if match is None:
        return None
    return match.group(5) or "".join(match.group(1, 2, 3, 4))


def snils_control(number: str) -> int:
    """The two-digit control of a 9-digit СНИЛС number: weights 9…1, mod 101, 100 and 101 → 00."""
    total = sum(int(digit) * weight for digit, weight in zip(number, range(9, 0, -1), strict=True))
    while total > 101:
        total %= 101
    return 0 if total in (100, 101) else total


def snils_valid(value: str) -> bool:
    """True when `value` is a well-formed СНИЛС whose control digits match (§9.1)."""
    digits = snils_digits(value)
    if digits is None:
        return False
    number, control = digits[:9], int(digits[9:])
    if int(number) <= _SNILS_UNCHECKED_UP_TO:
        return True
    return snils_control(number) == control


def enp_valid(value: str) -> bool:
    """ЕНП: 16 digits, the last a Luhn check digit over the first 15 (formats §9.2)."""
    if len(value) != 16 or not value.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(value[:15])):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10) == value[15]
