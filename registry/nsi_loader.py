"""Loading of federal and regional NSI classifiers (F002, F003, F008 … V020) from the fund's XML files."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tfoms_portal.formats.xml import XmlRejected, parse_xml

from .checkdigits import ogrn_is_valid
from .models import Mo, NsiEntry, Smo

DEFAULT_NSI_DIR = Path(__file__).resolve().parent / "nsi"

_ROW_TAG = re.compile(r"rec|item\d+")
_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")
_EMPTY_VALUES = ("", "0")
_CODE_MAX: int = NsiEntry._meta.get_field("code").max_length or 32


class NsiLoadError(Exception):
    """A classifier file is refused; the message is Russian and names the file."""


@dataclass(frozen=True)
class DirectorySpec:
    """Which attributes of a row hold the code, the name and the validity dates."""

    key: str
    name: str
    date_begin: str = "DATEBEG"
    date_end: str = "DATEEND"


DIRECTORIES: dict[str, DirectorySpec] = {
    "F002": DirectorySpec("smocod", "nam_smop", "d_begin", "d_end"),
    "F003": DirectorySpec("mcod", "nam_mop", "d_begin", "d_end"),
    "F008": DirectorySpec("IDDOC", "DOCNAME"),
    "F009": DirectorySpec("IDStatus", "StatusName"),
    "F010": DirectorySpec("KOD_TF", "SUBNAME"),
    "F011": DirectorySpec("IDDOC", "DOCNAME"),
    "R001": DirectorySpec("Kod", "Opis"),
    "V002": DirectorySpec("IDPR", "PRNAME"),
    "V005": DirectorySpec("IDPOL", "POLNAME"),
    "V006": DirectorySpec("IDUMP", "UMPNAME"),
    "V008": DirectorySpec("IDVMP", "VMPNAME"),
    "V009": DirectorySpec("IDRMP", "RMPNAME"),
    "V010": DirectorySpec("IDSP", "SPNAME"),
    "V012": DirectorySpec("IDIZ", "IZNAME"),
    "V013": DirectorySpec("IDKAT", "KATNAME"),
    "V014": DirectorySpec("IDFRMMP", "FRMMPNAME"),
    "V016": DirectorySpec("IDDT", "DTNAME"),
    "V020": DirectorySpec("IDK_PR", "K_PRNAME"),
}

# F002/F003 rows of our region are also kept as Smo/Mo: code length and the short-name attribute.
_ORGANISATIONS: dict[str, tuple[int, str]] = {"F002": (5, "nam_smok"), "F003": (6, "nam_mok")}


@dataclass(frozen=True)
class NsiRow:
    code: str
    name: str
    date_begin: dt.date | None
    date_end: dt.date | None
    attrs: dict[str, str]


@dataclass
class ParsedFile:
    directory: str
    path: Path
    rows: list[NsiRow] = field(default_factory=list)
    skipped: int = 0  # blank padding rows (all values empty or "0"), found in R001 and V002


@dataclass
class LoadResult:
    directory: str
    file_name: str
    rows: int
    created: int
    updated: int
    skipped: int
    organisations: int  # Smo (F002) or Mo (F003) rows of the region created or updated


def directory_of(path: Path) -> str:
    """The classifier a file holds, from its name: `F010.xml`, `v002.xml`."""
    directory = path.stem.strip().upper()
    if directory not in DIRECTORIES:
        known = ", ".join(DIRECTORIES)
        raise NsiLoadError(
            f"Файл {path.name}: неизвестный справочник «{path.stem}». Поддерживаются: {known}."
        )
    return directory


def _parse_date(value: str, file_name: str, number: int, attr: str) -> dt.date | None:
    value = value.strip()
    if value in _EMPTY_VALUES:
        return None
    match = _DATE.fullmatch(value)
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            pass
    raise NsiLoadError(
        f"Файл {file_name}, запись № {number}: в атрибуте {attr} неверная дата «{value}», "
        "ожидается ДД.ММ.ГГГГ."
    )


def _check_organisation(directory: str, row: NsiRow, file_name: str, number: int) -> None:
    length, _ = _ORGANISATIONS[directory]
    if len(row.code) != length or not row.code.isdigit():
        raise NsiLoadError(
            f"Файл {file_name}, запись № {number}: код «{row.code}» должен состоять из {length} цифр."
        )
    ogrn = row.attrs.get("Ogrn", "").strip()
    if not ogrn_is_valid(ogrn):
        raise NsiLoadError(
            f"Файл {file_name}, запись № {number} (код {row.code}): некорректный ОГРН «{ogrn}»."
        )


def parse_nsi_bytes(data: bytes, directory: str, file_name: str) -> ParsedFile:
    """Read every row of one classifier file, of either flavour (`root/itemN` or `root/rec`)."""
    spec = DIRECTORIES[directory]
    parsed = ParsedFile(directory=directory, path=Path(file_name))
    try:
        root = parse_xml(data)
    except XmlRejected as exc:
        raise NsiLoadError(f"Файл справочника {file_name} отклонён: {exc}") from exc

    seen: set[tuple[str, dt.date | None]] = set()
    for number, element in enumerate(root, start=1):
        tag = element.tag if isinstance(element.tag, str) else ""
        if not _ROW_TAG.fullmatch(tag):
            raise NsiLoadError(
                f"Файл {file_name}: неожиданный элемент <{tag}> (№ {number}); ожидаются <rec> или <itemN>."
            )
        attrs = {str(k): str(v) for k, v in element.attrib.items()}
        if all(value.strip() in _EMPTY_VALUES for value in attrs.values()):
            parsed.skipped += 1
            continue
        code = attrs.get(spec.key, "").strip()
        name = attrs.get(spec.name, "").strip()
        if not code:
            raise NsiLoadError(f"Файл {file_name}, запись № {number}: не заполнен код ({spec.key}).")
        if len(code) > _CODE_MAX:
            raise NsiLoadError(
                f"Файл {file_name}, запись № {number}: код «{code}» длиннее {_CODE_MAX} символов."
            )
        if not name:
            raise NsiLoadError(
                f"Файл {file_name}, запись № {number} (код {code}): не заполнено наименование ({spec.name})."
            )
        row = NsiRow(
            code=code,
            name=name,
            date_begin=_parse_date(attrs.get(spec.date_begin, ""), file_name, number, spec.date_begin),
            date_end=_parse_date(attrs.get(spec.date_end, ""), file_name, number, spec.date_end),
            attrs=attrs,
        )
        if (code, row.date_begin) in seen:
            raise NsiLoadError(
                f"Файл {file_name}, запись № {number}: повторяется код {code} с той же датой начала действия."
            )
        seen.add((code, row.date_begin))
        if directory in _ORGANISATIONS and code.startswith(settings.REGION_CODE):
            _check_organisation(directory, row, file_name, number)
        parsed.rows.append(row)
    return parsed


def read_nsi_file(path: Path) -> ParsedFile:
    directory = directory_of(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NsiLoadError(f"Не удалось прочитать файл справочника {path}: {exc.strerror}.") from exc
    parsed = parse_nsi_bytes(data, directory, path.name)
    parsed.path = path
    return parsed


def _upsert_organisation(directory: str, row: NsiRow, file_name: str) -> None:
    _, short_attr = _ORGANISATIONS[directory]
    model: type[Mo] | type[Smo] = Mo if directory == "F003" else Smo
    obj = model.objects.filter(code=row.code).first() or model(code=row.code)
    obj.ogrn = row.attrs["Ogrn"].strip()
    obj.name_full = row.name
    obj.name_short = row.attrs.get(short_attr, "").strip() or row.name
    obj.is_active = row.date_end is None or row.date_end >= timezone.localdate()
    if isinstance(obj, Mo):
        obj.oid = row.attrs.get("OID", "").strip()
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise NsiLoadError(f"Файл {file_name} (код {row.code}): {'; '.join(exc.messages)}") from exc
    obj.save()


def apply_parsed(parsed: ParsedFile) -> LoadResult:
    """Write one parsed file in one transaction: all of it or nothing."""
    result = LoadResult(parsed.directory, parsed.path.name, len(parsed.rows), 0, 0, parsed.skipped, 0)
    with transaction.atomic():
        for row in parsed.rows:
            _, created = NsiEntry.objects.update_or_create(
                directory=parsed.directory,
                code=row.code,
                date_begin=row.date_begin,
                defaults={"name": row.name, "date_end": row.date_end, "attrs": row.attrs},
            )
            if created:
                result.created += 1
            else:
                result.updated += 1
        if parsed.directory in _ORGANISATIONS:
            # The latest version of each code of the region wins.
            latest: dict[str, NsiRow] = {}
            for row in sorted(parsed.rows, key=lambda r: r.date_begin or dt.date.min):
                if row.code.startswith(settings.REGION_CODE):
                    latest[row.code] = row
            for row in latest.values():
                _upsert_organisation(parsed.directory, row, parsed.path.name)
            result.organisations = len(latest)
    return result


def load_nsi_file(path: Path) -> LoadResult:
    return apply_parsed(read_nsi_file(path))


def nsi_files(nsi_dir: Path, directories: Iterable[str] | None = None) -> list[Path]:
    """The files to load: the requested directories, or every known `<DIR>.xml` of the folder."""
    if not nsi_dir.is_dir():
        raise NsiLoadError(f"Каталог справочников не найден: {nsi_dir}.")
    if not directories:
        return sorted(p for p in nsi_dir.glob("*.xml") if p.stem.upper() in DIRECTORIES)
    paths: list[Path] = []
    for raw in directories:
        directory = raw.strip().upper()
        if directory not in DIRECTORIES:
            raise NsiLoadError(f"Неизвестный справочник «{raw}». Поддерживаются: {', '.join(DIRECTORIES)}.")
        candidates = [p for p in nsi_dir.glob("*.xml") if p.stem.upper() == directory]
        if not candidates:
            raise NsiLoadError(f"Файл справочника {directory}.xml не найден в каталоге {nsi_dir}.")
        paths.append(candidates[0])
    return paths


def load_nsi_dir(
    nsi_dir: Path = DEFAULT_NSI_DIR, directories: Iterable[str] | None = None
) -> dict[str, LoadResult]:
    """Load classifier files; every file is read and checked before any of them is written."""
    parsed_files = [read_nsi_file(path) for path in nsi_files(nsi_dir, directories)]
    return {parsed.directory: apply_parsed(parsed) for parsed in parsed_files}
