"""`source.kind: mysql`: a table or query in an agency's MySQL/MariaDB, read by DuckDB's mysql scanner.

Chosen over connectorx (measured on 1M rows, 2 cores): the scanner streams with flat memory (~120 MB
RSS against ~460 MB for connectorx's arrow stream consumed by DuckDB), keeps decimal(p,s) exact where
connectorx returns decimal(38,10), pushes the cursor predicate and ORDER BY down to the server, and
was as fast end to end (0.2-0.25M rows/s against 0.2-0.3M).
"""

from __future__ import annotations

from collections.abc import Iterator

from ingestion.catalog import DatasetEntry
from ingestion.connections import ConnectionInfo
from ingestion.kinds import LedgerView, Pending
from ingestion.kinds.relational import Dialect, cursor_value, duck_ident, pending_relational, secret_statement, sql_string
from ingestion.zones import Zones

DEFAULT_PORT = 3306

_MYSQL_TYPES = {
    "TIMESTAMP": "DATETIME(6)", "TIMESTAMP WITH TIME ZONE": "DATETIME(6)", "DATE": "DATE",
    "TINYINT": "SIGNED", "SMALLINT": "SIGNED", "INTEGER": "SIGNED", "BIGINT": "SIGNED",
    "UTINYINT": "UNSIGNED", "USMALLINT": "UNSIGNED", "UINTEGER": "UNSIGNED", "UBIGINT": "UNSIGNED",
    "DOUBLE": "DOUBLE",
}


def attach(conn: ConnectionInfo, alias: str) -> list[str]:
    secret = f"{alias}_secret"
    return [
        # The scanner's MAX_EXECUTION_TIME hint (at most 5 min) would kill a long extraction on MySQL 8,
        # and SQL_BUFFER_RESULT makes the server copy the whole result into a temp table before sending it.
        "SET mysql_query_timeout_enabled = false",
        "SET mysql_sql_buffer_result = false",
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
    text = typed.isoformat(sep=" ") if hasattr(typed, "isoformat") and not isinstance(typed, str) else str(typed)
    if base not in _MYSQL_TYPES:
        return sql_string(text)
    return f"CAST({sql_string(text)} AS {_MYSQL_TYPES[base]})"


DIALECT = Dialect(
    kind="mysql", extension="mysql_scanner", attach=attach, query_function="mysql_query",
    quote=quote, server_literal=server_literal,
)


def pending_sources(entry: DatasetEntry, zones: Zones, ledger: LedgerView) -> Iterator[Pending]:
    """At most one delivery: the table/query, or its rows with cursor >= the saved cursor."""
    return pending_relational(entry, ledger, DIALECT)
