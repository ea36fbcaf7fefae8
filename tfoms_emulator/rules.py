"""The fund's business rules per package type, applied after the XSD check (F012 codes, formats §8.6)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from lxml import etree

from . import clock
from .checks import enp_valid, snils_digits, snils_valid
from .xmlio import text

# F012 codes (formats §8.6) and our own code for a simulated refusal.
FORMAT_ERROR = 901  # wrong structure: XSD, malformed XML, DOCTYPE, size
MISSING_VALUE = 902
WRONG_VALUE = 904
DUPLICATE_KEY = 905
SIMULATED_REJECT = 999


class Error(NamedTuple):
    """One ERROR_RESULT of an ANSWER."""

    code: int
    name: str


# What the fund knows: package type → (CODE_MO, object id) → the object's last BODY fields.
Known = dict[str, dict[tuple[str, int], dict[str, str]]]
# A rule checks a schema-valid package and, only when it returns no error, applies it to `Known`.
Rule = Callable[[etree._Element, Known], list[Error]]


def _body_fields(root: etree._Element) -> dict[str, str]:
    body = root.find("BODY")
    if body is None:
        return {}
    return {str(child.tag): (child.text or "").strip() for child in body if isinstance(child.tag, str)}


def _snils_errors(value: str | None, what: str) -> list[Error]:
    if not value:
        return []
    if snils_digits(value) is None:
        return [Error(WRONG_VALUE, f"{what}: неверный формат СНИЛС «{value}» (XXX-XXX-XXX XX или 11 цифр)")]
    if not snils_valid(value):
        return [Error(WRONG_VALUE, f"{what}: неверное контрольное число СНИЛС «{value}»")]
    return []


def district(root: etree._Element, known: Known) -> list[Error]:
    """DISTRICT (formats §4.3): the key is LPUREGION_ID within CODE_MO; BODY is omitted on Delete."""
    operation = text(root, "HEADER/OPERATIONTYPE") or ""
    code_mo = text(root, "HEADER/CODE_MO") or ""
    region_id = int(text(root, "HEADER/LPUREGION_ID") or "0")
    key = (code_mo, region_id)
    districts = known.setdefault("DISTRICT", {})
    where = f"LPUREGION_ID {region_id}, МО {code_mo}"

    errors: list[Error] = []
    if operation == "Insert" and key in districts:
        errors.append(Error(DUPLICATE_KEY, f"Участок уже известен ТФОМС ({where})"))
    if operation in ("Update", "Delete") and key not in districts:
        errors.append(Error(WRONG_VALUE, f"Участок не найден ({where})"))
    if operation in ("Insert", "Update"):
        if root.find("BODY") is None:
            errors.append(Error(FORMAT_ERROR, f"Для операции {operation} обязателен BODY"))
        errors += _snils_errors(text(root, "BODY/DOC_SNILS"), "DOC_SNILS")
    if errors:
        return errors

    if operation == "Delete":
        del districts[key]
    else:
        districts[key] = _body_fields(root)
    return []


def _district_numbers(known: Known, code_mo: str) -> set[int]:
    """The districts of an МО the fund knows, by their number (LPUREGION_NAME digits)."""
    numbers = set()
    for (mo, _), fields in known.get("DISTRICT", {}).items():
        digits = "".join(ch for ch in fields.get("LPUREGION_NAME", "") if ch.isdigit())
        if mo == code_mo and digits:
            numbers.add(int(digits))
    return numbers


def _attachment_key(
    root: etree._Element, known: Known, package_type: str
) -> tuple[list[Error], tuple[str, int]]:
    operation = text(root, "HEADER/OPERATIONTYPE") or ""
    code_mo = text(root, "HEADER/CODE_MO") or ""
    attach_id = int(text(root, "HEADER/PERSONATTACHID") or "0")
    key = (code_mo, attach_id)
    attachments = known.setdefault(package_type, {})
    where = f"PERSONATTACHID {attach_id}, МО {code_mo}"
    errors: list[Error] = []
    if operation == "Insert" and key in attachments:
        errors.append(Error(DUPLICATE_KEY, f"Прикрепление уже известно ТФОМС ({where})"))
    if operation in ("Update", "Delete") and key not in attachments:
        errors.append(Error(WRONG_VALUE, f"Прикрепление не найдено ({where})"))
    if operation in ("Insert", "Update") and root.find("BODY") is None:
        errors.append(Error(FORMAT_ERROR, f"Для операции {operation} обязателен BODY"))
    return errors, key


def _apply(root: etree._Element, known: Known, package_type: str, key: tuple[str, int]) -> None:
    if (text(root, "HEADER/OPERATIONTYPE") or "") == "Delete":
        known[package_type].pop(key, None)
    else:
        known[package_type][key] = _body_fields(root)


def person_attach_district(root: etree._Element, known: Known) -> list[Error]:
    """PERSONATTACHDISTRICT: the person's СНИЛС and ЕНП valid, the doctors' СНИЛС valid, and the
    districts named by UCH / UCH_F sent before (the Insert order of formats §2.3)."""
    errors, key = _attachment_key(root, known, "PERSONATTACHDISTRICT")
    if root.find("BODY") is not None:
        errors += _snils_errors(text(root, "BODY/SNILS"), "SNILS")
        errors += _snils_errors(text(root, "BODY/SNILS_VR"), "SNILS_VR")
        errors += _snils_errors(text(root, "BODY/SNILS_VR_F"), "SNILS_VR_F")
        npolis = text(root, "BODY/NPOLIS") or ""
        if (text(root, "BODY/VPOLIS") or "") in ("3", "4", "5") and npolis and not enp_valid(npolis):
            errors.append(Error(WRONG_VALUE, f"NPOLIS: неверный ЕНП «{npolis}»"))
        code_mo = key[0]
        numbers = _district_numbers(known, code_mo)
        for tag in ("UCH", "UCH_F"):
            value = text(root, f"BODY/{tag}")
            if value and int(value) not in numbers:
                errors.append(Error(WRONG_VALUE, f"{tag}: участок № {value} МО {code_mo} не передан в ТФОМС"))
    if errors:
        return errors
    _apply(root, known, "PERSONATTACHDISTRICT", key)
    return []


def person_attach(root: etree._Element, known: Known) -> list[Error]:
    """PERSONATTACH: the districts referenced by LPUREGION_ID / LPUREGIONFAP_ID must be known."""
    errors, key = _attachment_key(root, known, "PERSONATTACH")
    districts = known.get("DISTRICT", {})
    for tag in ("LPUREGION_ID", "LPUREGIONFAP_ID"):
        value = text(root, f"BODY/{tag}")
        if value and (key[0], int(value)) not in districts:
            errors.append(Error(WRONG_VALUE, f"{tag}: участок {value} МО {key[0]} не передан в ТФОМС"))
    if errors:
        return errors
    _apply(root, known, "PERSONATTACH", key)
    return []


# --- dispensary observation (formats §5) ---------------------------------------------------------

PERSONS = "PERSONS"  # the fund's register by BDZ_ID, when the emulator was given one
ICD10 = re.compile(r"^[A-Z]\d\d(\.\d{1,2})?$")
CANCER = re.compile(r"^(C([0-8]\d|9[0-7])|D0\d)(\.|$)")


def _keyed(
    root: etree._Element, known: Known, package_type: str, id_tag: str, what: str
) -> tuple[list[Error], tuple[str, int]]:
    operation = text(root, "HEADER/OPERATIONTYPE") or ""
    code_mo = text(root, "HEADER/CODE_MO") or ""
    key = (code_mo, int(text(root, f"HEADER/{id_tag}") or "0"))
    objects = known.setdefault(package_type, {})
    where = f"{id_tag} {key[1]}" + (f", МО {code_mo}" if code_mo else "")
    errors: list[Error] = []
    if operation == "Insert" and key in objects:
        errors.append(Error(DUPLICATE_KEY, f"{what} уже известна ТФОМС ({where})"))
    if operation in ("Update", "Delete") and key not in objects:
        errors.append(Error(WRONG_VALUE, f"{what} не найдена ({where})"))
    if operation in ("Insert", "Update") and root.find("BODY") is None:
        errors.append(Error(FORMAT_ERROR, f"Для операции {operation} обязателен BODY"))
    return errors, key


def _person_errors(root: etree._Element, known: Known) -> list[Error]:
    value = text(root, "BODY/BDZ_ID")
    if value and PERSONS in known and ("", int(value)) not in known[PERSONS]:
        return [Error(WRONG_VALUE, f"BDZ_ID: застрахованное лицо {value} не найдено в РС ЕРЗ")]
    return []


def _diagnosis_errors(root: etree._Element) -> list[Error]:
    value = text(root, "BODY/DS")
    if value and not ICD10.match(value):
        return [Error(WRONG_VALUE, f"DS: диагноз «{value}» не в форме МКБ-10")]
    return []


def _dates_errors(date_in: str | None, date_out: str | None) -> list[Error]:
    if date_in and date_out and date_out < date_in:
        return [Error(WRONG_VALUE, f"DATE_OUT {date_out} раньше DATE_IN {date_in}")]
    return []


def disp(root: etree._Element, known: Known) -> list[Error]:
    """DISP: the card's key is DISP_ID within CODE_MO; the person in the register, DS in ICD-10 form,
    DATE_OUT not before DATE_IN, the doctor's СНИЛС valid."""
    errors, key = _keyed(root, known, "DISP", "DISP_ID", "Карта диспансерного наблюдения")
    if root.find("BODY") is not None:
        errors += _person_errors(root, known)
        errors += _diagnosis_errors(root)
        errors += _dates_errors(text(root, "BODY/DATE_IN"), text(root, "BODY/DATE_OUT"))
        errors += _snils_errors(text(root, "BODY/SNILS_VR"), "SNILS_VR")
    if errors:
        return errors
    _apply(root, known, "DISP", key)
    return []


