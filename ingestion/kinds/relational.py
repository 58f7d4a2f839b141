"""What the relational kinds (`postgres`, `mysql`, `sqlite`) share: one delivery per run, described by a DuckDB scanner.

A relational dataset yields at most one `Pending` per run: the whole table or query for a snapshot,
or the rows with `cursor >= ledger.cursor_before` (ordered by the cursor) for an incremental one.
Its columns are described by the kind's DuckDB scanner extension (loaded from its PyPI package's
file, so nothing is downloaded or written under $HOME), which also proves the credentials. For
`postgres` and `sqlite`, `Delivery.relation(con)` attaches the agency database READ_ONLY to the
core's DuckDB connection and returns a SELECT over the table with the cursor predicate pushed down
to the server, or over the query wrapped as a server-side subquery; `mysql` reads its rows through
connectorx instead (`ingestion.kinds.mysql`, `pending_relational(..., read=...)`).

Types stay native (decimal(14,2), date, timestamp, boolean...) and are cast explicitly to what the
source declares (`Delivery.typed`), so the core can refuse a type change at the source (a NIK column
that became an integer) naming the column. A number the scanner would read as a double though the source
holds it exact (a PostgreSQL `numeric` without precision) travels as its text (`Dialect.text_numbers`).
With a cursor, the rows whose cursor is NULL, which `>=` never reads, are quarantined (`NullCursor`).
Credentials come from the Airflow connection, through a temporary DuckDB secret, so the password
never appears in an ATTACH string, in `duckdb_databases()` or in a message.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import importlib.util
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from ingestion.catalog import DatasetEntry, RelationalSource
from ingestion.connections import ConnectionInfo, SourceConnectionError, get_connection
from ingestion.errors import RejectedFile
from ingestion.kinds import Delivery, LedgerView, Pending

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Makassar")  # a source timestamp without zone is WITA (Paser's time)
SOURCE_ROW = "_source_row"

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_TIMESTAMP_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"}


# --- Dialects -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dialect:
    """How one database kind is reached through its DuckDB scanner."""

    kind: str  # catalog source.kind
    extension: str  # DuckDB extension (and PyPI package duckdb-extension-<name>)
    attach: Callable[[ConnectionInfo, str], list[str]]  # (connection, alias) -> SQL statements that attach it
    query_function: str  # postgres_query / mysql_query / sqlite_query: runs SQL on the server
    quote: Callable[[str], str]  # identifier quoting in the server's SQL
    server_literal: Callable[[object, str], str] | None  # (cursor value, DuckDB type) -> typed literal in server SQL
    # (connection, table, described columns) -> columns with the types the source declares, where the
    # scanner's mapping loses them (SQLite stores decimal(14,2) as REAL and boolean as an integer).
    declared_types: Callable[[ConnectionInfo, str, dict[str, str]], dict[str, str]] | None = None
    # (probe connection, plan, alias, described columns) -> the DOUBLE columns that are exact numbers at the
    # source (a PostgreSQL `numeric` without precision): they travel as their text, which loses no digit.
    text_numbers: Callable[[duckdb.DuckDBPyConnection, Plan, str, dict[str, str]], frozenset[str]] | None = None


def extension_path(name: str) -> Path:
    """The extension binary shipped in the `duckdb-extension-<name>` wheel for this DuckDB version."""
    package = f"duckdb_extension_{name}"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SourceConnectionError(
            f"DuckDB extension '{name}' is not installed: add the package duckdb-extension-{name.replace('_', '-')}"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
    path = folder / f"{name}.duckdb_extension"
    if not path.is_file():
        raise SourceConnectionError(f"DuckDB extension '{name}' has no build for DuckDB {duckdb.__version__} at {path}")
    return path


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """LOAD the scanner from its package file: works offline and writes nothing under $HOME."""
    # A literal, not a `?` parameter: binding Python parameters makes DuckDB import pandas (~0.3 s, more
    # without bytecode caches), which no other step of a database load needs.
    loaded = con.execute(f"SELECT loaded FROM duckdb_extensions() WHERE extension_name = {sql_string(name)}").fetchone()
    if not (loaded and loaded[0]):
        con.execute(f"LOAD {sql_string(str(extension_path(name)))}")


def sql_string(text: str) -> str:
    """A SQL string literal ('it''s')."""
    return "'" + str(text).replace("'", "''") + "'"


def duck_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def secret_statement(secret: str, secret_type: str, params: dict[str, object]) -> str:
    """CREATE TEMPORARY SECRET carrying host/user/password, so no ATTACH string holds the password."""
    given = [f"{key} {value if isinstance(value, int) else sql_string(str(value))}"
             for key, value in params.items() if value is not None]
    return f"CREATE OR REPLACE TEMPORARY SECRET {duck_ident(secret)} (TYPE {secret_type}, {', '.join(given)})"


# --- The delivery -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What one run reads: the source, and the cursor predicate if incremental."""

    entry: DatasetEntry
    spec: RelationalSource
    dialect: Dialect
    cursor: str | None  # the cursor column (catalog `cursor`)
    cursor_from: object | None  # ledger.cursor_before: read rows with cursor >= this
    null_cursor_before: dict | None = None  # the latest batch's `source.null_cursor` (see `NullCursor`)
    found: dict[str, object] = field(default_factory=dict)  # what the read found, added to the `source` block

    @property
    def label(self) -> str:
        what = self.spec.table or f"query {self._query_sha256()[:8]}"
        return f"{self.dialect.kind} {self.spec.connection}: {what}"

    def _query_sha256(self) -> str:
        return hashlib.sha256((self.spec.query or "").encode("utf-8")).hexdigest()

    def source_block(self) -> dict[str, object]:
        """The manifest's `source` block: identity of what was read (no credentials)."""
        block: dict[str, object] = {"kind": self.dialect.kind, "connection": self.spec.connection, "path": self.label}
        if self.spec.table:
            block["table"] = self.spec.table
        else:
            block["query"] = self.spec.query
            block["query_sha256"] = self._query_sha256()
        if self.cursor:
            block["cursor_column"] = self.cursor
            block["cursor_from"] = _jsonable(self.cursor_from)
        return block


