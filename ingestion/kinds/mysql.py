"""`source.kind: mysql`: a table or query in an agency's MySQL/MariaDB, read by connectorx.

Read: one SELECT, with the cursor predicate and ORDER BY on the server, streamed by connectorx as
Arrow batches (1M rows in ~0.8 s here; DuckDB's mysql scanner spent ~4 s of CPU on the same rows).
connectorx holds a DECIMAL in a 28-digit decimal (wider values fail, the scale is forced to 10) and
panics on a date MariaDB can store and no calendar has ('0000-00-00', '2024-02-30'), so:
- DECIMAL travels as its text (`CAST(... AS CHAR)`), which always fits the declared DECIMAL(p,s);
- DATE and DATETIME travel as the server's number for them (`col + 0`: 20240131, 20240131083000,
  a DECIMAL with the fraction of a second), which DuckDB turns into the date or time; one that is not
  a calendar day is flagged with its value, so its row is quarantined with the reason. (Formatting
  them as text cost the server more CPU than the whole rest of the SELECT.)

Describe: DuckDB's mysql scanner DESCRIBEs the table or query (LIMIT 0: no rows read), the one thing
it still does here. connectorx shows only its own Arrow mapping of a result (every DECIMAL as
decimal128(38,10), TINYINT(1) as int8), and its connection pool retries a refused login for 30 s
where the scanner fails at once. DECIMAL wider than 38 digits is described as DOUBLE (DuckDB holds
no wider decimal) and read as such.

Memory: connectorx's stream has no back-pressure, so its batches go at once into a local Arrow file
(`ingestion.spool`) that DuckDB reads behind it; a second pass (rows to quarantine) reads that file again.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote as url_quote

import duckdb

from ingestion.catalog import DatasetEntry
from ingestion.connections import ConnectionInfo, SourceConnectionError, get_connection
from ingestion.kinds import Delivery, LedgerView, Pending
from ingestion.kinds.relational import (
    SOURCE_ROW,
    CursorFilter,
    Dialect,
    Plan,
    cursor_filter,
    cursor_text,
    cursor_value,
    duck_ident,
    pending_relational,
    probe_source_columns,
    secret_statement,
    server_query,
    sql_string,
)
from ingestion.spool import ArrowSpool
from ingestion.zones import Zones

log = logging.getLogger(__name__)

DEFAULT_PORT = 3306
BATCH_ROWS = 10_000  # rows per connectorx batch (its default; 64k batches measured slower to first row)
SOURCE_ALIAS = "`_src`"  # the table or query in the SELECT sent to the server
# The time zone of the SELECT: WITA, which has no daylight saving, so a TIMESTAMP arrives as WITA wall time,
# like a DATETIME (see `server_select`). MariaDB runs the executable comment, MySQL 8 the optimizer hint.
SESSION_TIME_ZONE = "+08:00"
WITA_SELECT = (f"/*M!100300 SET STATEMENT time_zone = '{SESSION_TIME_ZONE}' FOR */ "
               f"SELECT /*+ SET_VAR(time_zone = '{SESSION_TIME_ZONE}') */")

_MYSQL_TYPES = {
    "TIMESTAMP": "DATETIME(6)", "TIMESTAMP WITH TIME ZONE": "DATETIME(6)", "DATE": "DATE",
    "TINYINT": "SIGNED", "SMALLINT": "SIGNED", "INTEGER": "SIGNED", "BIGINT": "SIGNED",
    "UTINYINT": "UNSIGNED", "USMALLINT": "UNSIGNED", "UINTEGER": "UNSIGNED", "UBIGINT": "UNSIGNED",
    "DOUBLE": "DOUBLE",
}
# Described types connectorx delivers as they are (an integer of another width is cast by DuckDB).
_NATIVE = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "BLOB"}
_VALUE_WORDS = {"DATE": "date", "TIMESTAMP": "date and time"}


def attach(conn: ConnectionInfo, alias: str) -> list[str]:
    """The scanner's ATTACH, for the DESCRIBE probe only (see the module docstring)."""
    secret = f"{alias}_secret"
    return [
        secret_statement(secret, "mysql", {
            "HOST": conn.host or "127.0.0.1", "PORT": conn.port or DEFAULT_PORT,
            "DATABASE": conn.schema, "USER": conn.login, "PASSWORD": conn.password,
        }),
        f"ATTACH '' AS {duck_ident(alias)} (TYPE mysql, SECRET {duck_ident(secret)}, READ_ONLY)",
    ]


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def server_literal(value: object, duck_type: str) -> str:
    """`CAST('2024-01-01 08:00:00' AS DATETIME(6))`: never a bare string (MySQL would compare numbers as doubles)."""
    typed = cursor_value(value, duck_type)
    base = duck_type.upper()
    if base.startswith("DECIMAL"):
        return f"CAST({sql_string(str(typed))} AS {base})"
    text = cursor_text(typed)
    if base not in _MYSQL_TYPES:
        return sql_string(text)
    return f"CAST({sql_string(text)} AS {_MYSQL_TYPES[base]})"


