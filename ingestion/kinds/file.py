"""The `file` connector kind: workbooks and CSV files an agency drops into `drop/<agency>/`.

Finding files: the catalog `pattern` is globbed in the agency's drop folder, oldest first. Skipped
(with a log line, never recorded): symlinks, anything resolving outside the folder, hidden and
Office lock files (`.x`, `~$x`), and files still being written. "Still being written" is two
`stat` calls around the read: a file changed less than `SETTLE_SECONDS` ago is waited for once
(at most that long), and if its size or mtime then differs between the stats, or the bytes read
differ in length, it is left for the next run. Files over `max_bytes` are hashed (streaming) and
refused. A zip archive (`archive: zip`) is checked whole (`ingestion.file_safety`: traversal,
bombs, ratios) and each member matching `member_pattern` is its own delivery, identified by the
archive's sha256 and the member's name.

Reading (every cell as text, so ids never pass through a float in our hands):
- xlsx/xls: the workbook bytes that were hashed are parsed (fastexcel `dtypes="string"`), after the
  zip-bomb check for xlsx; the declared sheet or the first visible one; the header is the declared
  `header_row` or the row naming the most contract columns, composed over `header_rows` rows
  through merged cells when more than one (`ingestion.workbooks`). Rows keep their sheet row
  number. Excel keeps 15 significant digits of a number: a number cell with more digits in an
  id column has lost digits and is flagged (`_flag`) as precision loss. An xlsx error cell (`#N/A`,
  `#DIV/0!`), which fastexcel reads as empty, is flagged naming the error (a row of nothing but error
  cells is blank, as a formula row dragged below the data; an xls workbook's error cells read as empty).
  Which cells hold such numbers or errors is read from the sheet XML in a thread beside fastexcel
  (`WorkbookParts.scan_cells`). A date cell fastexcel reads as a day it does not show (a time without a
  date, Excel's 29 February 1900: `ingestion.excel_serials`) is flagged in a date or timestamp column and
  reads as what it shows ('08:30') in any other.
- csv: DuckDB `read_csv` over the file (streamed, never in Python), every column VARCHAR; the
  delimiter declared or the one whose header names the most contract columns; the header found
  below title lines in the first lines. windows-1252 is transcoded to a temporary UTF-8 file while
  it is hashed (not a file starting with a UTF-8 byte order mark: that one is UTF-8, see
  `_is_windows_1252`). `_source_row` is the line the record starts on: the header's last line + the
  record number, plus, in a file with more line breaks than records, the line breaks inside the quoted
  values of the records before it (counted while the file is hashed). Blank lines between records,
  which DuckDB skips, are not counted.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from xml.etree import ElementTree

import duckdb
import fastexcel
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion import excel_serials, file_safety, workbooks
from ingestion.catalog import DatasetEntry, FileSource
from ingestion.contract import (
    HEADER_SEARCH_ROWS,
    column_letter,
    find_header_row,
    header_key,
    header_spellings,
    ident,
    is_id_column,
    literal,
    locate,
)
from ingestion.durable import sha256_file
from ingestion.errors import IngestionError, RejectedFile
from ingestion.file_safety import SETTLE_SECONDS
from ingestion.kinds import Delivery, LedgerView, Pending
from ingestion.zones import Zones

log = logging.getLogger(__name__)

IGNORED_PREFIXES = (".", "~$")
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number
CHUNK = 1 << 20
HEAD_BYTES = 256 * 1024  # where a CSV header is looked for
# The longest CSV line DuckDB reads (its default is 2 MB). It also sizes the parallel reader's batches (4 times
# this), each one step of the numbered table's ordered insert. With the default (8 MB batches) a batch holds
# fewer rows than a row group (122,880) and merging the part-filled groups made the insert of 1M rows cost ~1/3
# more CPU; 6 MB (24 MB batches) fills a row group for rows up to ~200 bytes; 8 MB (32 MB batches) added
# ~100 MB of peak memory at 10M rows.
CSV_MAX_LINE_BYTES = 6_000_000
DELIMITERS = ",;\t|"
_LONG_DIGITS = re.compile(rf"[+-]?[0-9]{{{EXCEL_DIGITS + 1},}}")  # a full match: more digits than Excel keeps


# --- Finding new files ------------------------------------------------------------------------

def _source(entry: DatasetEntry) -> FileSource:
    source = entry.spec.source
    if not isinstance(source, FileSource):
        raise IngestionError(f"{entry.id}: source kind '{source.kind}' is not file")
    return source


def pending_sources(entry: DatasetEntry, zones: Zones, ledger: LedgerView) -> Iterator[Pending]:
    """New files (or archive members) in the agency's drop folder matching the dataset's pattern, oldest first."""
    source = _source(entry)
    folder = zones.drop(entry.agency.code)
    for path in list_drop_files(folder, source.pattern):
        label = path.relative_to(zones.root).as_posix()
        first = path.stat()
        if first.st_size > source.max_bytes:
            sha256 = sha256_file(path)
            if not ledger.is_known(sha256):
                message = f"{label}: {first.st_size} bytes is more than max_bytes ({source.max_bytes}) in {entry.path.name}"
                yield Pending(_source_info(entry, label, sha256, first), read=_refuse(message))
            continue
        age = time.time() - first.st_mtime
        if age < SETTLE_SECONDS:
            time.sleep(SETTLE_SECONDS - age)
        if source.archive == "zip":
            yield from _archive_members(entry, zones, ledger, path, label, first)
        elif source.format == "csv":
            yield from _csv_source(entry, ledger, path, label, first)
        else:
            content = path.read_bytes()
            if not _settled(path, first, len(content), label):
                continue
            sha256 = hashlib.sha256(content).hexdigest()
            if ledger.is_known(sha256):
                log.debug("%s: sha256 %s already in the ledger, skipped", label, sha256[:8])
                continue
            yield Pending(_source_info(entry, label, sha256, first), read=partial(read_workbook, content, label, entry))


def list_drop_files(folder: Path, pattern: str) -> list[Path]:
    """Regular files matching `pattern` inside `folder`, oldest first (by mtime, then name)."""
    if not folder.is_dir():
        return []
    root = folder.resolve()
    found = []
    for path in folder.glob(pattern):
        if path.name.startswith(IGNORED_PREFIXES):
            continue
        if path.is_symlink():
            log.warning("%s: is a symbolic link; only regular files are read from a drop folder", path)
            continue
        try:
            file_safety.check_in_folder(folder, path)
        except RejectedFile as exc:
            log.warning("%s; ignored", exc.message)
            continue
        if not path.resolve().is_relative_to(root):
            log.warning("%s: resolves outside the drop folder %s; ignored", path, root)
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def _settled(path: Path, first: os.stat_result, length: int, label: str) -> bool:
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (first.st_size, first.st_mtime_ns) or length != after.st_size:
        log.info("%s: still being written (size or mtime changed while reading); the next run picks it up", label)
        return False
    return True


def _source_info(entry: DatasetEntry, label: str, sha256: str, stat: os.stat_result, **more: object) -> dict:
    source = _source(entry)
    return {
        "kind": "file",
        "path": label,
        "sheet": source.sheet if source.format in ("xlsx", "xls") else None,
        "sha256": sha256,
        "bytes": stat.st_size,
        "mtime": stat.st_mtime,
        **more,
    }


def _refuse(message: str) -> Callable[[], Delivery]:
    def read() -> Delivery:
        raise RejectedFile(message)

    return read


def _csv_source(entry: DatasetEntry, ledger: LedgerView, path: Path, label: str, first: os.stat_result) -> Iterator[Pending]:
    """One CSV: hashed while streamed (and transcoded to UTF-8 when it is windows-1252), its line breaks counted."""
    if _is_utf16(path):
        sha256 = sha256_file(path)
        if not ledger.is_known(sha256):
            message = f"{label}: UTF-16 text (Excel's \"Unicode Text\"), not CSV; save the file as \"CSV UTF-8\""
            yield Pending(_source_info(entry, label, sha256, first), read=_refuse(message))
        return
    digest, length = hashlib.sha256(), 0
    line_breaks = LineBreaks()
    transcoded: Path | None = None
    if _is_windows_1252(path, _source(entry).encoding):
        handle, name = tempfile.mkstemp(prefix="satudata-", suffix=".csv")
        transcoded = Path(name)
        decoder = codecs.getincrementaldecoder("cp1252")(errors="strict")
        try:
            with path.open("rb") as source, os.fdopen(handle, "wb") as out:
                for block in iter(lambda: source.read(CHUNK), b""):
                    line_breaks.count(block)
                    digest.update(block)
                    length += len(block)
                    out.write(decoder.decode(block).encode("utf-8"))
                out.write(decoder.decode(b"", final=True).encode("utf-8"))
        except UnicodeDecodeError as exc:
            transcoded.unlink()
            sha256 = sha256_file(path)
            if not ledger.is_known(sha256):
                message = f"{label}: not windows-1252 text (byte {length - len(block) + exc.start}: {exc.reason})"
                yield Pending(_source_info(entry, label, sha256, first), read=_refuse(message))
            return
    else:
        with path.open("rb") as source:
            for block in iter(lambda: source.read(CHUNK), b""):
                line_breaks.count(block)
                digest.update(block)
                length += len(block)
    sha256 = digest.hexdigest()
    if not _settled(path, first, length, label) or ledger.is_known(sha256):
        if transcoded:
            transcoded.unlink()
        return
    stamp = (first.st_size, first.st_mtime_ns)
    yield Pending(_source_info(entry, label, sha256, first),
                  read=partial(read_csv, transcoded or path, label, entry, None if transcoded else (path, stamp), transcoded,
                               line_breaks.total()))


class LineBreaks:
    """Counts the LF bytes of the blocks of a file as it is hashed, on a thread of its own: hashlib releases the
    GIL while it hashes a block, so the count (which `read_csv` needs for its line numbers) adds no time."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="satudata-line-breaks")
        self._counts: list[Future[int]] = []

    def count(self, block: bytes) -> None:
        self._counts.append(self._pool.submit(block.count, b"\n"))

    def total(self) -> int:
        self._pool.shutdown()
        return sum(count.result() for count in self._counts)