def dispout(root: etree._Element, known: Known) -> list[Error]:
    """DISPOUT: only for a card the fund took under observation (its DISP), not before its DATE_IN."""
    errors, key = _keyed(root, known, "DISPOUT", "DISP_ID", "Запись о снятии с наблюдения")
    taken = known.get("DISP", {}).get(key)
    if taken is None:
        errors.append(
            Error(
                WRONG_VALUE, f"Снятие с наблюдения без взятия под наблюдение (DISP_ID {key[1]}, МО {key[0]})"
            )
        )
    if root.find("BODY") is not None:
        errors += _diagnosis_errors(root)
        errors += _dates_errors(taken.get("DATE_IN") if taken else None, text(root, "BODY/DATE_OUT"))
    if errors:
        return errors
    _apply(root, known, "DISPOUT", key)
    return []


def perscancer(root: etree._Element, known: Known) -> list[Error]:
    """PERSCANCER: a malignant neoplasm (C00–C97, D00–D09) of a person in the register."""
    errors, key = _keyed(root, known, "PERSCANCER", "REG_ID", "Запись о пациенте с ЗНО")
    if root.find("BODY") is not None:
        errors += _person_errors(root, known)
        errors += _diagnosis_errors(root)
        value = text(root, "BODY/DS") or ""
        if ICD10.match(value) and not CANCER.match(value):
            errors.append(Error(WRONG_VALUE, f"DS: диагноз «{value}» не относится к ЗНО (C00–C97, D00–D09)"))
        errors += _dates_errors(text(root, "BODY/DATE_IN"), text(root, "BODY/DATE_OUT"))
    if errors:
        return errors
    _apply(root, known, "PERSCANCER", key)
    return []