def pending_relational(
    entry: DatasetEntry, ledger: LedgerView, dialect: Dialect, read: Callable[[Plan], Delivery] | None = None,
) -> Iterator[Pending]:
    """The one delivery of a relational dataset this run (see the module docstring); `read` defaults to the scanner's."""
    spec = entry.spec.source
    assert isinstance(spec, RelationalSource)
    cursor_from = ledger.cursor_before if entry.spec.cursor else None
    null_cursor_before = ((ledger.latest or {}).get("source") or {}).get("null_cursor") if entry.spec.cursor else None
    plan = Plan(entry, spec, dialect, entry.spec.cursor, cursor_from, null_cursor_before)
    reader = read or read_delivery
    source = plan.source_block()

    def read_now() -> Delivery:
        delivery = reader(plan)
        source.update(plan.found)  # known only once connected: the manifest's source block carries it
        return delivery

    yield Pending(source=source, read=read_now)


def describe_source(plan: Plan, conn: ConnectionInfo) -> dict[str, str]:
    """Delivered column -> DuckDB type, through the scanner on a connection of its own (reads no rows;
    proves the credentials)."""
    return probe_source_columns(plan, conn).columns


@dataclass(frozen=True)
class NullCursor:
    """The rows whose cursor is NULL, which `>=` never reads: how many, and an order-free hash of their keys.

    An incremental run reads them (and quarantines them, `NULL_CURSOR_REASON`) when they differ from what the
    latest batch saw (its `source.null_cursor`): in the first run, and after one was added, removed or given a
    value. Then all of them are quarantined again, so the latest such batch lists every row still without a
    cursor; a run that finds them as they were reads only `>=`, and the quarantine does not grow run by run.
    """

    rows: int
    keys_hash: str | None

    def block(self) -> dict[str, object]:
        return {"rows": self.rows, "keys_hash": self.keys_hash}

    def read_again(self, before: dict | None) -> bool:
        return self.rows > 0 and self.block() != before


NULL_CURSOR_REASON = "no value in cursor column '{}': an incremental load cannot tell when it changed"


