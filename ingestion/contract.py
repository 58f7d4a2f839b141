"""The schema contract of a dataset, compiled into one DuckDB query over a delivery.

Whole-delivery problems refuse it (`RejectedFile`, nothing is loaded), checked before any row is
read: a required column missing; a column the contract does not know while `on_new_column: fail`;
two columns mapping to one contract column; a column whose source type cannot hold the contract
type (a type change, e.g. contract `text` and a database INTEGER column); an optional column the
previous batch delivered and this one does not (removed or renamed at the source).

Row problems quarantine the row, with one reason per bad cell naming the delivery, sheet, row (or
the primary key when a database row has no number) and column: a problem the reader flagged
(`_flag`), an empty value where `nullable: false`, scientific notation in an id column (the number
lost digits), a `pattern` mismatch (RE2 full match), a value outside `accepted_values` or a
`references` code list, and a value that does not convert to the declared type.

Conventions, decided here once:
- Text cells are stripped of surrounding whitespace; an empty string is an empty value (NULL).
- A row whose cells are all empty is skipped and not counted (spreadsheets keep stray blank rows).
- A column with `required: false` may be absent: its values are empty and `nullable` is not applied.
- Primary-key duplicates within one delivery (`ingestion.landing`): a row identical to the first
  one with its key is counted in `rows_deduplicated` and dropped; a row with the same key but other
  values is quarantined ("duplicate npsn '...', first seen at row N with other values").
- `decimal` is exact: DECIMAL(38,9); more than 9 digits after the point, or more than 38 digits,
  is a conversion failure, never a silent rounding. With `decimal_comma` numbers are written
  "1.234,56" (`.` groups thousands, `,` is the decimal point); otherwise `.` is the decimal point.
- `date` accepts `YYYY-MM-DD` (also with a `00:00:00` time, as Excel date cells read) and the
  Indonesian day-first `DD/MM/YYYY` or `DD-MM-YYYY`. `timestamp` accepts ISO 8601 (a final ` UTC`
  counts as an offset); a timestamp without an offset (text or a database TIMESTAMP) is taken as WITA
  (Asia/Makassar, Paser's time zone) and stored in UTC. A date or time before the year 1000 (a year
  typed with fewer than four digits: `02-01-20`), a word DuckDB reads as a time (`epoch`,
  `infinity`) and a database's infinite date do not convert.
- `boolean` accepts true/false, ya/tidak, y/n, benar/salah, 1/0 (any case).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import duckdb

from ingestion.catalog import CatalogError, Column, Contract, DatasetEntry
from ingestion.errors import RejectedFile
from ingestion.kinds import Delivery
from ingestion.reference import load_reference

DECIMAL_PRECISION = 38
DECIMAL_SCALE = 9
HEADER_SEARCH_ROWS = 50  # the header is looked for in this many rows at the top of a sheet
LOCAL_TZ = "Asia/Makassar"
WHITESPACE = " \t\r\n\u00a0"

SQL_TYPES = {
    "text": "VARCHAR",
    "integer": "BIGINT",
    "decimal": f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "boolean": "BOOLEAN",
}
_TRUE = ("true", "ya", "y", "1", "benar")
_FALSE = ("false", "tidak", "n", "0", "salah")
# The decimal mark may be a comma: Excel set to Indonesian writes a NIK it made a number as "6,40123E+15".
_SCIENTIFIC = r"[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)[eE][+-]?[0-9]+"

# Source types (DuckDB) a contract type accepts from a typed source; text sources are parsed instead.
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
_COMPATIBLE: dict[str, tuple[str, ...]] = {
    "text": ("VARCHAR", "UUID", "ENUM"),
    "integer": _INTEGERS,
    "decimal": (*_INTEGERS, "DECIMAL", "FLOAT", "DOUBLE"),
    "date": ("DATE",),
    "timestamp": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMPTZ"),
    "boolean": ("BOOLEAN", "TINYINT"),
}


# --- Where a problem is ---------------------------------------------------------------------

def locate(label: str, sheet: str | None, row: int | None = None, position: str = "row") -> str:
    """`drop/disdik/sekolah.xlsx, sheet 'Daftar Sekolah', row 4`: the prefix of every message."""
    where = label
    if sheet is not None:
        where += f", sheet '{sheet}'"
    if row is not None:
        where += f", {position} {row}"
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


def evolved_name(header: str | None, letter: str) -> str:
    """A snake_case name for a new column (`Jumlah Siswa` -> `jumlah_siswa`)."""
    name = re.sub(r"[^0-9a-z]+", "_", header_key(header)).strip("_")
    if not name:
        return f"column_{letter.lower()}"
    return name if name[0].isalpha() else f"column_{name}"


def is_id_column(entry: DatasetEntry, name: str) -> bool:
    """Text columns holding identifiers or codes, where a number that lost digits is caught."""
    column = entry.spec.contract.columns[name]
    return column.type == "text" and (
        name in entry.spec.primary_key
        or column.references is not None
        or column.pattern is not None
        or column.personal in ("nik", "kk")
    )


@dataclass(frozen=True)
class ColumnMap:
    """Which delivered column feeds each contract column, and the new columns carried along."""

    contract: dict[str, str]  # contract column -> delivered column (present columns only)
    extra: dict[str, str]  # column carried along by `on_new_column: evolve` -> delivered column

    def header(self, name: str) -> str:
        return {**self.contract, **self.extra}.get(name, name)


def _spelling(name: str, column: Column) -> str:
    return column.aliases[0] if column.aliases else name


def _header_where(delivery: Delivery) -> str:
    position = delivery.position if delivery.header_row is not None else "row"
    return locate(delivery.label, delivery.sheet, delivery.header_row, position)


def _place(delivery: Delivery, name: str) -> str:
    return f" ({delivery.places[name]})" if name in delivery.places else ""


def map_columns(entry: DatasetEntry, delivery: Delivery, previous: dict | None = None) -> ColumnMap:
    """Map delivered columns to contract columns, or refuse the delivery (see the module docstring).

    `previous` is the manifest of the latest committed batch: an optional contract column it
    delivered and this delivery lacks was removed or renamed at the source.
    """
    contract = entry.spec.contract
    spellings = header_spellings(contract)
    where = _header_where(delivery)
    mapped: dict[str, str] = {}
    unknown: list[str] = []
    for delivered in delivery.columns:
        name = spellings.get(header_key(delivered))
        if name is None:
            unknown.append(delivered)
        elif name in mapped:
            first = mapped[name]
            raise RejectedFile(
                f"{where}: columns '{first}'{_place(delivery, first)} and '{delivered}'{_place(delivery, delivered)} "
                f"both map to contract column '{name}'"
            )
        else:
            mapped[name] = delivered

    found = ", ".join(delivery.columns) or "(no columns)"
    missing = [name for name, col in contract.columns.items() if col.required and name not in mapped]
    if missing:
        described = ", ".join(f"'{name}' ({_spelling(name, contract.columns[name])})" for name in missing)
        plural, verb = ("columns", "are") if len(missing) > 1 else ("column", "is")
        raise RejectedFile(f"{where}: required {plural} {described} {verb} missing; found: {found}")
    delivered_before = set((previous or {}).get("contract_columns") or [])
    removed = [name for name in contract.columns if name in delivered_before and name not in mapped]
    if removed:
        described = ", ".join(f"'{name}'" for name in removed)
        assert previous is not None  # `removed` comes from it
        raise RejectedFile(
            f"{where}: column {described} was delivered in batch {previous['batch_id']} and is missing now "
            f"(removed or renamed at the source); found: {found}"
        )

    if unknown and contract.on_new_column == "fail":
        described = ", ".join(f"'{name}'{_place(delivery, name)}" for name in unknown)
        verb = "are" if len(unknown) > 1 else "is"
        raise RejectedFile(
            f"{where}: {described} {verb} not in the contract of {entry.id} and on_new_column is 'fail'; "
            f"add the column to catalog/{entry.path.name} (or set on_new_column: evolve)"
        )
    extra: dict[str, str] = {}
    for delivered in unknown:
        name = evolved_name(delivered, delivery.places.get(delivered, "").removeprefix("column "))
        while name in contract.columns or name in extra:
            name += "_x"
        extra[name] = delivered

    def source_type(delivered: str) -> str:
        return "DECIMAL" if delivered in delivery.text_numbers else delivery.columns[delivered]

    changed = [
        f"'{name}' ({mapped[name]}: {source_type(mapped[name])} at the source, {col.type} in the contract)"
        for name, col in contract.columns.items()
        if name in mapped and not type_fits(col.type, source_type(mapped[name]), delivery.typed)
    ]
    if changed:
        raise RejectedFile(f"{where}: type change in column {', '.join(changed)}; update the contract "
                           f"in catalog/{entry.path.name} or fix the source")
    return ColumnMap(mapped, extra)


def type_fits(contract_type: str, source_type: str, typed: bool) -> bool:
    """Whether a source column of DuckDB type `source_type` can feed a contract column.

    Text from an untyped source (files, JSON strings) is parsed into any type; a typed source
    (a database) must deliver a compatible type: text in a decimal column is a type change there.
    """
    base = source_type.upper().split("(")[0].strip()
    if base == "VARCHAR" and (not typed or contract_type == "text"):
        return True
    if base.startswith("ENUM"):
        base = "ENUM"
    if contract_type == "integer" and base == "DECIMAL":
        return source_type.replace(" ", "").endswith(",0)")
    return base in _COMPATIBLE[contract_type]


# --- SQL ---------------------------------------------------------------------------------------

def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _re2_literal(text: str) -> str:
    """`text` as an RE2 pattern matching exactly it."""
    return "".join(ch if ch.isalnum() or ch == "_" else f"\\x{{{ord(ch):x}}}" for ch in text)


@dataclass(frozen=True)
class CheckQuery:
    """The compiled contract: one SELECT over the delivery's relation."""

    sql: str
    # The same checks without composing messages, for a pass that expects no bad row: the contract and
    # evolved columns with their types, `_source_row`, and `_bad` (true exactly where `sql` gives `_reasons`).
    first_pass_sql: str
    column_types: dict[str, str]  # output columns: contract columns, then evolved ones ("text")
    text_of: dict[str, str]  # typed contract column -> the output column holding its text as delivered
    headers: dict[str, str]  # output column -> the header (delivered column) it came from