def _is_utf16(path: Path) -> bool:
    """Whether a file starts with a UTF-16 byte order mark, as Excel's "Unicode Text" does (read as UTF-8
    or windows-1252, its header would be found nowhere and the refusal say so, not why)."""
    with path.open("rb") as handle:
        return handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _is_windows_1252(path: Path, encoding: str) -> bool:
    """Whether a CSV is read as windows-1252: as declared, unless it starts with a UTF-8 byte order mark.

    Excel's "CSV UTF-8" writes the mark, and no windows-1252 text starts with its bytes ('ï»¿'):
    transcoded, every 'é' of such a file would load as 'Ã©' without any error.
    """
    if encoding != "windows-1252":
        return False
    with path.open("rb") as handle:
        return handle.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8


def _archive_members(
    entry: DatasetEntry, zones: Zones, ledger: LedgerView, path: Path, label: str, first: os.stat_result,
) -> Iterator[Pending]:
    """Each member of a zip drop matching `member_pattern`, extracted safely into a temporary folder."""
    source = _source(entry)
    archive_sha256 = sha256_file(path)
    if not _settled(path, first, first.st_size, label):
        return
    scratch = Path(tempfile.mkdtemp(prefix="satudata-zip-"))
    try:
        try:
            members = file_safety.extract_members(
                path, scratch, member_pattern=source.member_pattern, max_bytes=source.max_bytes,
                max_ratio=source.max_ratio, label=label,
            )
        except RejectedFile as exc:
            if not ledger.is_known(archive_sha256):
                yield Pending(_source_info(entry, label, archive_sha256, first), read=_refuse(exc.message))
            return
        for member in members:
            name = member.relative_to(scratch).as_posix()
            member_label = f"{label}!{name}"
            sha256 = hashlib.sha256(f"{archive_sha256}:{name}".encode()).hexdigest()
            if ledger.is_known(sha256):
                continue
            info = _source_info(entry, label, sha256, first, member=name, archive_sha256=archive_sha256,
                                member_bytes=member.stat().st_size)
            if source.format == "csv":
                read = partial(_read_member_csv, member, member_label, entry)
            else:
                read = partial(read_workbook, member.read_bytes(), member_label, entry)
            yield Pending(info, read=read)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _read_member_csv(member: Path, label: str, entry: DatasetEntry) -> Delivery:
    """A CSV member: copied out of the scratch folder (removed when the archive is done), transcoded if needed."""
    handle, name = tempfile.mkstemp(prefix="satudata-", suffix=".csv")
    copy = Path(name)
    line_breaks = LineBreaks()
    with member.open("rb") as source, os.fdopen(handle, "wb") as out:
        transcode = _is_windows_1252(member, _source(entry).encoding)
        decoder = codecs.getincrementaldecoder("cp1252")(errors="strict")
        try:
            for block in iter(lambda: source.read(CHUNK), b""):
                line_breaks.count(block)
                out.write(decoder.decode(block).encode("utf-8") if transcode else block)
        except UnicodeDecodeError as exc:
            copy.unlink()
            raise RejectedFile(f"{label}: not windows-1252 text ({exc.reason})") from None
    return read_csv(copy, label, entry, None, copy, line_breaks.total())