@dataclass(frozen=True)
class Probe:
    """What the probe connection found: the described columns, the text numbers, the NULL-cursor rows."""

    columns: dict[str, str]  # delivered column -> DuckDB type, as the scanner describes it
    as_text: frozenset[str]  # `Dialect.text_numbers`
    null_cursor: NullCursor | None  # None without a cursor


def probe_source_columns(plan: Plan, conn: ConnectionInfo) -> Probe:
    """`describe_source`, the columns to read as their exact text (`Dialect.text_numbers`) and, with a cursor,
    the rows whose cursor is NULL (`NullCursor`)."""
    probe = duckdb.connect()
    try:
        alias = _attach(probe, plan, conn)
        columns = describe(probe, probe_source(plan, alias), plan, conn)
        find = plan.dialect.text_numbers
        # Only a DOUBLE can be one: a source without one (the benchmark's) pays no second round trip.
        as_text = find(probe, plan, alias, columns) if find is not None and "DOUBLE" in columns.values() else frozenset()
        null_cursor = _null_cursor(probe, plan, alias, conn, columns) if plan.cursor else None
        return Probe(columns, as_text, null_cursor)
    finally:
        probe.close()


def _null_cursor(con: duckdb.DuckDBPyConnection, plan: Plan, alias: str, conn: ConnectionInfo,
                 columns: dict[str, str]) -> NullCursor | None:
    """Count and hash the keys of the rows with a NULL cursor, on the server (None: the cursor is not delivered,
    which `cursor_filter` refuses)."""
    cursor = delivered_cursor(plan, columns)
    if cursor is None:
        return None
    folded = {name.casefold(): name for name in columns}
    keys = [folded[key.casefold()] for key in plan.entry.spec.primary_key if key.casefold() in folded]
    quote = plan.dialect.quote
    server_sql = (f"SELECT {', '.join(f'_q.{quote(key)}' for key in keys) or '1 AS _one'} FROM {server_source(plan)} "
                  f"WHERE _q.{quote(cursor)} IS NULL")
    hashed = f"sum(hash({', '.join(duck_ident(key) for key in keys)})::HUGEINT)::VARCHAR" if keys else "NULL::VARCHAR"
    try:
        row = con.execute(f"SELECT count(*), {hashed} FROM "
                          f"{plan.dialect.query_function}({sql_string(alias)}, {sql_string(server_sql)})").fetchone()
    except duckdb.Error as exc:
        raise SourceConnectionError(
            f"{plan.label}: cannot count the rows without a cursor value: {conn.mask(str(exc))}"
        ) from None
    assert row is not None  # an aggregate gives one row
    return NullCursor(int(row[0]), row[1])


def read_delivery(plan: Plan) -> Delivery:
    """Connect and describe the delivered columns (this also proves the credentials); the Delivery."""
    conn = get_connection(plan.spec.connection)
    probe = probe_source_columns(plan, conn)
    scanned, as_text = probe.columns, probe.as_text
    columns = scanned
    if plan.spec.table and plan.dialect.declared_types is not None:
        columns = plan.dialect.declared_types(conn, plan.spec.table, scanned)
    casts = {name: type_ for name, type_ in columns.items() if scanned.get(name) != type_}
    columns = {name: "VARCHAR" if name in as_text else type_ for name, type_ in columns.items()}
    # A text number as cursor is compared as the number it is, on the server.
    cursor = cursor_filter(plan, {**columns, **dict.fromkeys(as_text, "DECIMAL")}, probe.null_cursor)

    attached: list[tuple[duckdb.DuckDBPyConnection, str]] = []

    def relation(con: duckdb.DuckDBPyConnection) -> str:
        alias = _attach(con, plan, conn)
        attached.append((con, alias))
        return from_source(plan, alias, columns, casts, cursor, as_text)

    def close() -> None:
        while attached:
            con, alias = attached.pop()
            try:
                con.execute(f"DETACH DATABASE IF EXISTS {duck_ident(alias)}")
                con.execute(f"DROP TEMPORARY SECRET IF EXISTS {duck_ident(alias + '_secret')}")
            except duckdb.Error as exc:  # the core may have closed its connection already
                log.debug("%s: detach %s: %s", plan.label, alias, exc)

    return Delivery(
        label=plan.label, sheet=None, position="record", header_row=None,
        columns=columns, relation=relation, typed=True, close=close, text_numbers=as_text,
        flagged=cursor is not None and cursor.nulls,
    )


