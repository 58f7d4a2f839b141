"""Fixtures for the relational kinds: the real PostgreSQL and MariaDB on loopback, tables made per test.

Tables are created and dropped through the same DuckDB scanners the kinds use (`postgres_execute`,
`mysql_execute`), so the tests need no other database driver. Every table name is unique per run.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from ingestion.catalog import DatasetEntry, load_catalog
from ingestion.kinds.relational import load_extension, sql_string

PG_URI = "postgres://postgres@127.0.0.1:5432/test"
MYSQL_URI = "mysql://root@127.0.0.1:3306/test"


@dataclass
class Server:
    """One real database server, reached through a DuckDB scanner with write access (tests only)."""

    kind: str
    con: duckdb.DuckDBPyConnection
    execute_function: str
    created: list[str]

    def execute(self, sql: str) -> None:
        self.con.execute(f"CALL {self.execute_function}('db', {sql_string(sql)})")

    def table(self, prefix: str = "t") -> str:
        """A fresh table name, dropped after the test."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.created.append(name)
        return name

    def drop_all(self) -> None:
        for name in self.created:
            self.execute(f"DROP TABLE IF EXISTS {name}")


def _server(kind: str, extension: str, attach: str, execute_function: str) -> Iterator[Server]:
    con = duckdb.connect()
    load_extension(con, extension)
    try:
        con.execute(attach)
    except duckdb.Error as exc:
        pytest.fail(f"the {kind} server on loopback is not reachable: {exc}")
    server = Server(kind, con, execute_function, [])
    try:
        yield server
    finally:
        server.drop_all()
        con.close()


@pytest.fixture
def pg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """PostgreSQL 127.0.0.1:5432 db test; AIRFLOW_CONN_SIAK points at it."""
    monkeypatch.setenv("AIRFLOW_CONN_SIAK", PG_URI)
    yield from _server(
        "postgres", "postgres_scanner",
        "ATTACH 'host=127.0.0.1 port=5432 user=postgres dbname=test' AS db (TYPE postgres)", "postgres_execute",
    )