# --- CSV --------------------------------------------------------------------------------------

def read_csv(
    path: Path, label: str, entry: DatasetEntry, unchanged: tuple[Path, tuple[int, int]] | None, owned: Path | None,
    line_breaks: int | None = None,
) -> Delivery:
    """A CSV delivery read by DuckDB; `owned` is a temporary file removed on close.

    `line_breaks`, the file's LF count when known, tells whether some lines are not one record each (line
    breaks inside quoted values, blank lines): then each record's line number is counted past the breaks
    inside the records before it (`_numbered_past_inner_breaks`).
    """
    source = _source(entry)
    with path.open("rb") as handle:
        head_bytes = handle.read(HEAD_BYTES)
    truncated = len(head_bytes) == HEAD_BYTES
    head = head_bytes.decode("utf-8-sig", errors="replace")
    lines = head.splitlines(keepends=True)
    if truncated and lines:
        lines = lines[:-1]  # the last line may be cut
    lines = lines[: HEADER_SEARCH_ROWS + 1]
    if not any(line.strip() for line in lines):
        raise RejectedFile(f"{label}: the file is empty")
    delimiter, index, cells = _csv_header(lines, source.delimiter, source.header_row, label, entry)
    record_ends = _record_end_lines(lines, delimiter, index)
    header_line = record_ends[index - 1] + 1 if index else 1  # where the header starts: the line a message names
    names, places = _unique_names(cells, [column_letter(i) for i in range(len(cells))], locate(label, None, header_line, "line"))
    columns_sql = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"
    scan = (f"read_csv({literal(str(path))}, delim={literal(delimiter)}, quote='\"', escape='\"', header=false, "
            f"skip={index + 1}, columns={columns_sql}, auto_detect=false, encoding='utf-8', "
            f"max_line_size={CSV_MAX_LINE_BYTES}{_new_line_option(lines, record_ends[index])})")

    blank = [n for n, cell in zip(names, cells, strict=True) if not header_key(cell)]
    if blank:
        # A column with neither header nor values (a trailing delimiter) is not a column.
        with duckdb.connect() as con:
            counts = con.execute(f"SELECT {', '.join(f'count({ident(n)})' for n in blank)} FROM {scan}").fetchone()
        assert counts is not None  # an aggregate returns one row
        empty = {name for name, count in zip(blank, counts, strict=True) if count == 0}
        names = [n for n in names if n not in empty]
    selected = ", ".join(ident(n) for n in names)

    def relation(con: duckdb.DuckDBPyConnection) -> str:
        if unchanged is not None:
            original, stamp = unchanged
            now = original.stat()
            if (now.st_size, now.st_mtime_ns) != stamp:
                raise RejectedFile(f"{label}: changed after it was hashed; it is read again on the next run")
        # rowid of a table filled in file order is the record number; unlike row_number() OVER (),
        # which runs everything above it on one thread, the checks then run in parallel.
        table = f"csv_{uuid.uuid4().hex[:12]}"
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT {selected} FROM {scan}")
        first_line = record_ends[index] + 1
        if line_breaks is not None and line_breaks > record_ends[index] + _rows(con, table):
            return _numbered_past_inner_breaks(con, table, names, first_line)
        return f"(SELECT {selected}, {first_line} + rowid AS _source_row FROM {table})"

    def close() -> None:
        if owned is not None:
            owned.unlink(missing_ok=True)

    return Delivery(
        label=label, sheet=None, position="line", header_row=header_line,
        columns={name: "VARCHAR" for name in names},
        relation=relation, decimal_comma=source.decimal_comma, places=places, close=close,
    )