def _attach(con: duckdb.DuckDBPyConnection, plan: Plan, conn: ConnectionInfo) -> str:
    alias = f"src_{plan.dialect.kind}_{uuid.uuid4().hex[:12]}"
    try:
        load_extension(con, plan.dialect.extension)
        for statement in plan.dialect.attach(conn, alias):
            con.execute(statement)
    except duckdb.Error as exc:
        raise SourceConnectionError(
            f"{plan.label}: cannot connect with connection '{conn.conn_id}' ({conn!r}): {conn.mask(str(exc))}"
        ) from None
    return alias


def describe(con: duckdb.DuckDBPyConnection, select: str, plan: Plan, conn: ConnectionInfo) -> dict[str, str]:
    """Delivered column name -> DuckDB type, as the scanner maps the source's declared types."""
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {select}").fetchall()
    except duckdb.Error as exc:
        raise SourceConnectionError(
            f"{plan.label} (connection '{conn.conn_id}'): cannot read the source: {conn.mask(str(exc))}"
        ) from None
    return {name: type_ for name, type_, *_ in rows if name != SOURCE_ROW}


@dataclass(frozen=True)
class CursorFilter:
    """`<column> >= <saved cursor>`, typed like the column as delivered; and whether the rows with a NULL
    cursor are read too (then flagged: `NULL_CURSOR_REASON`) or left out (see `NullCursor`)."""

    column: str  # the cursor column as the source spells it
    type: str  # its DuckDB type
    value: object | None  # ledger.cursor_before (None: the first run)
    nulls: bool = False  # read (and flag) the rows with a NULL cursor

    def predicate(self, key: str, literal: Callable[[object, str], str]) -> str:
        """SQL: which rows this run reads ('' for all); `key` is the column, `literal` types the saved cursor."""
        if self.value is None:
            return "" if self.nulls else f"{key} IS NOT NULL"
        at_or_after = f"{key} >= {literal(self.value, self.type)}"
        return f"({at_or_after} OR {key} IS NULL)" if self.nulls else at_or_after

    def flag(self, key: str) -> str:
        """SQL: the `_flag` line of a row with a NULL cursor (NULL for any other row)."""
        reason = NULL_CURSOR_REASON.format(self.column)
        return f"CASE WHEN {key} IS NULL THEN {sql_string(f'{self.column}: {reason}')} END"


def cursor_filter(plan: Plan, columns: dict[str, str], null_cursor: NullCursor | None = None) -> CursorFilter | None:
    """The incremental predicate of this run (None for a snapshot, or a first run without NULL cursors).

    Records `null_cursor` in `plan.found` (the manifest's `source.null_cursor`)."""
    if plan.cursor is None:
        return None
    delivered = delivered_cursor(plan, columns)
    if delivered is None:
        raise RejectedFile(f"{plan.label}: the cursor column '{plan.cursor}' is not delivered; found: {', '.join(columns)}")
    if null_cursor is None or null_cursor.rows == 0:
        if null_cursor is not None:
            plan.found["null_cursor"] = null_cursor.block()
        return None if plan.cursor_from is None else CursorFilter(delivered, columns[delivered], plan.cursor_from)
    plan.found["null_cursor"] = null_cursor.block()
    return CursorFilter(delivered, columns[delivered], plan.cursor_from, null_cursor.read_again(plan.null_cursor_before))


def delivered_cursor(plan: Plan, columns: dict[str, str]) -> str | None:
    """The catalog's cursor column as the source spells it (matched without regard to case), None if not delivered."""
    assert plan.cursor is not None
    return next((name for name in columns if name.casefold() == plan.cursor.casefold()), None)


def probe_source(plan: Plan, alias: str) -> str:
    """A FROM-expression with the source's columns, for DESCRIBE (reads no rows)."""
    if plan.spec.table:
        return f"(SELECT * FROM {_table_ref(plan, alias)})"
    probe = f"SELECT * FROM ({server_query(plan)}) AS _q LIMIT 0"
    return f"(SELECT * FROM {plan.dialect.query_function}({sql_string(alias)}, {sql_string(probe)}))"


