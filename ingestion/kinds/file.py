"""The `file` connector kind: workbooks and CSV files an agency drops into `drop/<agency>/`.

Finding files: the catalog `pattern` is globbed in the agency's drop folder, oldest first. Skipped
(with a log line, never recorded): symlinks, anything resolving outside the folder, hidden and
Office lock files (`.x`, `~$x`), and files still being written. "Still being written" is two
`stat` calls around the read: a file changed less than `SETTLE_SECONDS` ago is waited for once
(at most that long), and if its size or mtime then differs between the stats, or the bytes read
differ in length, it is left for the next run. The bytes that are hashed are the bytes parsed, so
a batch's sha256 always describes its data. Files over `max_bytes` are hashed (streaming) and
refused.

Reading: every cell is read as text (fastexcel `dtypes="string"`; CSV is text already), so ids
never pass through a float in our hands. The header is the declared `header_row` or the row
naming the most contract columns. Rows keep their 1-based sheet row number. Excel stores numbers
as doubles and keeps 15 significant digits: fastexcel renders a whole number cell as integer text
("30404588"), which is exact up to 15 digits. A number cell with more digits in an id column has
lost its last digits and is flagged as precision loss; this needs the cell's type, read from the
sheet XML only when such a value appears. Scientific-notation text is flagged by the contract.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import fastexcel

from ingestion.catalog import DatasetEntry
from ingestion.contract import (
    Delivery,
    SourceRow,
    column_letter,
    find_header_row,
    header_key,
    header_spellings,
    is_id_column,
    locate,
)
from ingestion.errors import RejectedFile
from ingestion.kinds import Pending
from ingestion.zones import Zones

log = logging.getLogger(__name__)

SETTLE_SECONDS = 1.0
IGNORED_PREFIXES = (".", "~$")
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number
_LONG_DIGITS_RE = re.compile(rf"[+-]?\d{{{EXCEL_DIGITS + 1},}}")


# --- Finding new files ------------------------------------------------------------------------

def pending_sources(entry: DatasetEntry, zones: Zones, is_known: Callable[[str], bool]) -> Iterator[Pending]:
    """New files in the agency's drop folder matching the dataset's pattern, oldest first."""
    source = entry.spec.source
    for path in list_drop_files(zones.drop(entry.agency.code), source.pattern):
        label = path.relative_to(zones.root).as_posix()
        first = path.stat()
        if first.st_size > source.max_bytes:
            sha256 = _hash_file(path)
            if not is_known(sha256):
                message = f"{label}: {first.st_size} bytes is more than max_bytes ({source.max_bytes}) in {entry.path.name}"
                yield Pending(_source_info(entry, label, sha256, first), read=_refuse(message))
            continue
        age = time.time() - first.st_mtime
        if age < SETTLE_SECONDS:
            time.sleep(SETTLE_SECONDS - age)
        content = path.read_bytes()
        after = path.stat()
        if (after.st_size, after.st_mtime_ns) != (first.st_size, first.st_mtime_ns) or len(content) != after.st_size:
            log.info("%s: still being written (size or mtime changed while reading); the next run picks it up", label)
            continue
        sha256 = hashlib.sha256(content).hexdigest()
        if is_known(sha256):
            log.debug("%s: sha256 %s already in the ledger, skipped", label, sha256[:8])
            continue
        yield Pending(_source_info(entry, label, sha256, first), read=partial(read_delivery, content, label, entry))


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
        if not path.resolve().is_relative_to(root):
            log.warning("%s: resolves outside the drop folder %s; ignored", path, root)
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def _source_info(entry: DatasetEntry, label: str, sha256: str, stat) -> dict:
    source = entry.spec.source
    return {
        "kind": "file",
        "path": label,
        "sheet": source.sheet if source.format == "xlsx" else None,
        "sha256": sha256,
        "bytes": stat.st_size,
        "mtime": stat.st_mtime,
    }


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _refuse(message: str) -> Callable[[], Delivery]:
    def read() -> Delivery:
        raise RejectedFile(message)

    return read


# --- Reading one file -------------------------------------------------------------------------

def read_delivery(content: bytes, label: str, entry: DatasetEntry) -> Delivery:
    """Parse a delivered file's bytes into headers and text rows (see the module docstring)."""
    if entry.spec.source.format == "xlsx":
        return read_xlsx(content, label, entry)
    return read_csv(content, label, entry)