SHORT_LIST = 16  # up to this many values, `IN` is written as equalities: DuckDB turns a longer list into a hash join


def is_one_of(value: str, items: Sequence[str]) -> str:
    """SQL: `value` equals one of `items` (NULL when `value` is NULL), as `IN` is."""
    if len(items) > SHORT_LIST:
        return f"{value} IN ({', '.join(map(literal, items))})"
    return "(" + " OR ".join(f"{value} = {literal(item)}" for item in items) + ")"


def _starts_or_ends_with_space(value: str) -> str:
    """SQL: true when `value` begins or ends with a WHITESPACE character (these tests cost far less than trim).

    Also true for a value beginning with another control character: callers only use it to skip
    the trim, which is exact. The first character is tested by its code point, which costs ~30 %
    less than a prefix test per character; DuckDB has no cheap "last character". Not `IN (...)`:
    DuckDB turns a list of 5 or more into a join, and the Parquet writer then loses source order.
    """
    first = f"unicode({value}) <= 32 OR unicode({value}) = 160"  # WHITESPACE: code points up to 32, and 160
    return "(" + " OR ".join([first, *(f"suffix({value}, {literal(ch)})" for ch in WHITESPACE)]) + ")"


def strip(value: str) -> str:
    """SQL: text `value` without surrounding WHITESPACE; trimmed only when it has any (most cells do not)."""
    return f"CASE WHEN {_starts_or_ends_with_space(value)} THEN trim({value}, {literal(WHITESPACE)}) ELSE {value} END"


