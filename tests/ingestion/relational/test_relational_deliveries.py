"""The relational kinds' deliveries against the real PostgreSQL and MariaDB (and an SQLite file)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.connections import SourceConnectionError
from tests.ingestion.relational.conftest import PENDUDUK_ROWS, penduduk_yaml
from tests.ingestion.relational.deliveries import parquet_types, read_once

EXPECTED_PARQUET = {
    "nik": "large_string",  # DuckDB writes VARCHAR as Parquet BYTE_ARRAY/UTF8, read by pyarrow as (large_)string
    "nama": "large_string",
    "tanggal_lahir": "date32[day]",
    "tunjangan": "decimal128(14, 2)",
    "aktif": "bool",
    "urutan": "int64",
    "updated_at": "timestamp[us]",
}


@pytest.mark.parametrize("server_name", ["pg", "maria"])
def test_snapshot_keeps_native_types_and_text_ids(server_name, request, penduduk_table, catalog_entry, tmp_path):
    server = request.getfixturevalue(server_name)
    table = penduduk_table(server)
    connection = "siak" if server.kind == "postgres" else "simpeg"
    entry = catalog_entry(penduduk_yaml(server.kind, connection, table=table, cursor=False))

    read = read_once(entry, parquet=tmp_path / "out.parquet")

    assert read.columns["tunjangan"] == "DECIMAL(14,2)"
    assert read.columns["tanggal_lahir"] == "DATE"
    assert read.columns["aktif"] == "BOOLEAN"
    rows = {row["nama"]: row for row in read.rows}
    assert len(rows) == len(PENDUDUK_ROWS)
    siti = rows["Siti Aminah"]
    assert siti["nik"] == "0064010101900001"  # leading zeros intact
    assert siti["tunjangan"] == Decimal("12345678901.23")
    assert str(siti["tunjangan"]) == "12345678901.23"
    assert siti["tanggal_lahir"] == dt.date(1990, 1, 1)
    assert siti["aktif"] is True
    assert siti["updated_at"] == dt.datetime(2026, 11, 1, 8, 0)
    assert all(row["_source_row"] is None for row in read.rows)  # database rows: messages name the key
    types = parquet_types(tmp_path / "out.parquet")
    for column, expected in EXPECTED_PARQUET.items():
        assert types[column].replace("large_", "") == expected.replace("large_", ""), column
    assert read.source["kind"] == server.kind and read.source["table"] == table
    assert "password" not in str(read.source)


@pytest.mark.parametrize("server_name", ["pg", "maria"])
def test_incremental_reads_from_the_saved_cursor_ordered(server_name, request, penduduk_table, catalog_entry):
    server = request.getfixturevalue(server_name)
    table = penduduk_table(server)
    connection = "siak" if server.kind == "postgres" else "simpeg"
    entry = catalog_entry(penduduk_yaml(server.kind, connection, table=table))

    everything = read_once(entry)
    later = read_once(entry, cursor_before="2026-11-02T08:00:00")

    assert len(everything.rows) == 3
    assert sorted(row["nama"] for row in later.rows) == ["Budi Santoso", "Rahmat Hidayat"]  # >=, not >
    assert later.source["cursor_from"] == "2026-11-02T08:00:00"
    cursors = [row["updated_at"] for row in read_once(entry, cursor_before="2000-01-01").rows]
    assert cursors == sorted(cursors)


def test_incremental_cursor_saved_in_utc_is_read_as_wita(pg, penduduk_table, catalog_entry):
    """A saved cursor with an offset is converted to WITA wall time for a column without zone."""
    table = penduduk_table(pg)
    entry = catalog_entry(penduduk_yaml("postgres", "siak", table=table))
    # 2026-11-02 00:00 UTC is 08:00 WITA: the two rows at 08:00 are read, the one of Nov 1 is not.
    read = read_once(entry, cursor_before="2026-11-02T00:00:00+00:00")
    assert sorted(row["nama"] for row in read.rows) == ["Budi Santoso", "Rahmat Hidayat"]


@pytest.mark.parametrize("server_name", ["pg", "maria"])
def test_query_is_wrapped_as_a_subquery_with_the_cursor(server_name, request, penduduk_table, catalog_entry):
    server = request.getfixturevalue(server_name)
    table = penduduk_table(server)
    connection = "siak" if server.kind == "postgres" else "simpeg"
    query = f"SELECT nik, nama, tanggal_lahir, tunjangan, aktif, urutan, updated_at FROM {table} WHERE urutan < 3"
    entry = catalog_entry(penduduk_yaml(server.kind, connection, query=query))

    read = read_once(entry, cursor_before="2026-11-02 08:00:00")

    assert [row["nama"] for row in read.rows] == ["Budi Santoso"]
    assert read.columns["tunjangan"] == "DECIMAL(14,2)"
    assert read.source["query"] == query and len(read.source["query_sha256"]) == 64


def test_unknown_database_names_the_connection_and_masks_the_password(pg, penduduk_table, catalog_entry, monkeypatch):
    table = penduduk_table(pg)
    monkeypatch.setenv("AIRFLOW_CONN_SIAK", "postgres://postgres:R4hasia%21@127.0.0.1:5432/tidak_ada_db")
    entry = catalog_entry(penduduk_yaml("postgres", "siak", table=table))
    with pytest.raises(SourceConnectionError) as caught:
        read_once(entry)
    message = str(caught.value)
    assert "connection 'siak'" in message and "tidak_ada_db" in message
    assert "R4hasia" not in message and "***" in message


def test_wrong_mariadb_password_names_the_connection_and_masks_it(maria, penduduk_table, catalog_entry, monkeypatch):
    table = penduduk_table(maria)
    monkeypatch.setenv("AIRFLOW_CONN_SIMPEG", "mysql://root:Salah%2FSandi@127.0.0.1:3306/test")
    entry = catalog_entry(penduduk_yaml("mysql", "simpeg", table=table))
    with pytest.raises(SourceConnectionError) as caught:
        read_once(entry)
    message = str(caught.value)
    assert "connection 'simpeg'" in message and "Access denied" in message
    assert "Salah" not in message and "Sandi" not in message


def test_missing_connection_says_which_variable_to_set(catalog_entry, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SIAK", raising=False)
    entry = catalog_entry(penduduk_yaml("postgres", "siak", table="penduduk"))
    with pytest.raises(SourceConnectionError, match=r"connection 'siak' is not defined: set .*AIRFLOW_CONN_SIAK"):
        read_once(entry)


def _sqlite_file(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE penduduk (nik varchar(16), nama text, tanggal_lahir date, tunjangan decimal(14,2), "
               "aktif boolean, urutan bigint, updated_at timestamp)")
    db.executemany("INSERT INTO penduduk VALUES (?, ?, ?, ?, ?, ?, ?)", PENDUDUK_ROWS)
    db.commit()
    db.close()
    return path


def test_sqlite_snapshot_and_incremental(tmp_path, catalog_entry, monkeypatch):
    path = _sqlite_file(tmp_path / "siak.db")
    monkeypatch.setenv("AIRFLOW_CONN_SIAK_LOKAL", f"sqlite:///{path}")
    entry = catalog_entry(penduduk_yaml("sqlite", "siak_lokal", table="penduduk"))

    read = read_once(entry, parquet=tmp_path / "out.parquet")
    later = read_once(entry, cursor_before="2026-11-02 08:00:00")

    siti = next(row for row in read.rows if row["nama"] == "Siti Aminah")
    assert siti["nik"] == "0064010101900001"
    assert siti["tunjangan"] == Decimal("12345678901.23")
    assert siti["tanggal_lahir"] == dt.date(1990, 1, 1)
    assert sorted(row["nama"] for row in later.rows) == ["Budi Santoso", "Rahmat Hidayat"]


def test_sqlite_missing_file_is_a_clear_error(tmp_path, catalog_entry, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SIAK_LOKAL", f"sqlite:///{tmp_path}/tidak_ada.db")
    entry = catalog_entry(penduduk_yaml("sqlite", "siak_lokal", table="penduduk"))
    with pytest.raises(SourceConnectionError, match=r"connection 'siak_lokal': SQLite file .*tidak_ada.db does not exist"):
        read_once(entry)
    assert not (tmp_path / "tidak_ada.db").exists()
