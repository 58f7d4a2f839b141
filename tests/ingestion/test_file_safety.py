"""Golden bad files, generated at test time, each refused with a reason and nothing extracted."""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import fastexcel
import pytest
import xlsxwriter

from ingestion import file_safety
from ingestion.errors import RejectedFile
from ingestion.file_safety import (
    check_in_folder,
    check_size,
    check_xlsx_container,
    extract_members,
    inspect_zip,
    open_regular,
)

MiB = 1 << 20
LIMITS: dict[str, Any] = {"max_bytes": 64 * MiB, "max_ratio": 100.0}


# --- Building golden bad archives ----------------------------------------------------------------


def write_zip(path: Path, members: dict[str, bytes] | list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    """A zip with these members (names are written exactly as given, however unsafe)."""
    items = members.items() if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names, which one test wants
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return path


def patch_sizes(path: Path, member_index: int, *, uncompressed: int | None = None, flags: int | None = None) -> None:
    """Rewrite one member's uncompressed size or flags in both its local and central headers."""
    data = bytearray(path.read_bytes())
    central = _signatures(data, b"PK\x01\x02")[member_index]
    local = struct.unpack_from("<I", data, central + 42)[0]
    if uncompressed is not None:
        struct.pack_into("<I", data, central + 24, uncompressed)
        struct.pack_into("<I", data, local + 22, uncompressed)
    if flags is not None:
        struct.pack_into("<H", data, central + 8, flags)
        struct.pack_into("<H", data, local + 6, flags)
    path.write_bytes(bytes(data))


def _signatures(data: bytes | bytearray, signature: bytes) -> list[int]:
    found, start = [], 0
    while (at := data.find(signature, start)) != -1:
        found.append(at)
        start = at + 1
    return found


def overlapping_zip(path: Path, copies: int) -> Path:
    """One real member listed `copies` times in the central directory, every entry pointing at the
    same compressed bytes (the overlap of the "better zip bomb"); names differ so only the overlap
    gives it away."""
    write_zip(path, {"m000.csv": os.urandom(2000)})
    data = path.read_bytes()
    central = _signatures(data, b"PK\x01\x02")[0]
    end = _signatures(data, b"PK\x05\x06")[-1]
    entry = data[central:end]
    entries = b"".join(entry.replace(b"m000.csv", f"m{i:03d}.csv".encode()) for i in range(copies))
    eocd = bytearray(data[end:])
    struct.pack_into("<HHII", eocd, 8, copies, copies, len(entries), central)
    path.write_bytes(data[:central] + entries + bytes(eocd))
    return path


def assert_empty(folder: Path) -> None:
    assert sorted(p.name for p in folder.rglob("*")) == []


# --- Files in a drop folder --------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    drop = tmp_path / "drop" / "disdik"
    drop.mkdir(parents=True)
    (drop / "sekolah.csv").write_text("npsn\n30404588\n")
    return drop


def test_regular_file_inside_the_folder_passes(folder: Path) -> None:
    check_in_folder(folder, folder / "sekolah.csv")
    check_in_folder(folder, Path("sekolah.csv"))


def test_symlinked_file_is_refused_even_pointing_inside(folder: Path) -> None:
    (folder / "alias.csv").symlink_to(folder / "sekolah.csv")
    with pytest.raises(RejectedFile, match=r"alias\.csv: the file is a symbolic link"):
        check_in_folder(folder, folder / "alias.csv")


def test_symlinked_parent_folder_is_refused(folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.csv").write_text("nik\n6401010101010001\n")
    (folder / "2024").symlink_to(outside, target_is_directory=True)
    with pytest.raises(RejectedFile, match=r"its folder 2024 is a symbolic link"):
        check_in_folder(folder, folder / "2024" / "secret.csv")


def test_paths_escaping_the_folder_are_refused(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    with pytest.raises(RejectedFile, match=r"'\.\.' part"):
        check_in_folder(folder, Path("../../passwd"))
    with pytest.raises(RejectedFile, match="lies outside the folder"):
        check_in_folder(folder, tmp_path / "passwd")


def test_non_regular_files_are_refused(folder: Path) -> None:
    os.mkfifo(folder / "pipe.csv")
    (folder / "sub.csv").mkdir()
    with pytest.raises(RejectedFile, match=r"pipe\.csv: is not a regular file \(a FIFO\)"):
        check_in_folder(folder, folder / "pipe.csv")
    with pytest.raises(RejectedFile, match=r"sub\.csv: is not a regular file \(a folder\)"):
        check_in_folder(folder, folder / "sub.csv")
    with pytest.raises(RejectedFile, match="does not exist"):
        check_in_folder(folder, folder / "missing.csv")


def test_open_regular_reads_the_checked_file_and_never_blocks_on_a_fifo(folder: Path) -> None:
    with open_regular(folder, Path("sekolah.csv"), label="drop/disdik/sekolah.csv") as handle:
        assert handle.read() == b"npsn\n30404588\n"
    os.mkfifo(folder / "pipe.csv")
    with pytest.raises(RejectedFile, match=r"drop/disdik/pipe\.csv: is not a regular file"):
        open_regular(folder, Path("pipe.csv"), label="drop/disdik/pipe.csv")


def test_size_limit(folder: Path) -> None:
    path = folder / "sekolah.csv"
    check_size(path, path.stat().st_size)
    with pytest.raises(RejectedFile, match=r"14 bytes is more than max_bytes \(13\)"):
        check_size(path, 13)


# --- Zip archives ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../../etc/x.csv", "'..' part"),
        ("data/../../x.csv", "'..' part"),
        ("/etc/x.csv", "absolute name"),
        ("..\\..\\Windows\\x.csv", "'..' part"),
        ("\\\\server\\share\\x.csv", "absolute name"),
        ("C:\\Users\\x.csv", "drive letter"),
        ("c:x.csv", "drive letter"),
    ],
)
def test_members_escaping_the_destination_are_refused(tmp_path: Path, member: str, reason: str) -> None:
    archive = write_zip(tmp_path / "kiriman.zip", [("ok.csv", b"a\n1\n"), (member, b"a\n1\n")])
    dest = tmp_path / "out"
    with pytest.raises(RejectedFile, match=rf"kiriman\.zip: member '{re.escape(member)}': (has|names) .*{re.escape(reason)}"):
        extract_members(archive, dest, member_pattern=None, **LIMITS)
    assert not dest.exists() or not any(dest.iterdir())  # not even ok.csv


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("sekolah.csv")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = write_zip(tmp_path / "kiriman.zip", [(link, b"/etc/passwd")])
    with pytest.raises(RejectedFile, match=r"member 'sekolah\.csv': is a symbolic link"):
        extract_members(archive, tmp_path / "out", member_pattern=None, **LIMITS)
    assert not (tmp_path / "out" / "sekolah.csv").exists()


def test_encrypted_member_is_refused(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "kiriman.zip", {"sekolah.csv": b"npsn\n1\n"})
    patch_sizes(archive, 0, flags=0x1)
    with pytest.raises(RejectedFile, match=r"member 'sekolah\.csv': is encrypted"):
        inspect_zip(archive, **LIMITS)


def test_duplicate_member_paths_are_refused(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "kiriman.zip", [("data/a.csv", b"1"), ("data\\a.csv", b"2")])
    with pytest.raises(RejectedFile, match=r"member 'data\\a\.csv': writes the same path as member 'data/a\.csv'"):
        inspect_zip(archive, **LIMITS)


def test_too_many_members_is_refused(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "kiriman.zip", {f"{i}.csv": b"x" for i in range(6)})
    assert len(inspect_zip(archive, max_members=6, **LIMITS)) == 6
    with pytest.raises(RejectedFile, match=r"6 members is more than the limit \(5\)"):
        inspect_zip(archive, max_members=5, **LIMITS)


def test_member_and_total_size_limits(tmp_path: Path) -> None:
    big = write_zip(tmp_path / "big.zip", {"big.csv": os.urandom(2 * MiB)})
    with pytest.raises(RejectedFile, match=r"member 'big\.csv': uncompresses to 2097152 bytes, more than max_bytes"):
        inspect_zip(big, max_bytes=MiB, max_ratio=100)
    many = write_zip(tmp_path / "many.zip", {f"{i}.csv": os.urandom(400_000) for i in range(3)})
    with pytest.raises(RejectedFile, match=r"many\.zip: uncompresses to 1200000 bytes in total"):
        inspect_zip(many, max_bytes=MiB, max_ratio=100)


def test_zip_bomb_member_ratio_is_refused(tmp_path: Path) -> None:
    # 64 MiB of zeros deflate ~1000:1 into ~64 KB, written streaming; generous max_bytes so only the ratio can refuse.
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("nol.csv", "w") as member:
        zeros = bytes(MiB)
        for _ in range(64):
            member.write(zeros)
    info = zipfile.ZipFile(path).infolist()[0]
    assert info.file_size / info.compress_size > 500
    with pytest.raises(RejectedFile, match=r"member 'nol\.csv': compression ratio \d+:1 .* above max_ratio \(100\): a zip bomb"):
        extract_members(path, tmp_path / "out", member_pattern=None, max_bytes=1 << 30, max_ratio=100)
    assert not (tmp_path / "out").exists()  # refused before the destination was even made


def test_zip_bomb_spread_over_small_members_is_refused_by_the_total_ratio(tmp_path: Path) -> None:
    # Each member stays inside the per-member grace; together they are a bomb.
    archive = write_zip(tmp_path / "bomb.zip", {f"{i:02d}.csv": bytes(RATIO_GRACE) for i in range(20)})
    with pytest.raises(RejectedFile, match=r"bomb\.zip: the archive as a whole: compression ratio"):
        inspect_zip(archive, max_bytes=1 << 30, max_ratio=100)


RATIO_GRACE = file_safety.RATIO_GRACE_BYTES


def test_small_compressible_parts_are_not_mistaken_for_bombs(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "kiriman.zip", {"kosong.csv": bytes(200_000), "sekolah.csv": b"npsn\n1\n"})
    assert [info.filename for info in inspect_zip(archive, **LIMITS)] == ["kosong.csv", "sekolah.csv"]


def test_overlapping_members_are_refused(tmp_path: Path) -> None:
    archive = overlapping_zip(tmp_path / "overlap.zip", copies=40)
    with pytest.raises(RejectedFile, match=r"overlapping members"):
        inspect_zip(archive, **LIMITS)


@pytest.mark.parametrize("spoil", ["random", "truncated", "empty"])
def test_corrupt_zip_is_refused(tmp_path: Path, spoil: str) -> None:
    good = write_zip(tmp_path / "good.zip", {"sekolah.csv": os.urandom(5000)}).read_bytes()
    content = {"random": os.urandom(4096), "truncated": good[: len(good) // 2], "empty": b""}[spoil]
    path = tmp_path / "rusak.zip"
    path.write_bytes(content)
    with pytest.raises(RejectedFile, match=r"rusak\.zip: not a readable zip archive"):
        extract_members(path, tmp_path / "out", member_pattern=None, **LIMITS)


def test_lying_header_is_refused_mid_stream_and_nothing_is_extracted(tmp_path: Path) -> None:
    # The headers say 1000 bytes; 3 MB are inside. Inspection cannot tell, extraction must.
    archive = write_zip(tmp_path / "bohong.zip", {"a_ok.csv": b"npsn\n1\n", "b_big.csv": os.urandom(10) * 300_000})
    patch_sizes(archive, 1, uncompressed=1000)
    assert [i.file_size for i in inspect_zip(archive, max_bytes=MiB, max_ratio=100)] == [7, 1000]
    dest = tmp_path / "out"
    with pytest.raises(RejectedFile, match=r"member 'b_big\.csv': cannot be extracted \(Bad CRC-32"):
        extract_members(archive, dest, member_pattern=None, max_bytes=MiB, max_ratio=100)
    assert_empty(dest)  # a_ok.csv was streamed first, yet nothing is left


class FakeLyingArchive:
    """Fake: a zip reader that yields more bytes than the header declares. CPython's zipfile stops
    at the declared size itself, so the cap of our own reading loop cannot be shown with it."""

    def __init__(self, produced: int) -> None:
        self.produced = produced

    def open(self, info: zipfile.ZipInfo) -> io.BytesIO:
        return io.BytesIO(bytes(self.produced))


def test_byte_cap_stops_a_reader_that_outruns_the_header(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("b_big.csv")
    info.file_size, info.compress_size = 1000, 1000
    target = tmp_path / "member"
    with pytest.raises(RejectedFile, match=r"inflates past its declared size \(1000 bytes\)"):
        file_safety._stream_member(FakeLyingArchive(3 * MiB), info, target, MiB, 100, "bohong.zip")  # type: ignore[arg-type]
    assert target.stat().st_size <= 1000
    with pytest.raises(RejectedFile, match=r"inflates past max_bytes \(500 bytes\)"):
        file_safety._stream_member(FakeLyingArchive(3 * MiB), info, tmp_path / "m2", 500, 100, "bohong.zip")  # type: ignore[arg-type]


def test_extract_members_by_pattern_keeps_folders_and_never_opens_nested_archives(tmp_path: Path) -> None:
    inner = write_zip(tmp_path / "inner.zip", {"../../escape.csv": b"x"}).read_bytes()
    archive = write_zip(
        tmp_path / "kiriman.zip",
        {
            "2024/sekolah.csv": b"npsn\n30404588\n",
            "2024\\guru.csv": b"nip\n1\n",
            "README.txt": b"baca saya",
            "arsip/dalam.zip": inner,
            "folder/": b"",
        },
    )
    dest = tmp_path / "out"
    got = extract_members(archive, dest, member_pattern="*.csv", **LIMITS)
    assert [p.relative_to(dest).as_posix() for p in got] == ["2024/sekolah.csv", "2024/guru.csv"]
    assert (dest / "2024" / "sekolah.csv").read_bytes() == b"npsn\n30404588\n"
    everything = extract_members(archive, tmp_path / "all", member_pattern=None, **LIMITS)
    assert (tmp_path / "all" / "arsip" / "dalam.zip").read_bytes() == inner  # a file, not unpacked
    assert len(everything) == 4
    assert not (tmp_path / "escape.csv").exists()
    assert sorted(p.name for p in dest.iterdir()) == ["2024"]  # no staging folder left behind


def test_extraction_never_writes_through_a_symlink_in_the_destination(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "2024").symlink_to(outside, target_is_directory=True)
    archive = write_zip(tmp_path / "kiriman.zip", {"2024/sekolah.csv": b"npsn\n1\n"})
    with pytest.raises(RejectedFile, match=r"2024 is a symbolic link"):
        extract_members(archive, dest, member_pattern=None, **LIMITS)
    assert list(outside.iterdir()) == []


# --- xlsx containers ---------------------------------------------------------------------------


def write_workbook(path: Path) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Sekolah")
    sheet.write_row(0, 0, ["npsn", "nama"])
    sheet.write_row(1, 0, ["30404588", "SD NEGERI 001 TANAH GROGOT"])
    workbook.close()
    return path


def pad_sheet(path: Path, padding: int) -> Path:
    """Rewrite the workbook with `padding` spaces inside its sheet XML (valid XML, ~1000:1)."""
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                with target.open(info.filename, "w") as member:
                    head, tail = data.split(b"</worksheet>")
                    member.write(head)
                    for _ in range(padding // MiB):
                        member.write(b" " * MiB)
                    member.write(b"</worksheet>" + tail)
            else:
                target.writestr(info.filename, data)
    return path


def test_sound_workbook_passes(tmp_path: Path) -> None:
    check_xlsx_container(write_workbook(tmp_path / "sekolah.xlsx"), **LIMITS)


def test_xlsx_bomb_is_refused_before_any_parser(tmp_path: Path) -> None:
    bomb = pad_sheet(write_workbook(tmp_path / "bom.xlsx"), 48 * MiB)
    assert bomb.stat().st_size < MiB
    # It is a valid workbook: a parser would inflate all of it (here harmlessly, at 48 MiB).
    rows = fastexcel.read_excel(bomb).load_sheet(0, header_row=None, dtypes="string").to_arrow().to_pylist()
    assert rows[1]["__UNNAMED__0"] == "30404588"
    with pytest.raises(RejectedFile, match=r"bom\.xlsx: member 'xl/worksheets/sheet1\.xml': compression ratio \d+:1"):
        check_xlsx_container(bomb, **LIMITS)
    with pytest.raises(RejectedFile, match=r"member 'xl/worksheets/sheet1\.xml': uncompresses to \d+ bytes, more than max_bytes"):
        check_xlsx_container(bomb, max_bytes=32 * MiB, max_ratio=10_000)


def test_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "sekolah.xlsx", {"sekolah.csv": b"npsn\n1\n"})
    with pytest.raises(RejectedFile, match=r"without \[Content_Types\]\.xml is not an xlsx workbook"):
        check_xlsx_container(path, **LIMITS)
    not_zip = tmp_path / "palsu.xlsx"
    not_zip.write_text("npsn,nama\n1,SD\n")
    with pytest.raises(RejectedFile, match=r"palsu\.xlsx: not a readable zip archive"):
        check_xlsx_container(not_zip, **LIMITS)