def _csv_header(
    lines: list[str], declared_delimiter: str | None, declared_row: int | None, label: str, entry: DatasetEntry,
) -> tuple[str, int, list[str | None]]:
    """(delimiter, 0-based header line, header cells) from the first lines of a CSV."""
    spellings = header_spellings(entry.spec.contract)
    best: tuple[int, str, int, list[str | None]] | None = None
    for delimiter in [declared_delimiter] if declared_delimiter else list(DELIMITERS):
        grid = [[cell or None for cell in record] for record in csv.reader(lines, delimiter=delimiter)]
        if declared_row is not None:
            index = declared_row - 1
            if not 0 <= index < len(grid) or not any(header_key(v) for v in grid[index]):
                raise RejectedFile(f"{locate(label, None, declared_row, 'line')}: the declared header_row is empty")
        else:
            found = find_header_row(grid, entry.spec.contract)
            if found is None:
                continue
            index = found
        score = len({spellings[k] for k in map(header_key, grid[index]) if k in spellings})
        if best is None or score > best[0]:
            best = (score, delimiter, index, grid[index])
    if best is None:
        raise RejectedFile(f"{label}: no header row found in the first lines (looked for: {_expected(entry)})")
    return best[1], best[2], best[3]


def _record_end_lines(lines: list[str], delimiter: str, last: int) -> list[int]:
    """The 1-based line on which each of the first lines' records up to `last` (0-based) ends: a quoted
    value may hold line breaks, so a record may span several lines."""
    reader = csv.reader(lines, delimiter=delimiter)
    ends = []
    for _ in range(last + 1):
        next(reader)
        ends.append(reader.line_num)
    return ends


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None  # an aggregate returns one row
    return int(row[0])


def _numbered_past_inner_breaks(con: duckdb.DuckDBPyConnection, table: str, names: list[str], first_line: int) -> str:
    """The records of `table` (in file order) with `_source_row` the line each starts on, counting the line
    breaks inside the records before it (an SP4N-LAPOR! export's multi-line complaint texts). Blank lines
    between records, which DuckDB skips, still go uncounted. Only for files whose line breaks outnumber
    their records: the window over every value costs ~0.2 s per 1M rows."""
    selected = ", ".join(ident(n) for n in names)
    inner = " + ".join(f"coalesce(length({ident(n)}) - length(replace({ident(n)}, chr(10), '')), 0)" for n in names)
    before = f"coalesce(sum({inner}) OVER (ORDER BY rowid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)"
    numbered = f"{table}_lines"
    con.execute(f"CREATE TEMP TABLE {numbered} AS SELECT {selected}, {first_line} + rowid + {before} AS _source_row "
                f"FROM {table} ORDER BY rowid")
    con.execute(f"DROP TABLE {table}")
    return f"(SELECT {selected}, _source_row FROM {numbered})"


def _new_line_option(lines: list[str], header_end: int) -> str:
    """`, new_line=...` telling DuckDB the line break that ends the header (on line `header_end`), when it would guess wrong.

    DuckDB takes the file's line break from the first one it meets, even inside quotes, and Excel on
    Windows ends lines with CRLF but writes a line break typed in a cell as a lone LF: a header cell
    typed over two lines made DuckDB read no rows at all. Only then is it told: a declared line break
    makes its scan ~10 % slower.
    """
    ending = _line_break(lines[header_end - 1])
    if not ending or ending == _line_break(lines[0]):
        return ""
    return f", new_line={literal(ending.encode('unicode_escape').decode())}"


def _line_break(line: str) -> str:
    return line[len(line.rstrip("\r\n")):]


def _expected(entry: DatasetEntry) -> str:
    return ", ".join((col.aliases[0] if col.aliases else name) for name, col in entry.spec.contract.columns.items())


def _unique_names(cells: list[str | None], letters: list[str], where: str) -> tuple[list[str], dict[str, str]]:
    """Relation column names for header cells (header-less ones named by their letter) and their places."""
    names: list[str] = []
    places: dict[str, str] = {}
    for cell, letter in zip(cells, letters, strict=True):
        name = str(cell).strip() if header_key(cell) else f"column_{letter.lower()}"
        if name in places:
            first = places[name].removeprefix("column ")
            raise RejectedFile(f"{where}: columns {first} and {letter} both have the header '{name}'")
        names.append(name)
        places[name] = f"column {letter}"
    return names, places


