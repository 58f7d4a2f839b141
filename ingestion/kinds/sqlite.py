"""`source.kind: sqlite`: a table or query in an SQLite file, read by DuckDB's sqlite scanner.

The connection's host (or schema) is the file path (`AIRFLOW_CONN_X=sqlite:////srv/app/data.db`). It
is attached READ_ONLY; the cursor predicate is applied by DuckDB (the file is local, so there is
no server to push it to).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ingestion.catalog import DatasetEntry
from ingestion.connections import ConnectionInfo, SourceConnectionError
from ingestion.kinds import LedgerView, Pending
from ingestion.kinds.relational import Dialect, duck_ident, pending_relational, sql_string
from ingestion.zones import Zones


def database_path(conn: ConnectionInfo) -> Path:
    """The SQLite file named by the connection; it must exist (READ_ONLY never creates one)."""
    raw = conn.host or conn.schema
    if not raw:
        raise SourceConnectionError(f"connection '{conn.conn_id}': no SQLite file path (use sqlite:////path/to/file.db)")
    path = Path(raw)
    if not path.is_file():
        raise SourceConnectionError(f"connection '{conn.conn_id}': SQLite file {raw} does not exist")
    return path


def attach(conn: ConnectionInfo, alias: str) -> list[str]:
    path = database_path(conn)
    return [f"ATTACH {sql_string(str(path))} AS {duck_ident(alias)} (TYPE sqlite, READ_ONLY)"]


# A double holds 15 significant digits exactly: up to that precision the declared decimal is recovered
# exactly from SQLite's REAL; a wider declared decimal stays DOUBLE and is refused by the contract check.
EXACT_DOUBLE_DIGITS = 15
_DECIMAL_RE = re.compile(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", re.IGNORECASE)


def declared_types(conn: ConnectionInfo, table: str, columns: dict[str, str]) -> dict[str, str]:
    """The scanner's types, corrected by the table's declared types (decimal(p,s) and boolean)."""
    uri = f"{database_path(conn).as_uri()}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        declared = {row[1]: str(row[2] or "") for row in db.execute(f"PRAGMA table_info({quote(table)})")}
    refined = dict(columns)
    for name, type_ in columns.items():
        text = declared.get(name, "")
        decimal = _DECIMAL_RE.fullmatch(text.strip())
        if decimal and type_ == "DOUBLE" and int(decimal.group(1)) <= EXACT_DOUBLE_DIGITS:
            refined[name] = f"DECIMAL({decimal.group(1)},{decimal.group(2) or 0})"
        elif text.strip().upper() in ("BOOLEAN", "BOOL") and type_ == "BIGINT":
            refined[name] = "BOOLEAN"
    return refined


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


DIALECT = Dialect(
    kind="sqlite", extension="sqlite_scanner", attach=attach, query_function="sqlite_query",
    quote=quote, server_literal=None, declared_types=declared_types,
)


def pending_sources(entry: DatasetEntry, zones: Zones, ledger: LedgerView) -> Iterator[Pending]:
    """At most one delivery: the table/query, or its rows with cursor >= the saved cursor."""
    return pending_relational(entry, ledger, DIALECT)