def has_text(value: str) -> str:
    """SQL: text `value` holds more than WHITESPACE (NULL, not true, when it is NULL)."""
    # A CASE, not `NOT ... OR trim(...) <> ''`: DuckDB reorders an OR and would trim every value first.
    return (f"({value} <> '' AND CASE WHEN {_starts_or_ends_with_space(value)} "
            f"THEN trim({value}, {literal(WHITESPACE)}) <> '' ELSE true END)")


def text_value(column: str, source_type: str) -> str:
    """A delivered cell as stripped text, NULL when empty."""
    if source_type.upper() == "VARCHAR":
        return f"nullif(trim({ident(column)}, {literal(WHITESPACE)}), '')"
    return f"CAST({ident(column)} AS VARCHAR)"


# WITA has been UTC+8 without daylight saving since 1945-09-23 (tzdata, Asia/Makassar); before that
# the offset changed, so older values go through the time zone database.
WITA_FIXED_SINCE = "1945-09-23 00:00:00"
WITA_OFFSET_MICROSECONDS = 8 * 3600 * 1_000_000


def local_to_utc(timestamp: str) -> str:
    """SQL: a TIMESTAMP `timestamp` read as WITA wall time, as TIMESTAMPTZ (UTC).

    Same result as `timezone('Asia/Makassar', ...)`, whose time zone lookup costs ~3x the arithmetic;
    it runs only for values before `WITA_FIXED_SINCE`.
    """
    return (f"CASE WHEN {timestamp} >= TIMESTAMP {literal(WITA_FIXED_SINCE)} "
            f"THEN make_timestamptz(epoch_us({timestamp}) - {WITA_OFFSET_MICROSECONDS}) "
            f"ELSE timezone({literal(LOCAL_TZ)}, {timestamp}) END")