def read_xlsx(content: bytes, label: str, entry: DatasetEntry) -> Delivery:
    source = entry.spec.source
    try:
        parts = WorkbookParts(content)
        reader = fastexcel.read_excel(content)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, fastexcel.FastExcelError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RejectedFile(f"{label}: cannot read the file as an xlsx workbook ({reason})") from None
    sheet = source.sheet or parts.first_visible_sheet()
    if sheet not in reader.sheet_names:
        found = ", ".join(f"'{name}'" for name in reader.sheet_names)
        raise RejectedFile(f"{label}: no sheet '{sheet}' (sheets found: {found})")
    try:
        loaded = reader.load_sheet(sheet, header_row=None, dtypes="string")
        table = loaded.to_arrow()
    except fastexcel.FastExcelError as exc:
        raise RejectedFile(f"{locate(label, sheet)}: cannot read the sheet ({str(exc).splitlines()[0]})") from None
    if table.num_rows == 0 or table.num_columns == 0:
        raise RejectedFile(f"{locate(label, sheet)}: the sheet is empty")
    letters = [column_letter(column.absolute_index) for column in loaded.available_columns()]
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    grid = [list(values) for values in zip(*columns, strict=True)]
    # fastexcel starts at the first row holding a value; the sheet XML says which row that is.
    first_row = parts.first_row(sheet)
    delivery = _delivery(grid, first_row, letters, label, sheet, entry)
    _flag_lost_digits(delivery, entry, parts, [c.absolute_index for c in loaded.available_columns()])
    return delivery


def read_csv(content: bytes, label: str, entry: DatasetEntry) -> Delivery:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RejectedFile(f"{label}: not UTF-8 text (byte {exc.start}: {exc.reason}); save the file as CSV UTF-8") from None
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first_line.count)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise RejectedFile(f"{label}: cannot parse as CSV ({exc})") from None
    if not records:
        raise RejectedFile(f"{label}: the file is empty")
    width = max(len(record) for record in records)
    grid = [[value if value != "" else None for value in record] + [None] * (width - len(record)) for record in records]
    return _delivery(grid, 1, [column_letter(i) for i in range(width)], label, None, entry)


def _delivery(
    grid: list[list[str | None]], first_row: int, letters: list[str], label: str, sheet: str | None, entry: DatasetEntry,
) -> Delivery:
    """Locate the header in a grid of text cells whose first row is sheet row `first_row`."""
    declared = entry.spec.source.header_row
    if declared is not None:
        index = declared - first_row
        if not 0 <= index < len(grid) or not any(header_key(v) for v in grid[index]):
            raise RejectedFile(f"{locate(label, sheet, declared)}: the declared header_row is empty")
    else:
        found = find_header_row(grid, entry.spec.contract)
        if found is None:
            expected = ", ".join(
                (col.aliases[0] if col.aliases else name) for name, col in entry.spec.contract.columns.items()
            )
            raise RejectedFile(f"{locate(label, sheet)}: no header row found in the first rows (looked for: {expected})")
        index = found
    rows = [SourceRow(first_row + i, values) for i, values in enumerate(grid) if i > index]
    return Delivery(label, sheet, first_row + index, list(grid[index]), letters, rows)


