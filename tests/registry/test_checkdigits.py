"""Check digits of reference/formats.md §9 on its worked examples (F1, issue 2 item 3)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from registry import checkdigits


@pytest.mark.parametrize(
    "snils",
    [
        "112-233-445 95",
        "123-456-789 64",
        "100-018-999 00",
        "100-019-899 00",
        "087-654-303 00",
        "001-001-998 00",
    ],
)
def test_snils_worked_examples_are_valid(snils):
    assert checkdigits.snils_is_valid(snils)
    assert checkdigits.snils_is_valid(checkdigits.digits_only(snils))


@pytest.mark.parametrize("snils", ["112-233-445 96", "12345678965", "1234567896", "123-456-789 6X"])
def test_snils_wrong_control_or_shape_is_refused(snils):
    assert not checkdigits.snils_is_valid(snils)
    with pytest.raises(ValidationError, match="СНИЛС"):
        checkdigits.validate_snils(snils)


def test_snils_below_threshold_is_not_checked():
    assert checkdigits.snils_is_valid("00100199812")


def test_snils_format():
    assert checkdigits.snils_format("11223344595") == "112-233-445 95"


@pytest.mark.parametrize(
    ("region", "sex", "birth", "serial", "facet", "enp"),
    [
        ("59", 1, dt.date(1985, 3, 15), 1, "56410834", "5956410834000014"),
        ("59", 2, dt.date(1985, 3, 15), 1, "56410884", "5956410884000013"),
        ("59", 1, dt.date(1949, 12, 1), 1, "67050848", "5967050848000019"),
        ("10", 2, dt.date(2005, 7, 9), 123, "92499790", "1092499790001235"),
        ("77", 1, dt.date(1962, 11, 30), 4512, "48730819", "7748730819045125"),
    ],
)
def test_enp_worked_examples(region, sex, birth, serial, facet, enp):
    assert checkdigits.enp_facet(birth, sex) == facet
    assert checkdigits.make_enp(region, birth, sex, serial) == enp
    assert checkdigits.enp_is_valid(enp)
    assert checkdigits.enp_facet_matches(enp, birth, sex)


@pytest.mark.parametrize("enp", ["5956410834000015", "595641083400001", "59564108340000A4", ""])
def test_enp_invalid(enp):
    assert not checkdigits.enp_is_valid(enp)


def test_enp_facet_mismatch_is_detected_but_number_stays_valid():
    enp = "5956410834000014"  # a man born 15.03.1985
    assert checkdigits.enp_is_valid(enp)
    assert not checkdigits.enp_facet_matches(enp, dt.date(1985, 3, 15), 2)


@pytest.mark.parametrize(
    "ogrn", ["1024400519330", "1134401012712", "1027812400868", "1127746509780", "304500116000157"]
)
def test_real_ogrns_are_valid(ogrn):
    assert checkdigits.ogrn_is_valid(ogrn)


def test_ogrn_remainder_ten_takes_younger_digit():
    assert checkdigits.make_ogrn("102500000008") == "1025000000080"
    assert checkdigits.ogrn_is_valid("1025000000080")
    assert not checkdigits.ogrn_is_valid("1000000000001")
    with pytest.raises(ValidationError, match="ОГРН"):
        checkdigits.validate_ogrn("1024400519331")