def _starts_with_digit(value: str) -> str:
    """SQL: text `value` begins with 0-9. Dates and timestamps must: DuckDB reads the words 'epoch' and
    'infinity' as times (`try_strptime('epoch', '%Y-%m-%d')` is 1900-01-01), which no agency means."""
    return f"unicode({value}) BETWEEN 48 AND 57"


def _from_year_1000(typed: str, sql_type: str) -> str:
    """SQL: the date or time `typed`, NULL when before the year 1000: a year of fewer than four digits
    ('02-01-20' is the year 2 to strptime's %Y and to the TIMESTAMP cast, '0000' the year 1 BC) is a
    mistyped one. Written with greatest/nullif so that `typed` is computed once."""
    floor = f"{sql_type} {literal('0999-12-31' if sql_type == 'DATE' else '0999-12-31 23:59:59.999999+00')}"
    return f"nullif(greatest({typed}, {floor}), {floor})"


def parse_text(value: str, column_type: str, decimal_comma: bool = False) -> tuple[str, str]:
    """(SQL converting text `value` to the contract type (NULL when it does not convert), SQL for why not)."""
    if column_type == "text":
        return value, "NULL"
    if column_type == "integer":
        if decimal_comma:
            pattern = r"[+-]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)(,0*)?"
            number = f"replace(regexp_replace({value}, ',0*$', ''), '.', '')"
        else:
            pattern = r"[+-]?[0-9]+(\.0*)?"
            number = f"CASE WHEN contains({value}, '.') THEN regexp_replace({value}, '\\.0*$', '') ELSE {value} END"
        matches = f"regexp_full_match({value}, {literal(pattern)})"
        return (f"CASE WHEN {matches} THEN TRY_CAST({number} AS BIGINT) END",
                f"CASE WHEN NOT {matches} THEN 'is not a whole number' ELSE 'is too large for a 64-bit integer' END")
    if column_type == "decimal":
        if decimal_comma:
            pattern = r"[+-]?(([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)(,[0-9]*)?|,[0-9]+)"
            number = f"replace(replace({value}, '.', ''), ',', '.')"
            written = "written like 1.234,56"
        else:
            pattern, number, written = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", value, "use '.' as the decimal point"
        matches = f"regexp_full_match({value}, {literal(pattern)})"
        scale = f"length(rtrim(split_part({number}, '.', 2), '0'))"
        # DECIMAL(18,9) parses ~25x faster than DECIMAL(38,9); the wide cast is tried only when it overflows.
        cast = (f"coalesce(TRY_CAST({number} AS DECIMAL(18,{DECIMAL_SCALE}))::{SQL_TYPES['decimal']}, "
                f"TRY_CAST({number} AS {SQL_TYPES['decimal']}))")
        # A number of at most DECIMAL_SCALE + 1 characters cannot have more decimals than DECIMAL_SCALE.
        fits = f"(length({number}) <= {DECIMAL_SCALE + 1} OR {scale} <= {DECIMAL_SCALE})"
        return (f"CASE WHEN {matches} AND {fits} THEN {cast} END",
                f"CASE WHEN NOT {matches} THEN {literal(f'is not a decimal number ({written})')} "
                f"WHEN {scale} > {DECIMAL_SCALE} THEN 'has more than {DECIMAL_SCALE} decimal places' "
                f"ELSE 'has more than {DECIMAL_PRECISION} digits' END")
    if column_type == "date":
        # The midnight suffix is 9+ characters, and what it leaves of a 10-character value is no date.
        day = f"CASE WHEN length({value}) > 10 THEN regexp_replace({value}, '[ T]00:00:00(\\.0+)?$', '') ELSE {value} END"
        parsed = f"CAST(try_strptime({day}, ['%Y-%m-%d', '%d/%m/%Y', '%d-%m-%Y']) AS DATE)"
        return (_from_year_1000(f"CASE WHEN {_starts_with_digit(value)} THEN {parsed} END", "DATE"),
                "'is not a date (YYYY-MM-DD or DD/MM/YYYY)'")
    if column_type == "timestamp":
        # A final ' UTC' is an offset too: the TIMESTAMP cast drops it, and the value would be taken as WITA.
        offset = "[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?( ?([+-][0-9]{2}(:?[0-9]{2})?|Z)| [Uu][Tt][Cc])$"
        # Only a value holding '+', a final 'Z' or 'C' or a '-' in its last 6 characters can match the offset
        # pattern: the cheap tests spare most values the regex.
        may_have_offset = (f"(suffix({value}, 'Z') OR suffix({value}, 'C') OR suffix({value}, 'c') OR contains({value}, '+') "
                           f"OR contains(right({value}, 6), '-'))")
        with_offset = f"({may_have_offset} AND regexp_matches({value}, {literal(offset)}))"
        converted = (f"CASE WHEN NOT {_starts_with_digit(value)} THEN NULL "
                     f"WHEN {with_offset} THEN TRY_CAST({value} AS TIMESTAMPTZ) "
                     f"ELSE {local_to_utc(f'TRY_CAST({value} AS TIMESTAMP)')} END")
        return _from_year_1000(converted, "TIMESTAMPTZ"), "'is not an ISO 8601 timestamp'"
    if column_type == "boolean":
        folded = f"lower({value})"
        return (f"CASE WHEN {is_one_of(folded, _TRUE)} THEN true WHEN {is_one_of(folded, _FALSE)} THEN false END",
                literal(f"is not a boolean ({'/'.join(sorted(_TRUE))} or {'/'.join(sorted(_FALSE))})"))
    raise ValueError(f"unknown column type '{column_type}'")