def _flag_lost_digits(delivery: Delivery, entry: DatasetEntry, parts: WorkbookParts, absolute: list[int]) -> None:
    """Mark number cells with more than 15 digits in id columns as precision loss."""
    spellings = header_spellings(entry.spec.contract)
    id_indices = [
        i for i, header in enumerate(delivery.headers)
        if spellings.get(header_key(header)) and is_id_column(entry, spellings[header_key(header)])
    ]
    suspects: dict[tuple[int, int], tuple[SourceRow, int, str]] = {}
    for row in delivery.rows:
        for i in id_indices:
            value = (row.values[i] or "").strip() if i < len(row.values) else ""
            if _LONG_DIGITS_RE.fullmatch(value):
                suspects[(row.number, absolute[i])] = (row, i, value)
    if not suspects:
        return
    for cell in parts.number_cells(delivery.sheet or "", set(suspects)):
        row, i, value = suspects[cell]
        row.issues[i] = (
            f"'{value}' is a number cell with {len(value.lstrip('+-'))} digits; Excel keeps only {EXCEL_DIGITS}, "
            f"so the last digits are lost (precision loss; format the column as text and type the id again)"
        )


# --- The workbook's XML, for what fastexcel does not tell ----------------------------------------

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CELL_REF_RE = re.compile(r"([A-Z]+)(\d+)")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class WorkbookParts:
    """Sheet names, visibility and cell types, read straight from the xlsx zip (stdlib only)."""

    def __init__(self, content: bytes) -> None:
        self._zip = zipfile.ZipFile(io.BytesIO(content))
        workbook_part = self._office_document()
        rels = self._relationships(workbook_part)
        self.sheets: list[tuple[str, str, bool]] = []  # (name, part, visible)
        root = ElementTree.fromstring(self._zip.read(workbook_part))
        for element in root.iter():
            if _local(element.tag) == "sheet":
                rid = next(v for k, v in element.attrib.items() if _local(k) == "id")
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
            rel.get("Id", ""): (_resolve(folder, rel.get("Target", "")), rel.get("Type", ""))
            for rel in root.iter() if _local(rel.tag) == "Relationship"
        }

    def first_visible_sheet(self) -> str:
        return next((name for name, _, visible in self.sheets if visible), self.sheets[0][0] if self.sheets else "")

    def _part(self, sheet: str) -> str:
        return next(part for name, part, _ in self.sheets if name == sheet)

    def _cells(self, sheet: str) -> Iterator[tuple[int, int, ElementTree.Element]]:
        """(1-based row, 0-based column, element) of every `<c>`, in document order."""
        row_number, column = 0, -1
        with self._zip.open(self._part(sheet)) as stream:
            for event, element in ElementTree.iterparse(stream, events=("start", "end")):
                tag = _local(element.tag)
                if event == "start" and tag == "row":
                    row_number = int(element.get("r") or row_number + 1)
                    column = -1
                elif event == "end" and tag == "c":
                    ref = _CELL_REF_RE.fullmatch(element.get("r") or "")
                    column = _column_index(ref.group(1)) if ref else column + 1
                    yield row_number, column, element
                elif event == "end" and tag == "row":
                    element.clear()

    def first_row(self, sheet: str) -> int:
        """1-based number of the first row with a cell holding a value (where fastexcel starts)."""
        for row_number, _, element in self._cells(sheet):
            if any(_local(child.tag) in ("v", "is") for child in element):
                return row_number
        return 1

    def number_cells(self, sheet: str, cells: set[tuple[int, int]]) -> set[tuple[int, int]]:
        """Those of `cells` ((1-based row, 0-based column)) that hold a number, not text."""
        last_row = max(row for row, _ in cells)
        found = set()
        for row_number, column, element in self._cells(sheet):
            if row_number > last_row:
                break
            if (row_number, column) in cells and element.get("t", "n") == "n":
                if any(_local(child.tag) == "v" for child in element):
                    found.add((row_number, column))
        return found


def _resolve(folder: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = [p for p in folder.split("/") if p and p != "."]
    for piece in target.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1
