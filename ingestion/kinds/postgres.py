"""`source.kind: postgres`: a table or query in an agency's PostgreSQL, read by DuckDB's postgres scanner.

The scanner reads a table in parallel ctid ranges with the cursor predicate pushed down, over one
exported snapshot (REPEATABLE READ), in binary COPY: about 1M rows/s here, with exact types. A table
with a `numeric` without precision is read by one SELECT on the server instead, which sends that column as
its text (`text_numbers`): the scanner reads it as a double.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from ingestion.catalog import DatasetEntry
from ingestion.connections import ConnectionInfo, SourceConnectionError
from ingestion.kinds import LedgerView, Pending
from ingestion.kinds.relational import (
    Dialect,
    Plan,
    cursor_text,
    cursor_value,
    duck_ident,
    pending_relational,
    secret_statement,
    server_source,
    sql_string,
)
from ingestion.zones import Zones

DEFAULT_PORT = 5432
CONNECT_TIMEOUT_SECONDS = 10
# libpq settings an Airflow connection's `extra` may carry into the connection string.
LIBPQ_EXTRAS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name", "options")

_PG_TYPES = {
    "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz", "DATE": "date", "VARCHAR": "text",
    "TINYINT": "smallint", "SMALLINT": "smallint", "INTEGER": "integer", "BIGINT": "bigint", "HUGEINT": "numeric",
    "DOUBLE": "double precision", "FLOAT": "real",
}


def attach(conn: ConnectionInfo, alias: str) -> list[str]:
    secret = f"{alias}_secret"
    options = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **{k: conn.extra[k] for k in LIBPQ_EXTRAS if k in conn.extra}}
    dsn = " ".join(f"{key}={_libpq_value(str(value))}" for key, value in options.items())
    return [
        secret_statement(secret, "postgres", {
            "HOST": conn.host or "127.0.0.1", "PORT": conn.port or DEFAULT_PORT,
            "DATABASE": conn.schema or "postgres", "USER": conn.login, "PASSWORD": conn.password,
        }),
        f"ATTACH {sql_string(dsn)} AS {duck_ident(alias)} (TYPE postgres, SECRET {duck_ident(secret)}, READ_ONLY)",
    ]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def server_literal(value: object, duck_type: str) -> str:
    """`CAST('2024-01-01 08:00:00' AS timestamp)`: the saved cursor typed like the column, in PostgreSQL."""
    text = cursor_text(cursor_value(value, duck_type))
    base = duck_type.upper()
    pg_type = "numeric" if base.startswith("DECIMAL") else _PG_TYPES.get(base, "text")
    return f"CAST({sql_string(text)} AS {pg_type})"


def text_numbers(con: duckdb.DuckDBPyConnection, plan: Plan, alias: str, columns: dict[str, str]) -> frozenset[str]:
    """The DOUBLE columns PostgreSQL calls `numeric`: without precision (or wider than DuckDB's 38 digits),
    which the scanner reads as a double, losing digits beyond the 15th. One query over the table or
    query's types: pg_typeof of its columns on a LIMIT 0 (no row is read), outer-joined to one row."""
    doubles = [name for name, type_ in columns.items() if type_ == "DOUBLE"]
    types = ", ".join(f"pg_typeof(_z.{quote(name)})::text AS t{index}" for index, name in enumerate(doubles))
    sql = f"SELECT {types} FROM (SELECT * FROM {server_source(plan)} LIMIT 0) AS _z RIGHT JOIN (SELECT 1) AS _one ON true"
    try:
        row = con.execute(f"SELECT * FROM postgres_query({sql_string(alias)}, {sql_string(sql)})").fetchone()
    except duckdb.Error as exc:
        raise SourceConnectionError(f"{plan.label}: cannot read the column types: {exc}") from None
    assert row is not None  # the outer join gives one row
    return frozenset(name for name, pg_type in zip(doubles, row, strict=True) if pg_type == "numeric")


def _libpq_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


DIALECT = Dialect(
    kind="postgres", extension="postgres_scanner", attach=attach, query_function="postgres_query",
    quote=quote, server_literal=server_literal, text_numbers=text_numbers,
)


def pending_sources(entry: DatasetEntry, zones: Zones, ledger: LedgerView) -> Iterator[Pending]:
    """At most one delivery: the table/query, or its rows with cursor >= the saved cursor."""
    return pending_relational(entry, ledger, DIALECT)
