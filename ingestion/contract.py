"""Checks one delivery against its catalog contract and converts the good rows to declared types.

Whole-file problems refuse the file (`RejectedFile`): a required column missing, a column the
contract does not know while `on_new_column: fail`, two columns mapping to one contract column,
no data rows at all (a snapshot with no rows is never what an agency means).
Row problems quarantine the row, with one reason per bad cell naming file, sheet, row and column:
an empty value where `nullable: false`, a `pattern` mismatch (re.fullmatch), a value outside
`accepted_values` or a `references` code list, a value that does not convert to the declared type,
and precision loss in id columns (scientific notation, or a number cell the reader flagged).

Conventions, decided here once:
- Cell values are stripped of surrounding whitespace; an empty string is an empty value (None).
- A row whose cells are all empty is skipped and not counted (spreadsheets keep stray blank rows).
- A column with `required: false` may be absent: its values are empty and `nullable` is not applied.
- Primary-key duplicates within one delivery: a row identical to the first one with its key is
  counted in `rows_deduplicated` and dropped; a row with the same key but other values is
  quarantined ("duplicate npsn '...', first seen at row N with other values"), the first is kept.
- `decimal` is exact: Decimal with at most 38 digits, 9 of them after the point; more is a
  conversion failure, never a silent rounding. Only `.` is a decimal separator.
- `date` accepts `YYYY-MM-DD` (also with a `00:00:00` time, as Excel date cells read) and the
  Indonesian day-first `DD/MM/YYYY` or `DD-MM-YYYY`. `timestamp` accepts ISO 8601; a timestamp
  without an offset is taken as WITA (Asia/Makassar, Paser's time zone) and stored in UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from zoneinfo import ZoneInfo

from ingestion.catalog import CatalogError, Column, Contract, DatasetEntry
from ingestion.errors import RejectedFile
from ingestion.reference import load_reference

DECIMAL_PRECISION = 38
DECIMAL_SCALE = 9
HEADER_SEARCH_ROWS = 50  # the header is looked for in this many rows at the top of a sheet
LOCAL_TZ = ZoneInfo("Asia/Makassar")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_SCIENTIFIC_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d+")
_INTEGER_RE = re.compile(r"[+-]?\d+(\.0*)?")
_DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_TRUE = {"true", "ya", "y", "1", "benar"}
_FALSE = {"false", "tidak", "n", "0", "salah"}


# --- Where a problem is ---------------------------------------------------------------------

def locate(file: str, sheet: str | None, row: int | None = None) -> str:
    """`drop/disdik/sekolah.xlsx, sheet 'Daftar Sekolah', row 4`: the prefix of every message."""
    where = file
    if sheet is not None:
        where += f", sheet '{sheet}'"
    if row is not None:
        where += f", row {row}"
    return where


def column_letter(index: int) -> str:
    """0-based column index -> spreadsheet letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# --- Headers ----------------------------------------------------------------------------------

def header_key(text: str | None) -> str:
    """How headers are compared: case-, space- and underscore-insensitive ("Kode  Kec" == "kode_kec")."""
    return re.sub(r"[\s_]+", " ", str(text or "")).strip().casefold()


def header_spellings(contract: Contract) -> dict[str, str]:
    """Every accepted header spelling (normalized) -> contract column name."""
    spellings: dict[str, str] = {}
    for name, column in contract.columns.items():
        for spelling in [name, *column.aliases]:
            key = header_key(spelling)
            if spellings.get(key, name) != name:
                raise CatalogError(f"header '{spelling}' is an alias of both '{spellings[key]}' and '{name}'")
            spellings[key] = name
    return spellings


def find_header_row(rows: Sequence[Sequence[str | None]], contract: Contract) -> int | None:
    """Index of the header among the first rows: the row naming the most contract columns (first wins)."""
    spellings = header_spellings(contract)
    best, best_count = None, 0
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        count = len({spellings[key] for key in map(header_key, row) if key in spellings})
        if count > best_count:
            best, best_count = index, count
    return best


@dataclass(frozen=True)
class ColumnMap:
    """Where each column sits in a delivered row."""

    indices: dict[str, int]  # contract column -> cell index (present columns only)
    extra: dict[str, int]  # columns carried along by `on_new_column: evolve` -> cell index
    headers: dict[str, str]  # column (contract or extra) -> header text as delivered


def evolved_name(header: str | None, letter: str) -> str:
    """A snake_case name for a new column (`Jumlah Siswa` -> `jumlah_siswa`)."""
    name = re.sub(r"[^0-9a-z]+", "_", header_key(header)).strip("_")
    if not name:
        return f"column_{letter.lower()}"
    return name if name[0].isalpha() else f"column_{name}"