# A double has at most 17 significant digits, so the shortest text of one below 10^n has at most 17 - n
# decimals: (below this, DECIMAL(18, scale) holds its text exactly). Below 10^9 more than 9 decimals round.
_FLOAT_TEXT_SCALES = (("1e9", 9), ("1e11", 7), ("1e13", 5), ("1e15", 3), ("1e17", 1))


def float_to_decimal(value: str) -> str:
    """SQL: a DOUBLE or FLOAT `value` as DECIMAL(38,9), through its shortest text, the number the source shows.

    Each magnitude is parsed into the narrowest DECIMAL(18, s) that holds its text: DuckDB parses text into
    a DECIMAL(38,9) at ~7 µs a value, ~100x the narrow parse. NaN and infinity give NULL (they do not fit).
    """
    text = f"CAST({value} AS VARCHAR)"
    target = SQL_TYPES["decimal"]
    cases = " ".join(f"WHEN abs({value}) < {bound} THEN TRY_CAST({text} AS DECIMAL(18,{scale}))::{target}"
                     for bound, scale in _FLOAT_TEXT_SCALES)
    return f"CASE {cases} ELSE TRY_CAST({text} AS {target}) END"


def _decimal_scale(source_type: str) -> int:
    """The scale of a `DECIMAL(p,s)` type (0 for any other type)."""
    found = re.fullmatch(r"\s*DECIMAL\s*\(\s*\d+\s*,\s*(\d+)\s*\)\s*", source_type, re.IGNORECASE)
    return int(found.group(1)) if found else 0


def exact_decimal(value: str, source_type: str) -> str:
    """SQL: a DECIMAL `value` with more places than the contract's as DECIMAL(38,9), NULL unless exact.

    The cast rounds (0.123456789012 would land as 0.123456789): a value that does not come back from
    the contract's decimal unchanged does not fit, as text with more than 9 decimals does not.
    """
    converted = f"TRY_CAST({value} AS {SQL_TYPES['decimal']})"
    return f"CASE WHEN TRY_CAST({converted} AS {source_type}) = {value} THEN {converted} END"