# --- prophylaxis plans (formats §7.3) ---------------------------------------------------------------


def dispplan(root: etree._Element, known: Known, *, this_year: int | None = None) -> list[Error]:
    """DISPPLAN, one person of a plan: identified (BDZ_ID), in the register (when given), a valid ЕНП when the
    policy is single-number, the plan year this one or the next (a quarter of another year is out)."""
    errors = _person_errors(root, known)
    if not text(root, "BODY/BDZ_ID"):
        errors.append(Error(WRONG_VALUE, "BDZ_ID: пациент не идентифицирован в РС ЕРЗ (нет идентификатора)"))
    enp = text(root, "BODY/ENP")
    if enp and not enp_valid(enp):
        errors.append(Error(WRONG_VALUE, f"ENP {enp}: не соответствует ЕНП застрахованного лица"))
    year = int(text(root, "HEADER/YEAR") or "0")
    current = this_year or clock.today().year
    if year not in (current, current + 1):
        period = text(root, "BODY/SV_PL_MER/PERIOD")
        errors.append(Error(WRONG_VALUE, f"SV_PL_MER/PERIOD: квартал {period} вне года плана ({year})"))
    return errors


# Package type → its business rule; a type with an XSD but no rule is accepted once it is schema-valid.
RULES: dict[str, Rule] = {
    "DISTRICT": district,
    "PERSONATTACHDISTRICT": person_attach_district,
    "PERSONATTACH": person_attach,
    "DISP": disp,
    "DISPOUT": dispout,
    "PERSCANCER": perscancer,
    "DISPPLAN": dispplan,
}