def map_columns(
    entry: DatasetEntry,
    headers: Sequence[str | None],
    letters: Sequence[str],
    has_values: Sequence[bool],
    where: str,
) -> ColumnMap:
    """Map delivered headers to contract columns, or refuse the file (see the module docstring).

    `has_values[i]` says whether column i holds any value below the header: a column with neither
    header nor values is ignored, one with values but no header is a new column.
    """
    contract = entry.spec.contract
    spellings = header_spellings(contract)
    indices: dict[str, int] = {}
    extra: dict[str, int] = {}
    delivered: dict[str, str] = {}
    unknown: list[tuple[int, str | None]] = []
    for index, header in enumerate(headers):
        if not header_key(header) and not has_values[index]:
            continue
        name = spellings.get(header_key(header))
        if name is None:
            unknown.append((index, header))
            continue
        if name in indices:
            raise RejectedFile(
                f"{where}: columns {letters[indices[name]]} ('{delivered[name]}') and {letters[index]} ('{header}') "
                f"both map to contract column '{name}'"
            )
        indices[name], delivered[name] = index, str(header)

    found = ", ".join(str(h) for h in headers if header_key(h)) or "(no headers)"
    missing = [name for name, col in contract.columns.items() if col.required and name not in indices]
    if missing:
        described = ", ".join(f"'{name}' ({_spelling(name, contract.columns[name])})" for name in missing)
        plural = "columns" if len(missing) > 1 else "column"
        verb = "are" if len(missing) > 1 else "is"
        raise RejectedFile(f"{where}: required {plural} {described} {verb} missing; found: {found}")

    if unknown and contract.on_new_column == "fail":
        described = ", ".join(
            f"'{header}' (column {letters[i]})" if header_key(header) else f"column {letters[i]} (no header, has values)"
            for i, header in unknown
        )
        verb = "are" if len(unknown) > 1 else "is"
        raise RejectedFile(
            f"{where}: {described} {verb} not in the contract of {entry.id} and on_new_column is 'fail'; "
            f"add the column to catalog/{entry.path.name} (or set on_new_column: evolve)"
        )
    for index, header in unknown:
        name = evolved_name(header, letters[index])
        while name in indices or name in extra:
            name += "_x"
        extra[name], delivered[name] = index, str(header or "")
    return ColumnMap(indices, extra, delivered)


def _spelling(name: str, column: Column) -> str:
    return column.aliases[0] if column.aliases else name


# --- Rows -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceRow:
    """One delivered row: its 1-based row number in the sheet or file, and its cells as text."""

    number: int
    values: Sequence[str | None]
    issues: dict[int, str] = field(default_factory=dict)  # cell index -> problem the reader found


@dataclass
class Delivery:
    """What a connector kind read: headers and rows as text, with where they came from."""

    file: str  # path relative to the data root, e.g. drop/disdik/sekolah_2019.xlsx
    sheet: str | None
    header_row: int  # 1-based
    headers: list[str | None]
    letters: list[str]  # column letter of each cell index, for messages
    rows: list[SourceRow]


@dataclass
class QuarantinedRow:
    number: int
    values: dict[str, str | None]  # every column as delivered (text)
    columns: list[str]  # the columns at fault
    reasons: list[str]


@dataclass
class CheckedDelivery:
    file: str
    sheet: str | None
    header_row: int
    column_types: dict[str, str]  # contract columns, then evolved ones ("text")
    loaded: list[tuple[int, dict[str, object]]]  # (row number, converted values)
    quarantined: list[QuarantinedRow]
    rows_in: int = 0
    rows_deduplicated: int = 0


def is_id_column(entry: DatasetEntry, name: str) -> bool:
    """Text columns holding identifiers or codes, where a number that lost digits is caught."""
    column = entry.spec.contract.columns[name]
    return column.type == "text" and (
        name in entry.spec.primary_key
        or column.references is not None
        or column.pattern is not None
        or column.personal in ("nik", "kk")
    )


