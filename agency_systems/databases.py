"""Write a demo agency system's tables into a real database: SQLite (embedded), PostgreSQL or MariaDB.

The generators build Arrow tables; `write_tables` puts them where the agency keeps them, through
DuckDB (its own sqlite/postgres/mysql scanners, loaded offline), so no other database driver is
needed. Column types are declared explicitly (`ddl`), because an agency's schema says
`DECIMAL(16,2)` and `VARCHAR(16)` and the connectors must cope with what the server says, not with
what Arrow would have guessed.

    write_tables("sqlite:////tmp/siak.db", {"penduduk": table}, ddl={"penduduk": {"nik": "VARCHAR(16)", ...}})
    write_tables("postgres://postgres@127.0.0.1:5432/test", ...)   # tests only: real servers on loopback
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

import duckdb
import pyarrow as pa

from ingestion.kinds.relational import duck_ident, load_extension, sql_string

log = logging.getLogger(__name__)


def _attach(con: duckdb.DuckDBPyConnection, uri: str) -> str:
    """ATTACH the target as `target`; returns its kind (sqlite, postgres, mysql)."""
    parts = urlsplit(uri)
    scheme = {"postgresql": "postgres", "mariadb": "mysql"}.get(parts.scheme, parts.scheme)
    if scheme == "sqlite":
        path = Path(unquote(parts.path))
        path.parent.mkdir(parents=True, exist_ok=True)
        load_extension(con, "sqlite_scanner")
        con.execute(f"ATTACH {sql_string(str(path))} AS target (TYPE sqlite)")
    elif scheme == "postgres":
        load_extension(con, "postgres_scanner")
        dsn = (f"host={parts.hostname or '127.0.0.1'} port={parts.port or 5432} user={unquote(parts.username or 'postgres')} "
               f"dbname={parts.path.lstrip('/') or 'postgres'}")
        if parts.password:
            dsn += f" password={unquote(parts.password)}"
        con.execute(f"ATTACH {sql_string(dsn)} AS target (TYPE postgres)")
    elif scheme == "mysql":
        load_extension(con, "mysql_scanner")
        dsn = (f"host={parts.hostname or '127.0.0.1'} port={parts.port or 3306} user={unquote(parts.username or 'root')} "
               f"database={parts.path.lstrip('/') or 'test'}")
        if parts.password:
            dsn += f" password={unquote(parts.password)}"
        con.execute(f"ATTACH {sql_string(dsn)} AS target (TYPE mysql)")
    else:
        raise ValueError(f"{uri}: unsupported database scheme '{parts.scheme}' (sqlite, postgres, mysql)")
    return scheme


def write_tables(
    uri: str,
    tables: Mapping[str, pa.Table],
    *,
    ddl: Mapping[str, Mapping[str, str]],
    replace: bool = True,
) -> None:
    """Create (or replace) each table with the declared column types and insert the rows.

    `ddl[table]` maps every column to its SQL type as the agency's schema declares it. An SQLite
    target file is written under a temporary name and renamed, so a reader never sees half a database.
    """
    parts = urlsplit(uri)
    final_path = Path(unquote(parts.path)) if parts.scheme == "sqlite" else None
    target_uri = uri
    tmp_sqlite: Path | None = None
    if final_path is not None:
        tmp_path = final_path.with_name(f".{final_path.name}.tmp-{os.getpid()}")
        tmp_path.unlink(missing_ok=True)
        if final_path.exists() and not replace:
            os.replace(final_path, tmp_path)
        target_uri = f"sqlite://{tmp_path}"
        tmp_sqlite = tmp_path
    con = duckdb.connect()
    try:
        _attach(con, target_uri)
        for name, table in tables.items():
            columns = ddl[name]
            missing = [c for c in table.column_names if c not in columns]
            if missing:
                raise ValueError(f"table {name}: no declared type for column(s) {', '.join(missing)}")
            if replace:
                con.execute(f"DROP TABLE IF EXISTS target.{duck_ident(name)}")
            column_sql = ", ".join(f"{duck_ident(col)} {columns[col]}" for col in table.column_names)
            if tmp_sqlite is not None:
                # DuckDB would create the SQLite table with its own bare types (VARCHAR, DOUBLE); the
                # agency's schema declares DECIMAL(16,2) and DATE, and the sqlite kind reads those back.
                con.execute("DETACH target")
                with sqlite3.connect(tmp_sqlite) as db:
                    db.execute(f"CREATE TABLE IF NOT EXISTS {duck_ident(name)} ({column_sql})")
                _attach(con, target_uri)
            else:
                con.execute(f"CREATE TABLE IF NOT EXISTS target.{duck_ident(name)} ({column_sql})")
            con.register("incoming", table)
            con.execute(f"INSERT INTO target.{duck_ident(name)} SELECT * FROM incoming")
            con.unregister("incoming")
            log.info("wrote %d rows into %s table %s", table.num_rows, parts.scheme, name)
        con.execute("DETACH target")
    finally:
        con.close()
    if final_path is not None:
        os.replace(tmp_path, final_path)


def execute(uri: str, statements: list[str], *, tables: Mapping[str, pa.Table] | None = None) -> None:
    """Run DuckDB SQL against the attached target (`target.<table>`): later changes such as births and deaths.

    `tables` are registered by name first, so a statement can `INSERT INTO target.t SELECT * FROM new_rows`.
    """
    con = duckdb.connect()
    try:
        _attach(con, uri)
        for name, table in (tables or {}).items():
            con.register(name, table)
        for statement in statements:
            con.execute(statement)
        con.execute("DETACH target")
    finally:
        con.close()


def read_table(uri: str, sql: str) -> pa.Table:
    """Run a DuckDB query against the attached target (`target.<table>`) and return the result."""
    con = duckdb.connect()
    try:
        _attach(con, uri)
        return con.execute(sql).fetch_arrow_table()
    finally:
        con.close()