@pytest.fixture
def maria(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """MariaDB 127.0.0.1:3306 db test; AIRFLOW_CONN_SIMPEG points at it."""
    monkeypatch.setenv("AIRFLOW_CONN_SIMPEG", MYSQL_URI)
    yield from _server(
        "mysql", "mysql_scanner",
        "ATTACH 'host=127.0.0.1 port=3306 user=root database=test' AS db (TYPE mysql)", "mysql_execute",
    )


# --- Catalog entries --------------------------------------------------------------------------

METADATA = """\
    metadata:
      judul: Data uji konektor relasional
      definisi: Data uji untuk konektor basis data
      konsep: Data uji
      satuan: baris
      ukuran: jumlah
      produsen_data: Dinas Kependudukan dan Pencatatan Sipil Kabupaten Paser
      walidata: Dinas Komunikasi dan Informatika Kabupaten Paser
      frekuensi: harian
      akses: tertutup
      tingkat_penyajian: unit
      lisensi: CC-BY-4.0
"""

PENDUDUK_COLUMNS = """\
        nik:
          type: text
          description: Nomor Induk Kependudukan, 16 digit
          nullable: false
          pattern: "[0-9]{16}"
          personal: nik
        nama:
          type: text
          description: Nama lengkap penduduk
          nullable: false
        tanggal_lahir:
          type: date
          description: Tanggal lahir
        tunjangan:
          type: decimal
          description: Nilai tunjangan dalam rupiah
        aktif:
          type: boolean
          description: Apakah data masih aktif
        urutan:
          type: integer
          description: Nomor urut pencatatan
        updated_at:
          type: timestamp
          description: Waktu perubahan terakhir di sistem sumber
"""


def penduduk_yaml(kind: str, connection: str, *, table: str | None = None, query: str | None = None,
                  cursor: bool = True, name: str = "penduduk") -> str:
    """A `disdukcapil` catalog file with one relational dataset over the penduduk test table."""
    where = f"table: {table}" if table else f"query: {sql_yaml(query or '')}"
    cursor_line = "    cursor: updated_at\n" if cursor else ""
    return (
        "agency:\n  code: disdukcapil\n  name: Dinas Kependudukan dan Pencatatan Sipil Kabupaten Paser\n"
        "  abbreviation: Disdukcapil\n\ndatasets:\n"
        f"  {name}:\n"
        "    title: Data penduduk (uji)\n"
        "    owner: Bidang Pengelolaan Informasi Administrasi Kependudukan\n"
        f"    source:\n      kind: {kind}\n      connection: {connection}\n      {where}\n"
        "    primary_key: [nik]\n"
        f"{cursor_line}"
        "    trigger:\n      by: schedule\n      schedule: \"@daily\"\n"
        "    contract:\n      columns:\n"
        f"{PENDUDUK_COLUMNS}"
        f"{METADATA}"
    )


def sql_yaml(sql: str) -> str:
    return '"' + sql.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def catalog_entry(tmp_path: Path) -> Callable[..., DatasetEntry]:
    """Write a catalog YAML into a tmp folder and load it with load_catalog: the dataset's entry."""
    folder = tmp_path / "catalog"
    folder.mkdir()

    def make(text: str) -> DatasetEntry:
        (folder / "disdukcapil.yml").write_text(textwrap.dedent(text), encoding="utf-8")
        return load_catalog(folder).datasets[0]

    return make


PENDUDUK_PG = """CREATE TABLE {name} (
    nik varchar(16) {nik_null}, nama text NOT NULL, tanggal_lahir date, tunjangan numeric(14,2),
    aktif boolean, urutan bigint, updated_at timestamp NOT NULL, PRIMARY KEY (nama))"""
PENDUDUK_MYSQL = """CREATE TABLE {name} (
    nik varchar(16) {nik_null}, nama varchar(100) NOT NULL, tanggal_lahir date, tunjangan decimal(14,2),
    aktif boolean, urutan bigint, updated_at datetime(6) NOT NULL, PRIMARY KEY (nama))"""

PENDUDUK_ROWS = [
    ("0064010101900001", "Siti Aminah", "1990-01-01", "12345678901.23", True, 1, "2026-11-01 08:00:00"),
    ("6401020202850002", "Budi Santoso", "1985-02-02", "0.10", False, 2, "2026-11-02 08:00:00"),
    ("6401030303700003", "Rahmat Hidayat", None, "-5.00", None, 3, "2026-11-02 08:00:00"),
]


def penduduk_sqlite(path: Path, rows: list[tuple] = PENDUDUK_ROWS) -> Path:
    """An SQLite agency database at `path` with the penduduk table (declared decimal and boolean types).

    Written under another name and renamed into place: a reader (the probe) never sees the table empty.
    """
    scratch = path.with_name(f".{path.name}.new")
    with contextlib.closing(sqlite3.connect(scratch)) as db, db:
        db.execute("CREATE TABLE penduduk (nik varchar(16), nama text, tanggal_lahir date, tunjangan decimal(14,2), "
                   "aktif boolean, urutan bigint, updated_at timestamp)")
        db.executemany("INSERT INTO penduduk VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    os.replace(scratch, path)
    return path


def insert_rows(server: Server, table: str, rows: list[tuple]) -> None:
    values = ", ".join("(" + ", ".join(_literal(server, v) for v in row) + ")" for row in rows)
    server.execute(f"INSERT INTO {table} (nik, nama, tanggal_lahir, tunjangan, aktif, urutan, updated_at) VALUES {values}")


def _literal(server: Server, value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


@pytest.fixture
def penduduk_table() -> Callable[..., str]:
    """Create a penduduk table on a server with PENDUDUK_ROWS (or the given rows); returns its name."""

    def make(server: Server, rows: list[tuple] | None = None, nik_nullable: bool = True) -> str:
        name = server.table("penduduk")
        template = PENDUDUK_PG if server.kind == "postgres" else PENDUDUK_MYSQL
        server.execute(template.format(name=name, nik_null="" if nik_nullable else "NOT NULL"))
        insert_rows(server, name, PENDUDUK_ROWS if rows is None else rows)
        return name

    return make