DIALECT = Dialect(
    kind="mysql", extension="mysql_scanner", attach=attach, query_function="mysql_query",
    quote=quote, server_literal=server_literal,
)


def pending_sources(entry: DatasetEntry, zones: Zones, ledger: LedgerView) -> Iterator[Pending]:
    """At most one delivery: the table/query, or its rows with cursor >= the saved cursor."""
    return pending_relational(entry, ledger, DIALECT, read=read_delivery)


# --- What is sent to the server -------------------------------------------------------------------

@dataclass(frozen=True)
class ReadColumn:
    """One delivered column: how the server sends it and how DuckDB gets it to its described type."""

    name: str
    type: str  # the DuckDB type the scanner describes (`Delivery.columns`)
    server: str  # its expression in the SELECT sent to the server
    route: str = "native"  # native, text (a DECIMAL), packed (DATE/DATETIME as a number), checked_text

    @property
    def checked(self) -> bool:
        """Whether a value may not convert (then its row is flagged)."""
        return self.route in ("packed", "checked_text")


def read_column(name: str, duck_type: str) -> ReadColumn:
    """How one described column travels (see the module docstring)."""
    column = f"{SOURCE_ALIAS}.{quote(name)}"
    base = duck_type.upper().split("(")[0]
    if base in _NATIVE or base == "BOOLEAN":  # BOOLEAN: TINYINT(1), or BIT(1), which arrives as one byte
        return ReadColumn(name, duck_type, column)
    if base == "VARCHAR":  # also TIME, JSON, ENUM, SET; connectorx has no TIME beyond 24 h
        return ReadColumn(name, duck_type, f"CAST({column} AS CHAR)")
    if base == "DOUBLE":  # also a DECIMAL wider than 38 digits, which connectorx cannot hold
        return ReadColumn(name, duck_type, f"CAST({column} AS DOUBLE)")
    if base == "DECIMAL":
        return ReadColumn(name, duck_type, f"CAST({column} AS CHAR)", "text")
    if duck_type.upper() in ("DATE", "TIMESTAMP"):
        return ReadColumn(name, duck_type, f"({column} + 0)", "packed")
    return ReadColumn(name, duck_type, f"CAST({column} AS CHAR)", "checked_text")


def server_select(plan: Plan, columns: list[ReadColumn], cursor: CursorFilter | None) -> str:
    """The one SELECT connectorx runs: every column as `read_column` sends it, the cursor filter and order.

    It runs in WITA (`WITA_SELECT`): a TIMESTAMP is an instant the server shows in the session's time zone,
    which is the server's `time_zone` (often UTC) unless set, and the scanner describes it as a TIMESTAMP
    without zone, like a DATETIME; in WITA it reads as the wall time every zoneless source timestamp is, the
    saved cursor compares with it in WITA too, and a query's expression on it (`+ INTERVAL 1 DAY`, `NOW()`)
    is computed in Paser's time. A DATETIME does not depend on the session."""
    if plan.spec.table:
        source = ".".join(quote(part) for part in plan.spec.table.split("."))
    else:
        source = f"({server_query(plan)})"
    select = ", ".join(f"{column.server} AS {quote(column.name)}" for column in columns)
    sql = f"{WITA_SELECT} {select} FROM {source} AS {SOURCE_ALIAS}"
    if cursor is not None:
        # Qualified: the select list's aliases (texts for dates and decimals) would win in ORDER BY.
        key = f"{SOURCE_ALIAS}.{quote(cursor.column)}"
        predicate = cursor.predicate(key, server_literal)
        sql += f" WHERE {predicate}" if predicate else ""
        sql += f" ORDER BY {key}" if cursor.value is not None else ""
    return sql


def connectorx_uri(conn: ConnectionInfo) -> str:
    """`mysql://user:password@host:port/database`, percent-encoded. Holds the password: never log it."""
    user = url_quote(conn.login or "", safe="")
    auth = f"{user}:{url_quote(conn.password, safe='')}@" if conn.password else (f"{user}@" if user else "")
    return f"mysql://{auth}{conn.host or '127.0.0.1'}:{conn.port or DEFAULT_PORT}/{url_quote(conn.schema or '', safe='')}"


# --- The delivery ---------------------------------------------------------------------------------

