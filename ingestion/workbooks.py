"""What a workbook's structure says beyond its cell values: sheets and their visibility, merged
cells, formulas without a cached value, and how a header spread over merged rows reads.

xlsx is read straight from its zip and XML with the standard library (streaming, so a large
sheet is never held in memory); call `file_safety.check_xlsx_container` first, this module
trusts the container. xls (BIFF, an OLE2 compound file) is read through fastexcel where it can
tell, and refused with a clear reason where it cannot:
- `sheets`: fastexcel reports each sheet's visibility (visible / hidden / veryhidden).
- `merged_ranges`: fastexcel does not expose an xls sheet's merged cells, so it raises
  `RejectedFile` asking for the workbook as .xlsx (or a one-row header). The caller needs merged
  ranges only for `header_rows` > 1; a silently wrong header would be worse than a refusal.
- `formula_cells_without_value`: returns [] for xls: a BIFF FORMULA record always carries its
  last computed result.

Formulas: fastexcel (calamine) reads a formula cell as the value cached in the file by the
program that saved it; it never computes formulas. Excel, LibreOffice and xlsxwriter (with
`write_formula(..., value=...)`) store that value. openpyxl and some generators write the
formula only: such a cell reads as empty, and the contract then treats it as empty, which may be
wrong. `formula_cells_without_value` lists those cells (e.g. ["C7"]) so the core can refuse or
flag them with a reason instead.

Sheet rows and columns are 1-based everywhere here, as Excel shows them.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import fastexcel

from ingestion.errors import RejectedFile

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CELL_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class SheetInfo:
    name: str
    visible: bool  # False for Excel's "hidden" and "veryHidden" sheets


def sheets(path: Path) -> list[SheetInfo]:
    """The workbook's sheets in tab order, with their visibility."""
    if _format(path) == "xls":
        reader = _read_xls(path)
        found = []
        for name in reader.sheet_names:
            try:
                visible = reader.load_sheet(name, header_row=None, n_rows=1).visible
            except fastexcel.FastExcelError as exc:
                raise RejectedFile(f"{path}: sheet '{name}': cannot be read ({_first_line(exc)})") from None
            found.append(SheetInfo(name, visible == "visible"))
        return found
    with _XlsxParts(path) as parts:
        return [SheetInfo(name, visible) for name, _, visible in parts.sheets]


def first_visible_sheet(path: Path) -> str:
    """The name of the first sheet a user sees when opening the workbook (hidden ones skipped)."""
    found = sheets(path)
    for sheet in found:
        if sheet.visible:
            return sheet.name
    raise RejectedFile(f"{path}: has no visible sheet (sheets: {', '.join(repr(s.name) for s in found) or 'none'})")


def merged_ranges(path: Path, sheet: str) -> list[tuple[int, int, int, int]]:
    """The sheet's merged cells as (first_row, first_col, last_row, last_col), 1-based, in file order."""
    if _format(path) == "xls":
        raise RejectedFile(
            f"{path}: sheet '{sheet}': merged header cells cannot be read from an .xls workbook; "
            f"save it as .xlsx, or declare header_rows: 1"
        )
    found = []
    with _XlsxParts(path) as parts:
        for element in parts.iter_sheet(sheet, ("mergeCell",)):
            ref = element.get("ref", "")
            bounds = _range_bounds(ref)
            if bounds is None:
                raise RejectedFile(f"{path}: sheet '{sheet}': unreadable merged range '{ref}'")
            found.append(bounds)
    return found


def formula_cells_without_value(path: Path, sheet: str) -> list[str]:
    """References ("C7") of formula cells with no cached value, which read as empty; see the module docstring.

    A formula whose cached result is the empty string as Excel writes it (`t="str"` with an empty
    `<v>`) has a value and is not listed. An untyped empty `<v/>` is listed: it is what openpyxl
    writes for "no value", and also how xlsxwriter writes `value=""`; the two cannot be told
    apart, and either way the cell reads as empty.
    """
    if _format(path) == "xls":
        return []
    missing = []
    with _XlsxParts(path) as parts:
        for element in parts.iter_sheet(sheet, ("c",)):
            children = {local_name(child.tag): child for child in element}
            if "f" not in children:
                continue
            value = children.get("v")
            has_value = value is not None and (value.text or element.get("t") == "str")
            if not has_value:
                missing.append(element.get("r", "?"))
    return missing


def compose_header(
    rows: list[list[str | None]],
    merged: list[tuple[int, int, int, int]],
    header_row: int,
    header_rows: int,
) -> list[str | None]:
    """One header text per column, from `header_rows` sheet rows starting at `header_row`.

    `rows[0]` is sheet row 1; `merged` are 1-based (first_row, first_col, last_row, last_col).
    A merged cell's text (its top-left cell) fills every cell of its range inside the header
    rows. Each column's parts are read top to bottom, whitespace collapsed, empty parts dropped,
    and a part equal to the one above dropped (the same merged text spanning two rows counts
    once), then joined with a space: "NPSN" merged over two rows gives "NPSN"; "Jumlah Siswa"
    merged over two columns above "L" and "P" gives "Jumlah Siswa L" and "Jumlah Siswa P". A
    column with no text gives None.
    """
    if header_row < 1 or header_rows < 1:
        raise ValueError(f"header_row ({header_row}) and header_rows ({header_rows}) must be at least 1")
    band = range(header_row, header_row + header_rows)

    def cell(row: int, column: int) -> str | None:
        values = rows[row - 1] if 0 < row <= len(rows) else []
        return values[column - 1] if 0 < column <= len(values) else None

    width = max([len(rows[r - 1]) for r in band if r <= len(rows)] + [0])
    grid = {(r, c): cell(r, c) for r in band for c in range(1, width + 1)}
    for first_row, first_col, last_row, last_col in merged:
        if last_row < band.start or first_row >= band.stop:
            continue
        text = cell(first_row, first_col)
        for r in range(max(first_row, band.start), min(last_row, band.stop - 1) + 1):
            for c in range(first_col, last_col + 1):
                grid[(r, c)] = text
        width = max(width, last_col)

    headers: list[str | None] = []
    for column in range(1, width + 1):
        parts: list[str] = []
        for r in band:
            text = _SPACE_RE.sub(" ", str(grid.get((r, column)) or "")).strip()
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        headers.append(" ".join(parts) or None)
    return headers


