"""Safe ZIP reading against a hostile corpus built here: bombs, lying headers, traversal, links."""

from __future__ import annotations

import io
import stat
import warnings
import zipfile

import pytest

from tfoms_portal.formats.zip import ZipRejected, check_entry_name, read_zip, write_zip

MB = 1024 * 1024


def _zip(entries: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, content in entries.items():
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=method)
    return buffer.getvalue()


def _zip_of_zeros(name: str, size_mb: int) -> bytes:
    """A zip bomb written in 1 MB steps, so building it never holds the whole content."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as entry,
    ):
        chunk = bytes(MB)
        for _ in range(size_mb):
            entry.write(chunk)
    return buffer.getvalue()


def _patch_sizes(data: bytes, *, file_size: int) -> bytes:
    """Make both the local and the central header of the single entry lie about the uncompressed size."""
    patched = bytearray(data)
    local = patched.index(b"PK\x03\x04")
    central = patched.index(b"PK\x01\x02")
    patched[local + 22 : local + 26] = file_size.to_bytes(4, "little")
    patched[central + 24 : central + 28] = file_size.to_bytes(4, "little")
    return bytes(patched)


def _replace_name(data: bytes, placeholder: bytes, raw_name: bytes) -> bytes:
    assert len(placeholder) == len(raw_name) and data.count(placeholder) == 2
    return data.replace(placeholder, raw_name)


def test_round_trip_keeps_names_and_content() -> None:
    entries = {"MO2123456_20250101.csv": b'"a";"b"', "ответ/ошибки.txt": "ошибка".encode("cp1251")}
    data = write_zip(entries, date_time=(2025, 1, 2, 3, 4, 5))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
        assert archive.getinfo("MO2123456_20250101.csv").date_time == (2025, 1, 2, 3, 4, 4)
    assert read_zip(data) == entries


def test_directories_are_skipped() -> None:
    assert read_zip(_zip({"dir/": b"", "dir/a.txt": b"a"})) == {"dir/a.txt": b"a"}


def test_cp866_names_without_utf8_flag_are_decoded() -> None:
    name = "ошибки.txt"
    data = _replace_name(_zip({"xxxxxx.txt": b"x"}), b"xxxxxx.txt", name.encode("cp866"))
    assert read_zip(data) == {name: b"x"}


def test_not_a_zip_is_refused() -> None:
    for data in (b"", b"hello world", b"PK\x03\x04" + b"\0" * 100):
        with pytest.raises(
            ZipRejected, match=r"^Файл не является корректным ZIP-архивом: не удалось прочитать"
        ):
            read_zip(data)


def test_zip_bomb_is_refused_by_its_declared_size() -> None:
    bomb = _zip_of_zeros("bomb.txt", 200)
    assert len(bomb) < 1 * MB
    with pytest.raises(ZipRejected, match=r"^Элемент архива «bomb.txt» слишком велик: 200.0 МБ"):
        read_zip(bomb)


def test_high_ratio_is_refused_while_decompressing() -> None:
    bomb = _zip_of_zeros("zeros.dbf", 20)
    with pytest.raises(ZipRejected, match=r"сжат подозрительно сильно \(более 200 : 1\)"):
        read_zip(bomb)
    assert len(read_zip(bomb, max_ratio=2000)["zeros.dbf"]) == 20 * MB


def test_total_size_is_bounded() -> None:
    data = _zip({f"{i}.txt": bytes(300_000) for i in range(5)})
    with pytest.raises(ZipRejected, match=r"^Распакованное содержимое архива слишком велико"):
        read_zip(data, max_total_bytes=1 * MB)


def test_archive_size_is_bounded() -> None:
    with pytest.raises(ZipRejected, match=r"^Архив слишком велик"):
        read_zip(b"\0" * 2000, max_archive_bytes=1000)


def test_entry_whose_header_understates_its_size_is_refused() -> None:
    content = bytes(range(256)) * 4000  # ~1 MB, actual
    liar = _patch_sizes(_zip({"data.dbf": content}), file_size=100)
    with pytest.raises(
        ZipRejected, match=r"^Элемент архива «data.dbf» повреждён: контрольная сумма не совпадает"
    ):
        read_zip(liar, max_entry_bytes=1000)


def test_entry_whose_header_overstates_its_size_is_refused() -> None:
    liar = _patch_sizes(_zip({"data.dbf": b"x" * 1000}), file_size=5000)
    with pytest.raises(ZipRejected, match=r"«data.dbf»"):
        read_zip(liar)


def test_stored_entry_with_lying_size_is_refused() -> None:
    liar = _patch_sizes(_zip({"data.dbf": b"x" * 1000}, method=zipfile.ZIP_STORED), file_size=10)
    with pytest.raises(ZipRejected, match=r"«data.dbf»"):
        read_zip(liar)


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "a/../../evil.txt",
        "a/./b.txt",
        "/etc/passwd",
        "C:\\Windows\\evil.txt",
        "C:/evil.txt",
        "c:evil.txt",
        "..\\evil.txt",
        "a\\..\\..\\evil.txt",
        "\\\\server\\share\\evil.txt",
        "a//b.txt",
        "file.txt:stream",
        "a\tb.txt",
    ],
)
def test_traversal_and_odd_names_are_refused(name: str) -> None:
    with pytest.raises(ZipRejected, match=r"(Элемент|Имя элемента|Путь элемента) архива"):
        read_zip(_zip({name: b"x"}))
    with pytest.raises(ZipRejected):
        write_zip({name: b"x"})


def test_nul_in_a_name_is_refused() -> None:
    data = _replace_name(_zip({"a.txtX.exe": b"x"}), b"a.txtX.exe", b"a.txt\x00.exe")
    with pytest.raises(ZipRejected, match=r"управляющие символы"):
        read_zip(data)


def test_symlink_entry_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link.txt")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(ZipRejected, match=r"^Архив содержит символическую ссылку: «link.txt»"):
        read_zip(buffer.getvalue())


def test_encrypted_entry_is_refused() -> None:
    data = bytearray(_zip({"secret.txt": b"x"}))
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        position = data.index(signature) + flags_at
        data[position] |= 0x01
    with pytest.raises(ZipRejected, match=r"^Элемент архива зашифрован: «secret.txt»"):
        read_zip(bytes(data))


def test_too_many_entries_are_refused() -> None:
    many = _zip({f"{i}.txt": b"" for i in range(1001)})
    with pytest.raises(ZipRejected, match=r"^В архиве слишком много элементов"):
        read_zip(many)
    with pytest.raises(ZipRejected, match=r"^В архиве слишком много элементов"):
        read_zip(_zip({f"{i}.txt": b"" for i in range(11)}), max_entries=10)
    assert len(read_zip(_zip({f"{i}.txt": b"" for i in range(10)}), max_entries=10)) == 10


def test_duplicate_names_are_refused() -> None:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("a.txt", b"1")
            archive.writestr("a.txt", b"2")
    with pytest.raises(ZipRejected, match=r"встречается в архиве дважды"):
        read_zip(buffer.getvalue())


def test_check_entry_name_accepts_ordinary_names() -> None:
    for name in ("MO2123456_20250101.csv", "dir/sub/file.DBF", "dir/", "ответ.xml"):
        check_entry_name(name)
