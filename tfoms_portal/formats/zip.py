"""Safe ZIP reading (bounded counts, sizes and ratio; no traversal, links or encryption) and writing."""

from __future__ import annotations

import contextlib
import io
import re
import stat
import time
import zipfile
from collections.abc import Iterator, Mapping
from typing import IO

DEFAULT_MAX_ARCHIVE_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 1000
DEFAULT_MAX_ENTRY_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_RATIO = 200
DEFAULT_RATIO_GRACE_BYTES = 1024 * 1024  # entries smaller than this are not ratio-checked
MAX_NAME_LENGTH = 255

_CHUNK = 64 * 1024
_CENTRAL_HEADER = b"PK\x01\x02"
_ALLOWED_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_DRIVE = re.compile(r"^[A-Za-z]:")
_FLAG_ENCRYPTED = 0x1
_FLAG_STRONG_ENCRYPTION = 0x40


class ZipRejected(ValueError):
    """The archive is refused; the message is Russian and safe to show to a user."""


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} МБ"


def check_entry_name(name: str) -> None:
    """Refuse names that are absolute, climb out (`..`), carry a drive, a backslash, a colon or controls."""
    shown = name.encode("unicode_escape").decode("ascii")[:MAX_NAME_LENGTH]
    if not name:
        raise ZipRejected("Архив содержит элемент с пустым именем.")
    if len(name) > MAX_NAME_LENGTH:
        raise ZipRejected(f"Имя элемента архива слишком длинное: «{shown}…».")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ZipRejected(f"Имя элемента архива содержит управляющие символы: «{shown}».")
    if "\\" in name:
        raise ZipRejected(f"Имя элемента архива содержит обратную косую черту: «{shown}».")
    if name.startswith("/"):
        raise ZipRejected(f"Элемент архива с абсолютным путём не принимается: «{shown}».")
    if _DRIVE.match(name) or ":" in name:
        raise ZipRejected(f"Имя элемента архива содержит букву диска или двоеточие: «{shown}».")
    parts = name.removesuffix("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ZipRejected(f"Путь элемента архива содержит пустые компоненты, «.» или «..»: «{shown}».")


def _check_info(info: zipfile.ZipInfo) -> None:
    # orig_filename is the name before zipfile cut it at a NUL byte.
    check_entry_name(info.orig_filename)
    check_entry_name(info.filename)
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise ZipRejected(f"Архив содержит символическую ссылку: «{info.filename}».")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ZipRejected(f"Архив содержит специальный файл: «{info.filename}».")
    if info.flag_bits & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION):
        raise ZipRejected(
            f"Элемент архива зашифрован: «{info.filename}»; зашифрованные архивы не принимаются."
        )
    if info.compress_type not in _ALLOWED_METHODS:
        raise ZipRejected(
            f"Элемент архива «{info.filename}» сжат неподдерживаемым методом ({info.compress_type})."
        )


def read_zip(
    data: bytes,
    *,
    max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_ratio: float = DEFAULT_MAX_RATIO,
    ratio_grace_bytes: int = DEFAULT_RATIO_GRACE_BYTES,
    name_encoding: str = "cp866",
) -> dict[str, bytes]:
    """Read every file entry into memory ({name: bytes}, archive order); directories are skipped.

    Names without the UTF-8 flag are decoded with `name_encoding` (Russian Windows archivers use cp866).
    Limits are checked on the declared sizes first and again on the bytes actually decompressed.
    """
    if len(data) > max_archive_bytes:
        raise ZipRejected(
            f"Архив слишком велик: {_mb(len(data))}, допустимо не более {_mb(max_archive_bytes)}."
        )
    # Cheap upper bound on the entry count before zipfile builds a ZipInfo for each one.
    if data.count(_CENTRAL_HEADER) > max_entries:
        raise ZipRejected(f"В архиве слишком много элементов: допустимо не более {max_entries}.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data), metadata_encoding=name_encoding)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, UnicodeDecodeError) as exc:
        raise ZipRejected(
            "Файл не является корректным ZIP-архивом: не удалось прочитать его оглавление."
        ) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise ZipRejected(
                f"В архиве слишком много элементов: {len(infos)}, допустимо не более {max_entries}."
            )
        seen: set[str] = set()
        declared_total = 0
        for info in infos:
            _check_info(info)
            if info.filename in seen:
                raise ZipRejected(f"Элемент «{info.filename}» встречается в архиве дважды.")
            seen.add(info.filename)
            if info.file_size > max_entry_bytes:
                raise ZipRejected(
                    f"Элемент архива «{info.filename}» слишком велик: {_mb(info.file_size)}, "
                    f"допустимо не более {_mb(max_entry_bytes)}."
                )
            declared_total += info.file_size
        if declared_total > max_total_bytes:
            raise ZipRejected(
                f"Распакованное содержимое архива слишком велико: {_mb(declared_total)}, "
                f"допустимо не более {_mb(max_total_bytes)}."
            )

        entries: dict[str, bytes] = {}
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            content = _read_entry(
                archive, info, max_entry_bytes, max_total_bytes - total, max_ratio, ratio_grace_bytes
            )
            total += len(content)
            entries[info.filename] = content
    return entries


def _read_entry(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    max_entry_bytes: int,
    remaining_total: int,
    max_ratio: float,
    ratio_grace_bytes: int,
) -> bytes:
    """Stream one entry, enforcing the limits on the bytes actually produced."""
    name = info.filename
    compressed = max(info.compress_size, 1)
    buffer = io.BytesIO()
    produced = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                produced += len(chunk)
                if produced > max_entry_bytes:
                    raise ZipRejected(
                        f"Элемент архива «{name}» при распаковке превысил допустимый размер "
                        f"{_mb(max_entry_bytes)}."
                    )
                if produced > remaining_total:
                    raise ZipRejected("Распакованное содержимое архива превысило допустимый общий размер.")
                if produced > ratio_grace_bytes and produced > max_ratio * compressed:
                    raise ZipRejected(
                        f"Элемент архива «{name}» сжат подозрительно сильно (более {max_ratio:g} : 1); "
                        "такие архивы не принимаются."
                    )
                if produced > info.file_size:
                    raise ZipRejected(f"Элемент архива «{name}» больше размера, указанного в заголовке.")
                buffer.write(chunk)
    except ZipRejected:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError, NotImplementedError) as exc:
        reason = "контрольная сумма не совпадает" if "CRC" in str(exc) else "данные не распаковываются"
        raise ZipRejected(f"Элемент архива «{name}» повреждён: {reason}.") from exc
    if produced != info.file_size:
        raise ZipRejected(f"Размер элемента архива «{name}» не совпадает с указанным в заголовке.")
    return buffer.getvalue()


def write_zip(
    entries: Mapping[str, bytes],
    *,
    date_time: tuple[int, int, int, int, int, int] | None = None,
) -> bytes:
    """Pack {name: bytes} into a deflated ZIP (names checked as on reading; non-ASCII names flagged UTF-8)."""
    stamp = date_time or time.localtime()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            check_entry_name(name)
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, content)
    return buffer.getvalue()


@contextlib.contextmanager
def zip_entry_writer(
    target: IO[bytes], name: str, *, date_time: tuple[int, int, int, int, int, int] | None = None
) -> Iterator[IO[bytes]]:
    """A ZIP of one deflated entry, written as a stream: what is written to the yielded file goes
    compressed into `target`, so a large export never sits in memory uncompressed."""
    check_entry_name(name)
    info = zipfile.ZipInfo(name, date_time=date_time or time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    with (
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(info, "w", force_zip64=True) as entry,
    ):
        yield entry