def typed_why_not(text: str, column_type: str) -> str:
    """SQL: why a typed source value (its text `text`) does not fit the contract type."""
    if column_type == "decimal":
        return (f"CASE WHEN length(rtrim(split_part({text}, '.', 2), '0')) > {DECIMAL_SCALE} "
                f"THEN 'has more than {DECIMAL_SCALE} decimal places' ELSE 'does not fit decimal' END")
    return literal(f"does not fit {column_type}")


def convert_typed(column: str, source_type: str, column_type: str) -> str:
    """SQL converting a typed source column to the contract type (NULL when the value does not fit).

    A date or time that is PostgreSQL's 'infinity' or '-infinity' ("no end date") does not fit: Parquet
    and the warehouse have no such value, so its row is quarantined rather than loaded as an extreme date.
    A floating-point value becomes a decimal through its shortest text, the number the source shows:
    DuckDB's direct DOUBLE -> DECIMAL(38,9) cast computes in binary and made 2500000000000.5 (a plain
    PostgreSQL `numeric`, which the scanner reads as a DOUBLE) 2500000000000.500170752.
    """
    base = source_type.upper().split("(")[0].strip()
    if column_type == "timestamp" and base in ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"):
        converted = local_to_utc(f"CAST({ident(column)} AS TIMESTAMP)")
    elif column_type == "boolean" and base == "TINYINT":
        return f"CASE {ident(column)} WHEN 1 THEN true WHEN 0 THEN false END"
    elif column_type == "decimal" and base in ("FLOAT", "DOUBLE"):
        return float_to_decimal(ident(column))
    elif column_type == "decimal" and _decimal_scale(source_type) > DECIMAL_SCALE:
        return exact_decimal(ident(column), source_type)
    else:
        converted = f"TRY_CAST({ident(column)} AS {SQL_TYPES[column_type]})"
    if column_type in ("date", "timestamp"):
        return f"CASE WHEN isfinite({ident(column)}) THEN {converted} END"
    return converted


