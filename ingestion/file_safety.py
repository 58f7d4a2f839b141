"""Refusing dangerous drops before any parser touches them: escaping paths, symlinks, zip bombs.

Every check raises `RejectedFile` with a reason naming the file (and the archive member), and
nothing is extracted when a file is refused. The functions take an optional `label` (how the
file is named in messages, e.g. "drop/disdik/sekolah.zip"); without it the path is used.

What is refused:
- In a drop folder: symbolic links (the file, or any folder between the drop folder and the
  file), paths with `..` parts or resolving outside the folder, anything that is not a regular
  file (folders, FIFOs, devices, sockets), files over a size limit.
- In a zip (an `.zip` drop, or an `.xlsx`, which is a zip): a corrupt archive; member names that
  would escape the destination (absolute, `..` parts, backslash paths that escape on Windows,
  drive letters, NUL bytes); two members writing the same path; symlink and other special
  members (their Unix mode in `external_attr`); encrypted members; more than `max_members`
  members; a member or the whole archive uncompressing to more than `max_bytes`; a compression
  ratio (uncompressed / compressed, per member and in total) above `max_ratio` once more than
  `RATIO_GRACE_BYTES` are involved (small, very repetitive parts such as an empty sheet's styles
  compress well and are harmless; a bomb needs volume); members whose compressed sizes add up to
  more than the archive itself (overlapping members, the "better zip bomb" construction).

Extraction streams each member with a byte cap, so a member whose header lies about its size
cannot write more than the header declared (and never more than `max_bytes`). Nested archives
are not opened: a `.zip` inside a zip is extracted as a file like any other, or left out by the
member pattern; it is never unpacked here.

Known limits: hard links cannot be told from ordinary files and are accepted; the checks and the
open are separate system calls, so `open_regular` re-checks the opened file descriptor (no
symlink followed, still a regular file, the same inode) to close that gap for the final open.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ingestion.errors import RejectedFile

# A drop-folder file modified less than this long ago may still be being written: the file kind waits
# until it is this old, and the drop-folder watcher (orchestration.triggers) fires only then.
SETTLE_SECONDS = 1.0

log = logging.getLogger(__name__)

RATIO_GRACE_BYTES = 1 << 20  # ratios are judged only past 1 MiB of uncompressed data
_CHUNK = 1 << 20
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_ENCRYPTED_FLAG = 0x1


# --- Files in a drop folder --------------------------------------------------------------------


def check_in_folder(folder: Path, path: Path, *, label: str | None = None) -> None:
    """Refuse `path` unless it is a regular file inside `folder`, reached without a symlink.

    `path` is absolute or relative to `folder`. The folder itself may be reached through a
    symlink (e.g. a mounted share); everything below it may not. Raises `RejectedFile`.
    """
    name = label or str(path)
    folder_abs = Path(os.path.abspath(folder))
    candidate = path if path.is_absolute() else folder / path
    if ".." in candidate.parts:
        raise RejectedFile(f"{name}: the path has a '..' part; only files inside {folder} are read")
    candidate_abs = Path(os.path.abspath(candidate))
    if not candidate_abs.is_relative_to(folder_abs):
        raise RejectedFile(f"{name}: lies outside the folder {folder}")
    current = folder_abs
    for part in candidate_abs.relative_to(folder_abs).parts:
        current = current / part
        if current.is_symlink():
            what = "the file" if current == candidate_abs else f"its folder {current.relative_to(folder_abs)}"
            raise RejectedFile(f"{name}: {what} is a symbolic link; only regular files are read from a drop folder")
    try:
        mode = candidate_abs.lstat().st_mode
        real = candidate_abs.resolve(strict=True)
    except FileNotFoundError:
        raise RejectedFile(f"{name}: does not exist") from None
    except OSError as exc:  # e.g. a symlink loop, a permission error
        raise RejectedFile(f"{name}: cannot be examined ({exc.strerror or exc})") from None
    if not real.is_relative_to(folder_abs.resolve()):
        raise RejectedFile(f"{name}: resolves outside the folder {folder}")
    if not stat.S_ISREG(mode):
        raise RejectedFile(f"{name}: is not a regular file ({_kind_of(mode)}); only regular files are read")


def check_size(path: Path, max_bytes: int, *, label: str | None = None) -> None:
    """Refuse a file larger than `max_bytes`."""
    size = path.stat().st_size
    if size > max_bytes:
        raise RejectedFile(f"{label or path}: {size} bytes is more than max_bytes ({max_bytes})")


def open_regular(folder: Path, path: Path, *, label: str | None = None) -> BinaryIO:
    """`check_in_folder`, then open for reading without following a symlink swapped in since.

    The descriptor is checked again after opening (regular file, same device and inode as the
    checked path), so a file replaced between the check and the open is refused, not read.
    """
    name = label or str(path)
    check_in_folder(folder, path, label=label)
    target = path if path.is_absolute() else folder / path
    checked = target.lstat()
    try:
        # O_NONBLOCK: a FIFO swapped in would otherwise block the open forever.
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise RejectedFile(f"{name}: cannot be opened safely ({exc.strerror or exc})") from None
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (checked.st_dev, checked.st_ino):
        os.close(fd)
        raise RejectedFile(f"{name}: was replaced while being opened; left for the next run")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _kind_of(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return kind
    return f"mode {stat.filemode(mode)}"


# --- Zip archives (and xlsx workbooks, which are zips) -----------------------------------------


def inspect_zip(
    path: Path,
    *,
    max_bytes: int,
    max_ratio: float,
    max_members: int = 10_000,
    label: str | None = None,
) -> list[zipfile.ZipInfo]:
    """Every member of the zip at `path`, after refusing anything listed in the module docstring.

    Only the central directory is read (no member is decompressed). Directory members are
    included in the result; `extract_members` skips them.
    """
    name = label or str(path)
    archive_bytes = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise RejectedFile(f"{name}: not a readable zip archive ({_first_line(exc)})") from None
    if len(infos) > max_members:
        raise RejectedFile(f"{name}: {len(infos)} members is more than the limit ({max_members})")

    seen: dict[str, str] = {}
    total_size = total_compressed = 0
    for info in infos:
        member = f"{name}: member '{info.filename}'"
        reason = unsafe_member_name(info.filename)
        if reason:
            raise RejectedFile(f"{member}: {reason}; the archive is refused")
        target = _normalized(info.filename)
        if target in seen:
            raise RejectedFile(f"{member}: writes the same path as member '{seen[target]}'; the archive is refused")
        seen[target] = info.filename
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise RejectedFile(f"{member}: is a symbolic link; the archive is refused")
        if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise RejectedFile(f"{member}: is a special file ({_kind_of(mode)}); the archive is refused")
        if info.flag_bits & _ENCRYPTED_FLAG:
            raise RejectedFile(f"{member}: is encrypted; send the archive without a password")
        if info.is_dir():
            continue
        if info.file_size > max_bytes:
            raise RejectedFile(f"{member}: uncompresses to {info.file_size} bytes, more than max_bytes ({max_bytes})")
        _check_ratio(member, info.file_size, info.compress_size, max_ratio)
        total_size += info.file_size
        total_compressed += info.compress_size
    if total_size > max_bytes:
        raise RejectedFile(f"{name}: uncompresses to {total_size} bytes in total, more than max_bytes ({max_bytes})")
    _check_ratio(f"{name}: the archive as a whole", total_size, total_compressed, max_ratio)
    if total_compressed > archive_bytes:
        raise RejectedFile(
            f"{name}: its members' compressed sizes ({total_compressed} bytes) exceed the archive "
            f"({archive_bytes} bytes): overlapping members (a zip bomb construction); the archive is refused"
        )
    return infos


def unsafe_member_name(filename: str) -> str | None:
    """Why a member name could write outside the destination (on Linux or Windows), or None."""
    if not filename:
        return "has an empty name"
    if "\x00" in filename:
        return "has a NUL byte in its name"
    if filename.startswith(("/", "\\")):
        return "has an absolute name"
    if _DRIVE_RE.match(filename):
        return "names a drive letter"
    if ".." in re.split(r"[/\\]", filename):
        # Backslashes count: Windows tools treat `..\..\x` as escaping the folder.
        return "has a '..' part that escapes the destination"
    return None


def extract_members(
    path: Path,
    dest: Path,
    *,
    member_pattern: str | None,
    max_bytes: int,
    max_ratio: float,
    max_members: int = 10_000,
    label: str | None = None,
) -> list[Path]:
    """Inspect the zip, then extract the members matching `member_pattern` into `dest`.

    `member_pattern` is an fnmatch pattern over the whole member name (`*` also crosses `/`;
    case-sensitive, like the drop folder's glob); None extracts every file member. Backslashes in
    names are read as folder separators, also by the pattern (`data/*.csv` chooses `data\\x.csv`).
    Members are streamed into a temporary folder inside `dest` with a byte cap, so a member that
    inflates past its declared size or past `max_bytes` (alone or with the others) is refused
    mid-stream. Only when every member is out are they moved to their final names under `dest`; on
    a refusal the temporary folder is removed and `dest` is left as it was. Returns the extracted
    paths, in archive order. Nested archives are not opened (see the module docstring).
    """
    name = label or str(path)
    infos = inspect_zip(path, max_bytes=max_bytes, max_ratio=max_ratio, max_members=max_members, label=label)
    chosen = [
        info
        for info in infos
        if not info.is_dir() and (member_pattern is None or fnmatch.fnmatchcase(_normalized(info.filename), member_pattern))
    ]
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extracting-", dir=dest))
    try:
        staged: list[tuple[Path, Path]] = []
        total = 0
        with zipfile.ZipFile(path) as archive:
            for number, info in enumerate(chosen):
                temporary = staging / f"{number:06d}"
                total += _stream_member(archive, info, temporary, max_bytes - total, max_ratio, name)
                staged.append((temporary, dest / _normalized(info.filename)))
        for _, final in staged:
            check_destination(dest, final, name)
        extracted = []
        for temporary, final in staged:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, final)
            extracted.append(final)
        return extracted
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _stream_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    budget: int,
    max_ratio: float,
    name: str,
) -> int:
    """Copy one member to `target`, refusing it past `budget` bytes or its declared size; bytes written."""
    member = f"{name}: member '{info.filename}'"
    limit = min(budget, info.file_size)
    written = 0
    try:
        with archive.open(info) as source, open(target, "xb") as sink:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > limit:
                    declared = "its declared size" if limit == info.file_size else "max_bytes"
                    raise RejectedFile(f"{member}: inflates past {declared} ({limit} bytes); the archive is refused")
                sink.write(chunk)
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as exc:
        # zipfile stops at the declared size and then fails the CRC: a lying header ends here.
        raise RejectedFile(f"{member}: cannot be extracted ({_first_line(exc)}); the archive is refused") from None
    _check_ratio(member, written, info.compress_size, max_ratio)
    return written


def check_destination(dest: Path, final: Path, name: str) -> None:
    """Refuse writing `final` unless it stays inside `dest` without passing through a symlink."""
    root = Path(os.path.abspath(dest))
    final_abs = Path(os.path.abspath(final))
    if not final_abs.is_relative_to(root) or final_abs == root:
        raise RejectedFile(f"{name}: member would be written to {final}, outside {dest}; the archive is refused")
    current = root
    for part in final_abs.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            raise RejectedFile(f"{name}: {current} is a symbolic link; a member would be written through it")
        if current != final_abs and current.exists() and not current.is_dir():
            raise RejectedFile(f"{name}: {current} is a file where a member needs a folder")


def check_xlsx_container(path: Path, *, max_bytes: int, max_ratio: float, label: str | None = None) -> None:
    """Refuse an xlsx that is not a sound zip workbook or is a bomb, before any parser reads it.

    An xlsx is a zip of XML parts; a sheet XML padded with gigabytes of whitespace compresses
    ~1000:1 and would exhaust memory in the parser, so `inspect_zip` judges it first. `max_bytes`
    caps each part and the workbook's uncompressed total.
    """
    name = label or str(path)
    infos = inspect_zip(path, max_bytes=max_bytes, max_ratio=max_ratio, label=label)
    if not any(info.filename == "[Content_Types].xml" for info in infos):
        raise RejectedFile(f"{name}: a zip without [Content_Types].xml is not an xlsx workbook")


def _check_ratio(what: str, size: int, compressed: int, max_ratio: float) -> None:
    if size <= RATIO_GRACE_BYTES:
        return
    ratio = size / max(compressed, 1)
    if ratio > max_ratio:
        raise RejectedFile(
            f"{what}: compression ratio {ratio:.0f}:1 ({size} bytes from {compressed}) is above max_ratio "
            f"({max_ratio:g}): a zip bomb; the archive is refused"
        )


def _normalized(filename: str) -> str:
    """The relative path a (safe) member name writes to, backslashes read as separators."""
    parts = [part for part in re.split(r"[/\\]", filename) if part not in ("", ".")]
    return str(PurePosixPath(*parts)) if parts else "."


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