def check_delivery(
    delivery: Delivery,
    entry: DatasetEntry,
    references: Callable[[str], frozenset[str]] = load_reference,
) -> CheckedDelivery:
    """Refuse the file or split its rows into converted good rows and quarantined rows."""
    contract = entry.spec.contract
    has_values = [False] * len(delivery.headers)
    for row in delivery.rows:
        for index, value in enumerate(row.values[: len(has_values)]):
            if _clean(value) is not None:
                has_values[index] = True
    columns = map_columns(
        entry, delivery.headers, delivery.letters, has_values,
        locate(delivery.file, delivery.sheet, delivery.header_row),
    )
    code_lists = {name: references(col.references) for name, col in contract.columns.items() if col.references}
    id_columns = {name for name in contract.columns if is_id_column(entry, name)}
    result = CheckedDelivery(
        delivery.file, delivery.sheet, delivery.header_row,
        {**{name: col.type for name, col in contract.columns.items()}, **{name: "text" for name in columns.extra}},
        loaded=[], quarantined=[],
    )
    first_seen: dict[tuple, tuple[int, dict[str, object]]] = {}
    for row in delivery.rows:
        raw = {name: _cell(row.values, index) for name, index in {**columns.indices, **columns.extra}.items()}
        if all(_clean(value) is None for value in row.values):
            continue
        result.rows_in += 1
        converted: dict[str, object] = {name: None for name in contract.columns}
        problems: list[tuple[str, str]] = []
        for name, column in contract.columns.items():
            if name not in columns.indices:
                continue
            issue = row.issues.get(columns.indices[name])
            problem = issue or _problem(raw[name], column, name in id_columns, code_lists.get(name))
            if problem:
                problems.append((name, problem))
                continue
            try:
                converted[name] = convert(raw[name], column.type)
            except ValueError as exc:
                problems.append((name, f"'{raw[name]}' {exc}"))
        converted.update({name: raw[name] for name in columns.extra})

        if not problems:
            key = tuple(converted[k] for k in entry.spec.primary_key)
            if key in first_seen:
                first_number, first_values = first_seen[key]
                if first_values == converted:
                    result.rows_deduplicated += 1
                    continue
                shown = ", ".join(f"{k} '{raw[k]}'" for k in entry.spec.primary_key)
                duplicate = f"duplicate {shown}, first seen at row {first_number} with other values"
                problems.append((entry.spec.primary_key[0], duplicate))
            else:
                first_seen[key] = (row.number, converted)
                result.loaded.append((row.number, converted))
                continue

        where = locate(delivery.file, delivery.sheet, row.number)
        result.quarantined.append(QuarantinedRow(
            row.number,
            {**{name: None for name in contract.columns}, **raw},
            [name for name, _ in problems],
            [f"{where}, column '{name}' ({columns.headers.get(name, name)}): {problem}" for name, problem in problems],
        ))
    if result.rows_in == 0:
        # A snapshot with no rows would empty the published list; an agency never means that.
        raise RejectedFile(f"{locate(delivery.file, delivery.sheet, delivery.header_row)}: no data rows below the header")
    return result


def _cell(values: Sequence[str | None], index: int) -> str | None:
    return _clean(values[index]) if index < len(values) else None


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _problem(value: str | None, column: Column, id_column: bool, codes: frozenset[str] | None) -> str | None:
    if value is None:
        return None if column.nullable else "empty, but the contract requires a value (nullable: false)"
    if id_column and _SCIENTIFIC_RE.fullmatch(value):
        return (f"'{value}' is in scientific notation: the number lost its digits "
                "(precision loss; format the cells as text)")
    if column.pattern is not None and not re.fullmatch(column.pattern, value):
        return f"'{value}' does not match the pattern {column.pattern}"
    if column.accepted_values is not None and value not in column.accepted_values:
        return f"'{value}' is not one of {', '.join(column.accepted_values)}"
    if codes is not None and value not in codes:
        return f"'{value}' is not in the code list {column.references}"
    return None


# --- Types ------------------------------------------------------------------------------------

def convert(value: str | None, column_type: str) -> object:
    """Text -> the declared type; ValueError says what is wrong (the value is prefixed by the caller)."""
    if value is None:
        return None
    return _CONVERTERS[column_type](value)


def to_integer(value: str) -> int:
    if not _INTEGER_RE.fullmatch(value):
        raise ValueError("is not a whole number")
    number = int(value.split(".")[0])
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError("is too large for a 64-bit integer")
    return number


def to_decimal(value: str) -> Decimal:
    if not _DECIMAL_RE.fullmatch(value):
        raise ValueError("is not a decimal number (use '.' as the decimal point)")
    number = Decimal(value)
    with localcontext() as context:
        context.prec = 2 * DECIMAL_PRECISION  # room to quantize without InvalidOperation
        scaled = number.quantize(Decimal(1).scaleb(-DECIMAL_SCALE))
    if scaled != number:
        raise ValueError(f"has more than {DECIMAL_SCALE} decimal places")
    if len(scaled.as_tuple().digits) > DECIMAL_PRECISION:
        raise ValueError(f"has more than {DECIMAL_PRECISION} digits")
    return scaled


def to_date(value: str) -> dt.date:
    text = value.removesuffix(" 00:00:00").removesuffix("T00:00:00")
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def to_timestamp(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("is not an ISO 8601 timestamp") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(dt.UTC)


def to_boolean(value: str) -> bool:
    key = value.casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"is not a boolean ({'/'.join(sorted(_TRUE))} or {'/'.join(sorted(_FALSE))})")


_CONVERTERS: dict[str, Callable[[str], object]] = {
    "text": str,
    "integer": to_integer,
    "decimal": to_decimal,
    "date": to_date,
    "timestamp": to_timestamp,
    "boolean": to_boolean,
}