def compile_checks(
    entry: DatasetEntry,
    delivery: Delivery,
    columns: ColumnMap,
    relation: str,
    references: Callable[[str], frozenset[str]] = load_reference,
) -> CheckQuery:
    """The contract as one SELECT over `relation` (a FROM-expression with the delivered columns).

    Output: every contract column with its declared type (NULL in quarantined rows), for each typed
    (non-text) contract column its delivered text (NULL in good rows), evolved columns as text,
    `_source_row`, `_reasons` (NULL for a good row) and `_columns` (the columns at fault).
    """
    contract = entry.spec.contract
    has_flag = delivery.flagged
    # Each delivered value is trimmed (or cast to text) once, in `trimmed`; `cleaned` makes empty text
    # NULL; `converted` parses it. Later steps refer to these columns, never recompute them.
    read: list[str] = []  # in `trimmed`: stripped text of text columns, typed source columns as they are
    texts: list[str] = []  # in `cleaned`: the text of every contract and evolved column ("t:<name>")
    values: list[str] = []  # in `converted`: the typed value of every contract column ("x:<name>")
    reasons: list[tuple[str, str]] = []  # (contract column, SQL for the problem or NULL)
    flag_heads: list[str] = []
    # SQL for each column's text as delivered: its `t:` column, except for a typed source column feeding
    # a typed contract column: there the cast to text is written where it is used (a condition that
    # needs the text, a message, the text of a quarantined row), so good database rows skip it.
    text_sql: dict[str, str] = {}

    def read_text(name: str, delivered: str, column_type: str = "text") -> bool:
        """Add the column's text to `trimmed` and `cleaned`; whether the source delivers it as text."""
        if delivery.columns[delivered].upper() == "VARCHAR":
            read.append(f"{strip(ident(delivered))} AS {ident('s:' + name)}")
            texts.append(f"nullif({ident('s:' + name)}, '') AS {ident('t:' + name)}")
            text_sql[name] = ident("t:" + name)
            return True
        read.append(f"{ident(delivered)} AS {ident('raw:' + name)}")
        if column_type == "text":
            texts.append(f"CAST({ident('raw:' + name)} AS VARCHAR) AS {ident('t:' + name)}")
            text_sql[name] = ident("t:" + name)
        else:
            text_sql[name] = f"CAST({ident('raw:' + name)} AS VARCHAR)"
        return False

    for name, column in contract.columns.items():
        delivered = columns.contract.get(name)
        if delivered is None:
            texts.append(f"NULL::VARCHAR AS {ident('t:' + name)}")
            text_sql[name] = ident("t:" + name)
            values.append(f"NULL::{SQL_TYPES[column.type]} AS {ident('x:' + name)}")
            continue
        source_type = delivery.columns[delivered]
        is_text = read_text(name, delivered, column.type)
        if is_text:
            typed_sql = parse_text(ident("t:" + name), column.type, delivery.decimal_comma)[0]
        else:
            typed_sql = convert_typed("raw:" + name, source_type, column.type)
        values.append(f"{typed_sql} AS {ident('x:' + name)}")
        t, x = text_sql[name], ident("x:" + name)
        # Whether a value was delivered: a typed value is NULL exactly when its text is.
        present = t if is_text or column.type == "text" else ident("raw:" + name)
        why_not = parse_text(t, column.type, delivery.decimal_comma)[1] if is_text else typed_why_not(t, column.type)
        checks: list[tuple[str, str]] = []
        if has_flag:
            flag_heads.append(_re2_literal(delivered))
            flag = f"nullif(regexp_extract(_flag, {literal('(?m)^' + _re2_literal(delivered) + ': (.*)$')}, 1), '')"
            checks.append((f"{flag} IS NOT NULL", flag))
        if not column.nullable:
            checks.append((f"{present} IS NULL", "'empty, but the contract requires a value (nullable: false)'"))
        if is_id_column(entry, name):
            # Scientific notation needs an 'e': the contains tests spare most ids the regex.
            checks.append((f"(contains({t}, 'e') OR contains({t}, 'E')) AND regexp_full_match({t}, {literal(_SCIENTIFIC)})",
                           f"'''' || {t} || ''' is in scientific notation: the number lost its digits "
                           "(precision loss; format the cells as text)'"))
        if column.pattern is not None:
            checks.append((f"NOT regexp_full_match({t}, {literal(column.pattern)})",
                           f"'''' || {t} || ''' does not match the pattern ' || {literal(column.pattern)}"))
        if column.accepted_values is not None:
            checks.append((f"NOT {is_one_of(t, column.accepted_values)}",
                           f"'''' || {t} || ''' is not one of ' || {literal(', '.join(column.accepted_values))}"))
        if column.references is not None:
            codes = ", ".join(map(literal, sorted(references(column.references))))
            checks.append((f"{t} NOT IN ({codes})",
                           f"'''' || {t} || ''' is not in the code list ' || {literal(column.references)}"))
        checks.append((f"{present} IS NOT NULL AND {x} IS NULL", f"'''' || {t} || ''' ' || {why_not}"))
        cases = " ".join(f"WHEN {condition} THEN {message}" for condition, message in checks)
        reasons.append((name, f"CASE {cases} END"))
    for name, delivered in columns.extra.items():
        read_text(name, delivered)

    where = _row_where(entry, delivery, text_sql)
    described = [
        f"CASE WHEN {ident('r:' + name)} IS NOT NULL THEN {where} || ', column ' || "
        f"{literal(repr_name(name) + ' (' + columns.header(name) + '): ')} || {ident('r:' + name)} END"
        for name, _ in reasons
    ]
    problems = [f"{ident('r:' + name)} IS NOT NULL" for name, _ in reasons]  # each adds a message to `described`
    if has_flag:
        unmatched = (f"_flag IS NOT NULL AND NOT regexp_matches(_flag, {literal('(?m)^(' + '|'.join(flag_heads) + '): ')})"
                     if flag_heads else "_flag IS NOT NULL")
        described.append(f"CASE WHEN {unmatched} THEN {where} || ': ' || _flag END")
        problems.append(unmatched)
    at_fault = [f"CASE WHEN {ident('r:' + name)} IS NOT NULL THEN {literal(name)} END" for name, _ in reasons]

    # A row is blank when every delivered value is NULL or whitespace; blank rows are skipped before
    # any per-cell work. Written as "some value holds text" so that DuckDB stops at the first such
    # value of a row. Every delivered column is mapped or carried along (else the delivery was refused).
    delivered_names = [*columns.contract.values(), *columns.extra.values()]
    any_value = " OR ".join(
        has_text(ident(d)) if delivery.columns[d].upper() == "VARCHAR" else f"{ident(d)} IS NOT NULL" for d in delivered_names
    ) or "true"
    flag_column = ", _flag" if has_flag else ""
    output: list[str] = []
    text_of: dict[str, str] = {}
    for name, column in contract.columns.items():
        if column.type == "text":
            output.append(f"{ident('t:' + name)} AS {ident(name)}")
        else:
            text_of[name] = f"{name}:text"
            output += [f"CASE WHEN _reasons IS NULL THEN {ident('x:' + name)} END AS {ident(name)}",
                       f"CASE WHEN _reasons IS NOT NULL THEN {text_sql[name]} END AS {ident(text_of[name])}"]
    output += [f"{ident('t:' + name)} AS {ident(name)}" for name in columns.extra]
    typed = [f"{ident(('t:' if column.type == 'text' else 'x:') + name)} AS {ident(name)}"
             for name, column in contract.columns.items()]
    typed += [f"{ident('t:' + name)} AS {ident(name)}" for name in columns.extra]
    steps = f"""
        WITH trimmed AS (
            SELECT _source_row{flag_column}{''.join(', ' + sql for sql in read)} FROM {relation} WHERE {any_value}
        ), cleaned AS (
            SELECT *{''.join(', ' + sql for sql in texts)} FROM trimmed
        ), converted AS (
            SELECT *{''.join(', ' + sql for sql in values)} FROM cleaned
        ), checked AS (
            SELECT *, {', '.join(f'{sql} AS {ident("r:" + name)}' for name, sql in reasons) or 'NULL AS _none'}
            FROM converted
        )"""
    sql = steps + f""", described AS (
            SELECT *, nullif(concat_ws('; ', {', '.join(described) or 'NULL'}), '') AS _reasons,
                   concat_ws(', ', {', '.join(at_fault) or 'NULL'}) AS _columns
            FROM checked
        )
        SELECT {', '.join(output)}, _source_row::BIGINT AS _source_row, _reasons, _columns FROM described
    """
    first_pass_sql = steps + f"""
        SELECT {', '.join(typed)}, _source_row::BIGINT AS _source_row, ({' OR '.join(problems) or 'false'}) AS _bad FROM checked
    """
    column_types = {**{n: c.type for n, c in contract.columns.items()}, **{n: "text" for n in columns.extra}}
    return CheckQuery(sql, first_pass_sql, column_types, text_of, {**columns.contract, **columns.extra})