def read_delivery(plan: Plan) -> Delivery:
    """Describe the source (this also proves the credentials); the Delivery, which reads when landed."""
    conn = get_connection(plan.spec.connection)
    probe = probe_source_columns(plan, conn)
    described = probe.columns
    columns = [read_column(name, type_) for name, type_ in described.items()]
    cursor = cursor_filter(plan, described, probe.null_cursor)
    null_cursor = cursor if cursor is not None and cursor.nulls else None  # its rows are read and flagged
    select = server_select(plan, columns, cursor)
    opened: list[tuple[duckdb.DuckDBPyConnection, str, ArrowSpool]] = []

    def relation(con: duckdb.DuckDBPyConnection) -> str:
        spool = _start(plan, conn, select)
        name = f"src_mysql_{uuid.uuid4().hex[:12]}"
        opened.append((con, name, spool))
        con.register(name, spool.reader().__arrow_c_stream__())  # a capsule: a reader object makes DuckDB import pandas
        sent = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {duck_ident(name)}").fetchall()}
        spool.start()
        return from_stream(name, columns, sent, null_cursor)

    def rewind(con: duckdb.DuckDBPyConnection) -> None:
        for owner, name, spool in opened:
            if owner is con:
                con.register(name, spool.reader().__arrow_c_stream__())

    def close() -> None:
        while opened:
            con, name, spool = opened.pop()
            spool.close()
            try:
                con.unregister(name)
            except duckdb.Error as exc:  # the core may have closed its connection already
                log.debug("%s: unregister %s: %s", plan.label, name, exc)

    return Delivery(
        label=plan.label, sheet=None, position="record", header_row=None, columns=described,
        relation=relation, typed=True, flagged=null_cursor is not None or any(column.checked for column in columns),
        close=close, rewind=rewind,
    )


def _start(plan: Plan, conn: ConnectionInfo, select: str) -> ArrowSpool:
    """Run the SELECT through connectorx, to be spooled to a temporary file (`start()` the spool)."""
    import connectorx

    try:
        batches = connectorx.read_sql(connectorx_uri(conn), select, return_type="arrow_stream", batch_size=BATCH_ROWS)
    except BaseException as exc:  # noqa: BLE001 - connectorx reports some failures as a pyo3 PanicException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise SourceConnectionError(
            f"{plan.label} (connection '{conn.conn_id}'): cannot read the source: {conn.mask(str(exc))}"
        ) from None
    handle, name = tempfile.mkstemp(prefix="satudata-mysql-", suffix=".arrows")
    os.close(handle)
    return ArrowSpool(batches, Path(name), plan.label)


def from_stream(name: str, columns: list[ReadColumn], sent: dict[str, str], null_cursor: CursorFilter | None = None) -> str:
    """The FROM-expression over the registered stream: each column as its described type (`sent`: the
    types it arrives in), `_source_row`, and `_flag` for values that do not convert and, with `null_cursor`,
    for rows without a cursor value."""
    select: list[str] = []
    flags: list[str] = [null_cursor.flag(duck_ident(null_cursor.column))] if null_cursor is not None else []
    for column in columns:
        value = duck_ident(column.name)
        arrived = sent[column.name]
        if column.route == "packed":
            typed, text = unpack(value, column.type.upper(), arrived)
        elif column.route == "checked_text":
            typed, text = f"TRY_CAST({value} AS {column.type})", value
        elif column.type.upper() == "BOOLEAN" and arrived == "BLOB":
            typed = f"({value} <> '\\x00'::BLOB)"
        elif arrived != column.type:
            typed = f"CAST({value} AS {column.type})"
        else:
            typed = value  # a no-op CAST measurably slows the scan
        if column.checked:
            head = sql_string(f"{column.name}: '")
            tail = sql_string(f"' is not a valid {_VALUE_WORDS.get(column.type.upper(), column.type)}")
            flags.append(f"CASE WHEN {value} IS NOT NULL AND {typed} IS NULL THEN {head} || {text} || {tail} END")
        select.append(f"{typed} AS {value}")
    select.append(f"NULL::BIGINT AS {SOURCE_ROW}")
    if flags:
        select.append(f"nullif(concat_ws(chr(10), {', '.join(flags)}), '') AS _flag")
    return f"(SELECT {', '.join(select)} FROM {duck_ident(name)})"


def unpack(value: str, type_: str, arrived: str) -> tuple[str, str]:
    """(the DATE or TIMESTAMP, its text as MySQL writes it) of a number the server sent for it (see the
    module docstring); the value is NULL where the date is not a calendar day."""
    if arrived.startswith("DECIMAL"):  # DATETIME(n>0): 20240131083000.123456
        whole = f"CAST(trunc({value}) AS BIGINT)"
        micros = f"CAST(({value} - trunc({value})) * 1000000 AS BIGINT)"
    else:
        whole, micros = f"CAST({value} AS BIGINT)", None
    ymd = whole if type_ == "DATE" else f"({whole} // 1000000)"
    parts = [f"CAST({ymd} // 10000 AS INTEGER)", f"CAST({ymd} // 100 % 100 AS INTEGER)", f"CAST({ymd} % 100 AS INTEGER)"]
    day = f"try(make_date({', '.join(parts)}))"  # NULL for month 0, day 0, February 30...
    if type_ == "DATE":
        return day, f"printf('%04d-%02d-%02d', {', '.join(parts)})"
    clock = [f"({whole} // 10000 % 100)", f"({whole} // 100 % 100)", f"({whole} % 100)"]
    seconds = f"(({day} - DATE '1970-01-01') * 86400 + {clock[0]} * 3600 + {clock[1]} * 60 + {clock[2]})"
    typed = f"make_timestamp({seconds} * 1000000{' + ' + micros if micros else ''})"
    text = f"printf('%04d-%02d-%02d %02d:%02d:%02d', {', '.join(parts + clock)})"
    return typed, (f"{text} || printf('.%06d', {micros})" if micros else text)