# --- Workbooks --------------------------------------------------------------------------------

def read_workbook(content: bytes, label: str, entry: DatasetEntry) -> Delivery:
    """An xlsx/xls delivery from the hashed bytes (see the module docstring)."""
    source = _source(entry)
    scratch = Path(tempfile.mkdtemp(prefix="satudata-book-"))
    path = scratch / f"delivery.{source.format}"
    path.write_bytes(content)
    try:
        return _read_workbook(path, content, label, entry)
    except RejectedFile as exc:
        raise RejectedFile(exc.message.replace(str(path), label)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _read_workbook(path: Path, content: bytes, label: str, entry: DatasetEntry) -> Delivery:
    source = _source(entry)
    is_xlsx = content.startswith(b"PK\x03\x04")
    if source.format == "xlsx" and not is_xlsx:
        raise RejectedFile(f"{label}: cannot read the file as an xlsx workbook (not a zip container)")
    try:
        if is_xlsx:
            file_safety.check_xlsx_container(path, max_bytes=source.max_bytes, max_ratio=source.max_ratio, label=label)
            parts: WorkbookParts | None = WorkbookParts(content)
        else:
            parts = None
        reader = fastexcel.read_excel(content)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, fastexcel.FastExcelError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RejectedFile(f"{label}: cannot read the file as an {source.format} workbook ({reason})") from None
    sheet = source.sheet or workbooks.first_visible_sheet(path)
    if sheet not in reader.sheet_names:
        found = ", ".join(f"'{name}'" for name in reader.sheet_names)
        raise RejectedFile(f"{label}: no sheet '{sheet}' (sheets found: {found})")
    # The scan for number cells that lost digits and error cells reads the sheet XML while fastexcel, which
    # releases the GIL, parses it: on two cores it adds nothing to the time (~0.1 s per 100k rows before).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="satudata-xlsx-scan") as scan:
        scanned = scan.submit(parts.scan_cells, sheet) if parts else None
        return _read_sheet(reader, path, sheet, scanned, parts, label, entry)


def _read_sheet(
    reader: fastexcel.ExcelReader, path: Path, sheet: str, scanned: Future[ScannedCells] | None,
    parts: WorkbookParts | None, label: str, entry: DatasetEntry,
) -> Delivery:
    source = _source(entry)
    try:
        loaded = reader.load_sheet(sheet, header_row=None, dtypes="string")
        table = loaded.to_arrow()
    except fastexcel.FastExcelError as exc:
        raise RejectedFile(f"{locate(label, sheet)}: cannot read the sheet ({str(exc).splitlines()[0]})") from None
    if table.num_rows == 0 or table.num_columns == 0:
        raise RejectedFile(f"{locate(label, sheet)}: the sheet is empty")
    absolute = [column.absolute_index for column in loaded.available_columns()]
    letters = [column_letter(i) for i in absolute]
    # fastexcel starts at the first row holding a value; the sheet XML says which row that is.
    first_row = parts.first_row(sheet) if parts else 1
    top = [[table.column(c)[r].as_py() for c in range(table.num_columns)]
           for r in range(min(table.num_rows, HEADER_SEARCH_ROWS + source.header_rows))]
    header_row, headers = _workbook_header(path, top, first_row, absolute, label, sheet, entry)
    skipped = header_row + source.header_rows - first_row
    body = table.slice(skipped)
    keep = [i for i in range(table.num_columns) if header_key(headers[i]) or body.column(i).null_count < body.num_rows]
    names, places = _unique_names([headers[i] for i in keep], [letters[i] for i in keep], locate(label, sheet, header_row))
    columns = [body.column(i) for i in keep]
    first_data_row = header_row + source.header_rows
    cells = scanned.result() if scanned is not None else None
    kept = [absolute[i] for i in keep]
    columns, serial_flags = _serial_corrections(entry, names, columns, skipped, kept, reader, label, sheet)
    flags = _flag_column(
        body.num_rows,
        _error_flags(names, kept, first_data_row, body.num_rows, cells.errors if cells else {}),
        _lost_digit_flags(entry, names, columns, first_data_row, kept, cells.long_numbers if cells else None),
        serial_flags,
    )
    # Handed to DuckDB as a Parquet file, not a registered Arrow table: registering Python objects makes
    # DuckDB import pandas (~1 s, ~4 s without bytecode caches), more than the whole check of 100k rows.
    # The sheet row is the file row number (order kept) counted from the first data row.
    handle, name = tempfile.mkstemp(prefix="satudata-sheet-", suffix=".parquet")
    os.close(handle)
    sheet_file = Path(name)
    try:
        pq.write_table(pa.Table.from_arrays([*columns, flags], names=[*names, "_flag"]), sheet_file)
    except BaseException:
        sheet_file.unlink(missing_ok=True)
        raise
    selected = "".join(f"{ident(n)}, " for n in names)

    def relation(con: duckdb.DuckDBPyConnection) -> str:
        return (f"(SELECT {selected}_flag, {first_data_row} + file_row_number AS _source_row "
                f"FROM read_parquet({literal(str(sheet_file))}, file_row_number = true))")

    def close() -> None:
        sheet_file.unlink(missing_ok=True)

    return Delivery(
        label=label, sheet=sheet, position="row", header_row=header_row,
        columns={name: "VARCHAR" for name in names}, relation=relation,
        decimal_comma=source.decimal_comma, flagged=True, places=places, close=close,
    )


def _workbook_header(
    path: Path, top: list[list[str | None]], first_row: int, absolute: list[int], label: str, sheet: str, entry: DatasetEntry,
) -> tuple[int, list[str | None]]:
    """(1-based header row, one header per loaded column), composed through merged cells when `header_rows` > 1."""
    source = _source(entry)
    if source.header_rows == 1:
        compose = None
    else:
        merged = workbooks.merged_ranges(path, sheet)
        width = max(absolute) + 1
        sheet_rows: list[list[str | None]] = [[None] * width for _ in range(first_row - 1)]
        sheet_rows += [[dict(zip(absolute, row, strict=True)).get(c) for c in range(width)] for row in top]

        def compose(row: int) -> list[str | None]:
            composed = workbooks.compose_header(sheet_rows, merged, row, source.header_rows)
            return [composed[c] if c < len(composed) else None for c in absolute]

    def header_at(row: int) -> list[str | None]:
        index = row - first_row
        if compose is not None:
            return compose(row)
        return top[index] if 0 <= index < len(top) else []

    if source.header_row is not None:
        headers = header_at(source.header_row)
        if not any(header_key(v) for v in headers):
            raise RejectedFile(f"{locate(label, sheet, source.header_row)}: the declared header_row is empty")
        return source.header_row, headers
    candidates = [header_at(first_row + i) for i in range(len(top))]
    found = find_header_row(candidates, entry.spec.contract)
    if found is None:
        raise RejectedFile(f"{locate(label, sheet)}: no header row found in the first rows (looked for: {_expected(entry)})")
    return first_row + found, candidates[found]


def _error_flags(
    names: list[str], absolute: list[int], first_row: int, rows: int, errors: dict[int, dict[int, str]],
) -> dict[int, list[str]]:
    """Row index -> flag lines for the error cells (`ScannedCells.errors`) of the data rows: fastexcel reads
    them as empty, and a failed VLOOKUP's #N/A would load as an empty value without a word."""
    flags: dict[int, list[str]] = {}
    for name, column in zip(names, absolute, strict=True):
        for row, error in sorted(errors.get(column, {}).items()):
            if 0 <= row - first_row < rows:
                flags.setdefault(row - first_row, []).append(
                    f"{name}: '{error}' is an error cell (a formula that failed); correct it or empty the cell")
    return flags


def _serial_corrections(
    entry: DatasetEntry, names: list[str], columns: list[pa.ChunkedArray], skipped: int, absolute: list[int],
    reader: fastexcel.ExcelReader, label: str, sheet: str,
) -> tuple[list[pa.ChunkedArray | pa.Array], dict[int, list[str]]]:
    """(columns, row index -> flag lines) for the date cells fastexcel reads as a day they do not show
    (`ingestion.excel_serials`): a time without a date, or 29 February 1900. In a date or timestamp column
    the row is flagged; in any other column the value becomes what the cell shows ('08:30').

    The columns with suspects (usually none) are read again as durations, which fastexcel gives a date cell
    as its serial (days) and a text or number cell as empty; `skipped` sheet rows lie above the first value.
    """
    flags: dict[int, list[str]] = {}
    corrected: list[pa.ChunkedArray | pa.Array] = list(columns)
    suspected = {c: rows for c, values in enumerate(columns) if (rows := excel_serials.suspects(values))}
    if not suspected:
        return corrected, flags
    try:
        loaded = reader.load_sheet(sheet, header_row=None, use_columns=[absolute[c] for c in suspected],
                                   dtypes={absolute[c]: "duration" for c in suspected})
        table = loaded.to_arrow()
    except fastexcel.FastExcelError as exc:
        raise RejectedFile(f"{locate(label, sheet)}: cannot read its date cells ({str(exc).splitlines()[0]})") from None
    serials = {column.absolute_index: table.column(i) for i, column in enumerate(loaded.selected_columns)}
    contract = entry.spec.contract
    spellings = header_spellings(contract)
    for c, rows in suspected.items():
        contract_name = spellings.get(header_key(names[c]))
        no_date = contract_name is not None and contract.columns[contract_name].type in ("date", "timestamp")
        texts: list | None = None
        for i in rows:
            serial = serials[absolute[c]][skipped + i].as_py()
            fix = excel_serials.correction(serial / timedelta(days=1), columns[c][i].as_py()) if serial is not None else None
            if fix is None:
                continue
            if no_date:
                flags.setdefault(i, []).append(f"{names[c]}: {fix.why_no_date}")
            else:
                texts = texts if texts is not None else columns[c].to_pylist()
                texts[i] = fix.text
        if texts is not None:
            corrected[c] = pa.array(texts, pa.string())
    return corrected, flags


def _flag_column(rows: int, *found: dict[int, list[str]]) -> pa.Array:
    """`_flag`: each row's flag lines, one per line, else NULL."""
    flags: dict[int, list[str]] = {}
    for lines in found:
        for i, more in lines.items():
            flags.setdefault(i, []).extend(more)
    if not flags:  # pa.nulls, unlike pa.array, does not import pandas
        return pa.nulls(rows, pa.string())
    return pa.array(["\n".join(flags[i]) if i in flags else None for i in range(rows)], pa.string())


def _lost_digit_flags(
    entry: DatasetEntry, names: list[str], columns: list[pa.Array], first_row: int, absolute: list[int],
    long_numbers: dict[int, set[int]] | None,
) -> dict[int, list[str]]:
    """Row index -> flag lines for number cells with more than 15 digits in id columns (precision loss).

    `long_numbers` is the xlsx scan (`ScannedCells.long_numbers`); an xls workbook has none, and
    there every such value is taken as a number cell.
    """
    flags: dict[int, list[str]] = {}
    spellings = header_spellings(entry.spec.contract)
    for name, values, column in zip(names, columns, absolute, strict=True):
        contract_name = spellings.get(header_key(name))
        if contract_name is None or not is_id_column(entry, contract_name):
            continue
        if long_numbers is not None:  # the column's long number cells, usually none: their values are looked at
            cells = sorted(row - first_row for row in long_numbers.get(column, ()))
            lost = [i for i in cells if 0 <= i < len(values) and _LONG_DIGITS.fullmatch(values[i].as_py() or "")]
        else:  # Nulls are not "nonzero"; no fill_null: its Python scalar would make pyarrow import pandas.
            lost = pc.indices_nonzero(pc.match_substring_regex(values, f"^{_LONG_DIGITS.pattern}$")).to_pylist()
        for i in lost:
            value = values[i].as_py()
            flags.setdefault(i, []).append(
                f"{name}: '{value}' is a number cell with {len(value.lstrip('+-'))} digits; Excel keeps only "
                f"{EXCEL_DIGITS}, so the last digits are lost (precision loss; format the column as text and type the id again)"
            )
    return flags


# --- The workbook's XML, for what fastexcel does not tell ----------------------------------------

_CELL_REF_RE = re.compile(r"([A-Z]+)(\d+)")
# The text of a number Excel may have cut to 15 digits: 15 or more digits before any point, or an exponent.
# A superset of what is flagged: the flag also needs the text fastexcel read to be 16 or more digits.
# 15, not 16: 999999999999999.99 is read as the float 1e15, whose text has 16 digits.
_LONG_NUMBER_TEXT = rb"\s*[+-]?(?:\d{15}|[\d.]*[eE])"
# A value element holding such a number: `<v>` or `<prefix:v>`, found from its literal end (a fast search).
_LONG_VALUE_RE = re.compile(rb"v>" + _LONG_NUMBER_TEXT)
# A value element holding an error ('#N/A', '#DIV/0!'; every Excel error starts with '#'), its text in group 1.
_ERROR_VALUE_RE = re.compile(rb"v>(#[^<]*)")
_PREFIX_RE = re.compile(rb"[A-Za-z_][\w.-]*")
_CELL_START_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s>/]")
_NOT_IN_CELL_RE = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c>|<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_REF_ATTR_RE = re.compile(rb"""(?:^|\s)r\s*=\s*(["'])([A-Z]+)(\d+)\1""")
_TYPE_ATTR_RE = re.compile(rb"""(?:^|\s)t\s*=\s*(["'])(\w+)\1""")
_SCAN_BYTES = 8 << 20