def repr_name(name: str) -> str:
    return f"'{name}'"


def _row_where(entry: DatasetEntry, delivery: Delivery, text_sql: dict[str, str]) -> str:
    """SQL for `locate(...)` of a row: its number, or its primary key when the source has no row number."""
    prefix = literal(locate(delivery.label, delivery.sheet) + f", {delivery.position} ")
    key = " || ', ' || ".join(
        f"{literal(name + ' ')} || coalesce('''' || {text_sql[name]} || '''', 'NULL')" for name in entry.spec.primary_key
    )
    keyed = literal(locate(delivery.label, delivery.sheet) + ", key ") + f" || {key}"
    return f"(CASE WHEN _source_row IS NULL THEN {keyed} ELSE {prefix} || _source_row END)"


# --- One value at a time (tests, and tools that check a single cell) ----------------------------

@cache
def _scalar_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def convert(value: str | None, column_type: str, decimal_comma: bool = False) -> object:
    """Text -> the declared type through the same SQL the contract uses; ValueError says why not."""
    typed, why_not = parse_text("v", column_type, decimal_comma)
    con = _scalar_connection().cursor()
    row = con.execute(
        f"SELECT {typed}, {why_not} FROM (SELECT nullif({strip('raw')}, '') AS v FROM (SELECT ?::VARCHAR AS raw))", [value]
    ).fetchone()
    assert row is not None  # one row selected
    result, reason = row
    if value is not None and value.strip() and result is None:
        raise ValueError(reason)
    return result