# --- Reading the xlsx package ------------------------------------------------------------------

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


class _XlsxParts:
    """The xlsx zip: its sheets (name, part, visible) and a streaming reader of a sheet's XML."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
            workbook_part = self._office_document()
            rels = self._relationships(workbook_part)
            root = ElementTree.fromstring(self._zip.read(workbook_part))
        except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError) as exc:
            raise RejectedFile(f"{path}: cannot read the workbook structure ({_first_line(exc)})") from None
        self.sheets: list[tuple[str, str, bool]] = []
        for element in root.iter():
            if local_name(element.tag) != "sheet":
                continue
            rid = element.get(f"{{{_REL_NS}}}id", "")
            if rid not in rels:
                raise RejectedFile(f"{path}: sheet '{element.get('name')}' points to a missing part ({rid})")
            self.sheets.append((element.get("name", ""), rels[rid], element.get("state", "visible") == "visible"))

    def __enter__(self) -> _XlsxParts:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._zip.close()

    def _office_document(self) -> str:
        for target, kind in self._relationship_types("").values():
            if kind.endswith("/officeDocument"):
                return target
        return "xl/workbook.xml"

    def _relationships(self, part: str) -> dict[str, str]:
        return {rid: target for rid, (target, _) in self._relationship_types(part).items()}

    def _relationship_types(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (target part, type) for a part ("" is the package itself)."""
        folder = str(PurePosixPath(part).parent).strip(".") if part else ""
        rels_part = "/".join(p for p in (folder, "_rels", f"{PurePosixPath(part).name}.rels") if p) if part else "_rels/.rels"
        root = ElementTree.fromstring(self._zip.read(rels_part))
        return {
            rel.get("Id", ""): (resolve_target(folder, rel.get("Target", "")), rel.get("Type", ""))
            for rel in root.iter()
            if local_name(rel.tag) == "Relationship"
        }

    def iter_sheet(self, sheet: str, tags: tuple[str, ...]) -> Iterator[ElementTree.Element]:
        """The sheet's elements with these local names, complete, in document order (streamed)."""
        part = next((part for name, part, _ in self.sheets if name == sheet), None)
        if part is None:
            names = ", ".join(f"'{name}'" for name, _, _ in self.sheets)
            raise RejectedFile(f"{self.path}: no sheet '{sheet}' (sheets found: {names})")
        try:
            with self._zip.open(part) as stream:
                sheet_data = None
                for event, element in ElementTree.iterparse(stream, events=("start", "end")):
                    tag = local_name(element.tag)
                    if event == "start":
                        if tag == "sheetData":
                            sheet_data = element
                        continue
                    if tag in tags:
                        yield element
                    if tag == "row" and sheet_data is not None:
                        sheet_data.clear()  # drops the rows read so far: memory stays flat on large sheets
        except (KeyError, ElementTree.ParseError, zipfile.BadZipFile) as exc:
            raise RejectedFile(f"{self.path}: sheet '{sheet}': cannot read its XML ({_first_line(exc)})") from None


def _format(path: Path) -> str:
    with path.open("rb") as handle:
        magic = handle.read(8)
    if magic.startswith(_ZIP_MAGIC):
        return "xlsx"
    if magic == _OLE_MAGIC:
        return "xls"
    raise RejectedFile(f"{path}: neither an xlsx (zip) nor an xls (OLE2) workbook")


def _read_xls(path: Path) -> fastexcel.ExcelReader:
    try:
        return fastexcel.read_excel(path)
    except fastexcel.FastExcelError as exc:
        raise RejectedFile(f"{path}: cannot read the xls workbook ({_first_line(exc)})") from None


def _range_bounds(ref: str) -> tuple[int, int, int, int] | None:
    """ "B3:D4" -> (3, 2, 4, 4); a single cell "B3" -> (3, 2, 3, 2)."""
    cells = []
    for end in ref.split(":"):
        match = _CELL_RE.fullmatch(end)
        if match is None:
            return None
        cells.append((int(match.group(2)), column_number(match.group(1))))
    if len(cells) == 1:
        cells.append(cells[0])
    if len(cells) != 2:
        return None
    (first_row, first_col), (last_row, last_col) = cells
    return (min(first_row, last_row), min(first_col, last_col), max(first_row, last_row), max(first_col, last_col))


def column_number(letters: str) -> int:
    """Excel column letters -> 1-based number ("A" -> 1, "AA" -> 27)."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def resolve_target(folder: str, target: str) -> str:
    """A relationship target inside the xlsx zip, resolved against the folder of the part naming it."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts = [p for p in folder.split("/") if p and p != "."]
    for piece in target.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def local_name(tag: str) -> str:
    """An XML tag or attribute name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