def _is_value_tag(text: bytes, at: int) -> bool:
    """Whether the `v>` at `at` ends a value start tag, `<v>` or `<prefix:v>` (not text or an end tag)."""
    if text[at - 1:at] == b"<":
        return True
    if text[at - 1:at] != b":":
        return False
    opening = text.rfind(b"<", max(0, at - 256), at)
    return opening >= 0 and _PREFIX_RE.fullmatch(text, opening + 1, at - 1) is not None


def _cell_start(text: bytes, at: int) -> int | None:
    """Where the `<c` tag holding the value at `at` starts (it may hold a formula before the value)."""
    position = at
    while (position := text.rfind(b"<", 0, position)) >= 0:
        if _CELL_START_RE.match(text, position):
            return position
        if _NOT_IN_CELL_RE.match(text, position):
            return None
    return None


def _value_cell(text: bytes, at: int, kind: bytes) -> tuple[int, int] | tuple[()] | None:
    """(0-based column, 1-based row) of the cell of type `kind` whose value element starts at `at`; None when
    `at` is no value start tag, or its cell is of another type; () when the cell does not carry its reference."""
    if not _is_value_tag(text, at) or (start := _cell_start(text, at)) is None:
        return None
    head = text[start:text.find(b">", start)]
    typed = _TYPE_ATTR_RE.search(head)
    if (typed.group(2) if typed else b"n") != kind:
        return None
    ref = _REF_ATTR_RE.search(head)
    return (workbooks.column_number(ref.group(2).decode()) - 1, int(ref.group(3))) if ref else ()