def from_source(plan: Plan, alias: str, columns: dict[str, str], casts: dict[str, str],
                cursor: CursorFilter | None, as_text: frozenset[str] = frozenset()) -> str:
    """The FROM-expression: the delivered columns (cast where the scanner's type is not the declared one),
    `_source_row`, and the cursor filter. A no-op CAST is left out: it measurably slows the scan.
    Columns in `as_text` are cast to text by the server, in one SELECT it runs (for a table too)."""
    dialect = plan.dialect
    if as_text:
        return _from_server_select(plan, alias, columns, cursor, as_text)
    select_list = ", ".join([
        *(f"CAST({duck_ident(name)} AS {casts[name]}) AS {duck_ident(name)}" if name in casts else duck_ident(name)
          for name in columns),
        f"NULL::BIGINT AS {SOURCE_ROW}",
        *([f"{cursor.flag(duck_ident(cursor.column))} AS _flag"] if cursor is not None and cursor.nulls else []),
    ])
    duck_filter = ""
    if cursor is not None:
        column = duck_ident(cursor.column)
        duck_filter = _where(cursor.predicate(column, duck_literal), column, cursor)
    if plan.spec.table:  # the scanners push the filter (and for MySQL the ORDER BY) down to the server
        return f"(SELECT {select_list} FROM {_table_ref(plan, alias)}{duck_filter})"

    server_sql = server_query(plan)
    if cursor is not None and dialect.server_literal is not None:
        column = f"_q.{dialect.quote(cursor.column)}"
        where = _where(cursor.predicate(column, dialect.server_literal), column, cursor)
        server_sql = f"SELECT * FROM ({server_sql}) AS _q{where}"
        duck_filter = ""
    # Without a server literal (SQLite, a local file) DuckDB filters the query's rows itself.
    return f"(SELECT {select_list} FROM {dialect.query_function}({sql_string(alias)}, {sql_string(server_sql)}){duck_filter})"


def _from_server_select(plan: Plan, alias: str, columns: dict[str, str], cursor: CursorFilter | None,
                        as_text: frozenset[str]) -> str:
    """The FROM-expression over one SELECT on the server that sends the `as_text` columns as their text.

    A table is read through it too (not the scanner's parallel table scan): the scanner would read the
    column as a double before any cast of DuckDB's could run."""
    dialect = plan.dialect
    assert dialect.server_literal is not None  # only a server (PostgreSQL) has text numbers
    # VARCHAR without a length is PostgreSQL's text.
    server_sql = "SELECT " + ", ".join(
        f"CAST(_q.{dialect.quote(name)} AS VARCHAR) AS {dialect.quote(name)}" if name in as_text
        else f"_q.{dialect.quote(name)}" for name in columns) + f" FROM {server_source(plan)}"
    if cursor is not None:
        # Qualified: an output column (a text number) of the same name would win in ORDER BY.
        key = f"_q.{dialect.quote(cursor.column)}"
        server_sql += _where(cursor.predicate(key, dialect.server_literal), key, cursor)
    select_list = ", ".join([
        *(duck_ident(name) for name in columns), f"NULL::BIGINT AS {SOURCE_ROW}",
        *([f"{cursor.flag(duck_ident(cursor.column))} AS _flag"] if cursor is not None and cursor.nulls else []),
    ])
    return f"(SELECT {select_list} FROM {dialect.query_function}({sql_string(alias)}, {sql_string(server_sql)}))"


def _where(predicate: str, key: str, cursor: CursorFilter) -> str:
    """` WHERE <predicate> ORDER BY <key>`; ordered only from a saved cursor, as the rows it reads come."""
    where = f" WHERE {predicate}" if predicate else ""
    return f"{where} ORDER BY {key}" if cursor.value is not None else where


def server_source(plan: Plan) -> str:
    """The table or the query in SQL sent to the server, named `_q`."""
    if plan.spec.table:
        return ".".join(plan.dialect.quote(part) for part in plan.spec.table.split(".")) + " AS _q"
    return f"({server_query(plan)}) AS _q"


def _table_ref(plan: Plan, alias: str) -> str:
    assert plan.spec.table is not None
    return ".".join([duck_ident(alias), *(duck_ident(part) for part in plan.spec.table.split("."))])