def _holds_value(cell: ElementTree.Element) -> bool:
    """Whether fastexcel reads a `<c>` as a cell: an inline string, or a `<v>` with text. An empty `<v/>` (a
    formula whose result was not stored, as openpyxl writes every formula) is no cell to it, so a row holding
    only such cells is not where it starts; in a text (`str`) or date (`d`) cell it is the empty text, a cell."""
    for child in cell:
        name = workbooks.local_name(child.tag)
        if name == "is" or (name == "v" and (child.text or cell.get("t") in ("str", "d"))):
            return True
    return False


class ScannedCells(NamedTuple):
    """What `WorkbookParts.scan_cells` finds in a sheet, by 0-based column and 1-based row."""

    long_numbers: dict[int, set[int]]  # number cells whose value may have lost digits
    errors: dict[int, dict[int, str]]  # error cells ('#N/A', '#DIV/0!'), which fastexcel reads as empty


class WorkbookParts:
    """Sheet names, visibility and cell types, read straight from the xlsx zip (stdlib only)."""

    def __init__(self, content: bytes) -> None:
        self._content = content
        self._zip = zipfile.ZipFile(io.BytesIO(content))
        workbook_part = self._office_document()
        rels = self._relationships(workbook_part)
        self.sheets: list[tuple[str, str, bool]] = []  # (name, part, visible)
        root = ElementTree.fromstring(self._zip.read(workbook_part))
        for element in root.iter():
            if workbooks.local_name(element.tag) == "sheet":
                rid = next(v for k, v in element.attrib.items() if workbooks.local_name(k) == "id")
                visible = element.get("state", "visible") == "visible"
                self.sheets.append((element.get("name", ""), rels[rid][0], visible))

    def _office_document(self) -> str:
        for target, kind in self._relationships("").values():
            if kind.endswith("/officeDocument"):
                return target
        return "xl/workbook.xml"

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (target part, relationship type) of a part ("" is the package)."""
        path = PurePosixPath(part)
        folder = "" if not part else str(path.parent)
        rels_part = "_rels/.rels" if not part else f"{folder}/_rels/{path.name}.rels"
        root = ElementTree.fromstring(self._zip.read(rels_part))
        return {
            rel.get("Id", ""): (workbooks.resolve_target(folder, rel.get("Target", "")), rel.get("Type", ""))
            for rel in root.iter() if workbooks.local_name(rel.tag) == "Relationship"
        }

    def first_visible_sheet(self) -> str:
        return next((name for name, _, visible in self.sheets if visible), self.sheets[0][0] if self.sheets else "")

    def _part(self, sheet: str) -> str:
        return next(part for name, part, _ in self.sheets if name == sheet)

    def cells(self, sheet: str) -> Iterator[tuple[int, int, ElementTree.Element]]:
        """(1-based row, 0-based column, element) of every `<c>`, in document order."""
        row_number, column = 0, -1
        with self._zip.open(self._part(sheet)) as stream:
            for event, element in ElementTree.iterparse(stream, events=("start", "end")):
                tag = workbooks.local_name(element.tag)
                if event == "start" and tag == "row":
                    row_number = int(element.get("r") or row_number + 1)
                    column = -1
                elif event == "end" and tag == "c":
                    ref = _CELL_REF_RE.fullmatch(element.get("r") or "")
                    column = workbooks.column_number(ref.group(1)) - 1 if ref else column + 1
                    yield row_number, column, element
                elif event == "end" and tag == "row":
                    element.clear()

    def first_row(self, sheet: str) -> int:
        """1-based number of the first row with a cell holding a value (where fastexcel starts)."""
        for row_number, _, element in self.cells(sheet):
            if _holds_value(element):
                return row_number
        return 1

    def scan_cells(self, sheet: str) -> ScannedCells:
        """The number cells whose value may have lost digits (`_LONG_NUMBER_TEXT`) and the error cells.

        Read from the sheet XML bytes in blocks cut at row tags: one search in C finds the value elements
        holding 15 or more digits or an exponent, another those holding an error ('#...'), and only those
        have their cell's start tag read (its reference and type: a text or formula-text cell is no number,
        only a `t="e"` cell is an error). It runs beside fastexcel, which releases the GIL while it parses
        (`_read_workbook`). A sheet whose cells do not carry their reference (every common writer writes
        it) is parsed instead.
        """
        found = ScannedCells({}, {})
        rest = b""
        with zipfile.ZipFile(io.BytesIO(self._content)) as package, package.open(self._part(sheet)) as stream:
            while True:
                block = stream.read(_SCAN_BYTES)
                text = rest + block
                cut = max(text.rfind(b"row>") + 4, 0) if block else len(text)
                text, rest = text[:cut], text[cut:]
                for value in _LONG_VALUE_RE.finditer(text):
                    if (cell := _value_cell(text, value.start(), b"n")) is None:
                        continue
                    if not cell:
                        return self._parsed_cells(sheet)
                    found.long_numbers.setdefault(cell[0], set()).add(cell[1])
                for value in _ERROR_VALUE_RE.finditer(text):
                    if (cell := _value_cell(text, value.start(), b"e")) is None:
                        continue
                    if not cell:
                        return self._parsed_cells(sheet)
                    found.errors.setdefault(cell[0], {})[cell[1]] = value.group(1).decode(errors="replace")
                if not block:
                    return found

    def _parsed_cells(self, sheet: str) -> ScannedCells:
        """What `scan_cells` finds, through the XML parser."""
        found = ScannedCells({}, {})
        for row_number, column, element in self.cells(sheet):
            kind = element.get("t", "n")
            value = next((child.text or "" for child in element if workbooks.local_name(child.tag) == "v"), None)
            if value is None:
                continue
            if kind == "n" and re.match(_LONG_NUMBER_TEXT, value.encode()):
                found.long_numbers.setdefault(column, set()).add(row_number)
            elif kind == "e" and value.startswith("#"):
                found.errors.setdefault(column, {})[row_number] = value
        return found