def server_query(plan: Plan) -> str:
    assert plan.spec.query is not None
    return plan.spec.query.strip().rstrip(";")


# --- Cursor values ------------------------------------------------------------------------------

def cursor_value(value: object, duck_type: str | None) -> object:
    """The saved cursor (JSON from the manifest) as a Python value of the cursor column's type."""
    base = (duck_type or "VARCHAR").upper()
    if base in _TIMESTAMP_TYPES:
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if base == "TIMESTAMP WITH TIME ZONE":
            return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)
        # A naive source column holds WITA wall time; a saved value with an offset is converted to it.
        return moment.astimezone(LOCAL_TZ).replace(tzinfo=None) if moment.tzinfo else moment
    if base == "DATE":
        if isinstance(value, dt.datetime):
            return value.date()
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    if base in _INTEGER_TYPES:
        return int(str(value))
    if base.startswith("DECIMAL"):
        return decimal.Decimal(str(value))
    if base in ("DOUBLE", "FLOAT", "REAL"):
        return float(str(value))
    return str(value)


def cursor_text(typed: object) -> str:
    """A typed cursor value as the text of a SQL literal: `2024-01-01 08:00:00`, `2024-01-01`, `42`."""
    if isinstance(typed, dt.datetime):
        return typed.isoformat(sep=" ")
    if isinstance(typed, dt.date):  # date.isoformat() takes no separator
        return typed.isoformat()
    return str(typed)


def duck_literal(value: object, duck_type: str | None) -> str:
    """A DuckDB literal of the cursor column's type (the scanners push it down to the server)."""
    return f"CAST({sql_string(cursor_text(cursor_value(value, duck_type)))} AS {duck_type or 'VARCHAR'})"


def _jsonable(value: object) -> object:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


# --- The change marker (trigger.by: poll) -------------------------------------------------------

def change_marker(entry: DatasetEntry) -> list[str]:
    """What the source holds now, in one cheap query: the triggerer's probe for `trigger.by: poll`.

    With a cursor: the row count and the highest cursor value, both computed by the server (a new or
    changed row moves the cursor, a deleted one the count); a DESCRIBE before it (no rows read) finds the
    cursor column as the source spells it. Without a cursor: the row count and an order-free sum of row
    hashes, computed by DuckDB over the whole table; every probe then reads the table, so such a source
    wants a longer `poll_seconds`. Equal markers: nothing to load.
    """
    from ingestion.kinds import kind_module, served_kind  # the kind modules import this one

    spec = entry.spec.source
    assert isinstance(spec, RelationalSource)
    dialect: Dialect = kind_module(served_kind(spec.kind, spec.connection)).DIALECT
    plan = Plan(entry, spec, dialect, entry.spec.cursor, None)
    conn = get_connection(spec.connection)
    con = duckdb.connect()
    try:
        alias = _attach(con, plan, conn)
        if plan.cursor is not None:
            # The server's own spelling, as the ingest reads it: PostgreSQL keeps a quoted "UPDATED_AT",
            # which max("updated_at") does not find. One DESCRIBE, which reads no rows.
            columns = describe(con, probe_source(plan, alias), plan, conn)
            cursor = delivered_cursor(plan, columns)
            if cursor is None:
                raise SourceConnectionError(f"{entry.id} ({plan.label}): the cursor column '{plan.cursor}' "
                                            f"is not in the source; found: {', '.join(columns)}")
            server_sql = f"SELECT count(*), max({dialect.quote(cursor)}) FROM {server_source(plan)}"
            sql = f"SELECT * FROM {dialect.query_function}({sql_string(alias)}, {sql_string(server_sql)})"
        else:
            rows = (_table_ref(plan, alias) if spec.table
                    else f"{dialect.query_function}({sql_string(alias)}, {sql_string(server_query(plan))})")
            sql = f"SELECT count(*), sum(hash(_row)::HUGEINT) FROM {rows} AS _row"
        try:
            row = con.execute(sql).fetchone()
        except duckdb.Error as exc:
            raise SourceConnectionError(f"{plan.label}: cannot probe the source: {conn.mask(str(exc))}") from None
    finally:
        con.close()
    assert row is not None  # an aggregate always returns one row
    return [str(value) for value in row]
