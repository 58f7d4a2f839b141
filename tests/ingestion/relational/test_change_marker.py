"""The change marker a `trigger.by: poll` dataset is probed with, on the real PostgreSQL and MariaDB and on SQLite.

Equal markers mean nothing to load; a new, changed or deleted row moves the marker. With a cursor the server
computes count and max(cursor); without one DuckDB sums row hashes over the table.
"""

from __future__ import annotations

import sqlite3

import pytest

from ingestion.catalog import CatalogError
from ingestion.connections import SourceConnectionError
from ingestion.kinds.relational import change_marker
from tests.ingestion.relational.conftest import insert_rows, penduduk_sqlite, penduduk_yaml

NEW_ROW = ("6401040404950004", "Dewi Lestari", "1995-04-04", "1.00", True, 4, "2026-11-03 08:00:00")


def poll_yaml(kind: str, connection: str, **where: object) -> str:
    return penduduk_yaml(kind, connection, **where).replace(
        '    trigger:\n      by: schedule\n      schedule: "@daily"\n', "    trigger:\n      by: poll\n      poll_seconds: 1\n"
    )


@pytest.fixture(params=["postgres", "mysql"])
def server(request: pytest.FixtureRequest):
    return request.getfixturevalue("pg" if request.param == "postgres" else "maria")


def _connection(server) -> str:
    return "siak" if server.kind == "postgres" else "simpeg"


def test_the_marker_moves_with_every_change_at_the_server(server, penduduk_table, catalog_entry):
    table = penduduk_table(server)
    entry = catalog_entry(poll_yaml(server.kind, _connection(server), table=table))
    first = change_marker(entry)
    assert first[0] == "3" and first[1].startswith("2026-11-02 08:00:00")
    assert change_marker(entry) == first  # unchanged data: the same marker, so nothing fires

    insert_rows(server, table, [NEW_ROW])
    inserted = change_marker(entry)
    assert inserted[0] == "4" and inserted[1].startswith("2026-11-03 08:00:00")

    server.execute(f"UPDATE {table} SET tunjangan = 2.00, updated_at = '2026-11-04 09:30:00' WHERE nama = 'Budi Santoso'")
    updated = change_marker(entry)
    assert updated[0] == "4" and updated[1].startswith("2026-11-04 09:30:00")

    server.execute(f"DELETE FROM {table} WHERE nama = 'Siti Aminah'")
    assert change_marker(entry)[0] == "3"


def test_a_query_source_is_probed_on_the_server(server, penduduk_table, catalog_entry):
    table = penduduk_table(server)
    entry = catalog_entry(poll_yaml(server.kind, _connection(server), query=f"SELECT * FROM {table} WHERE urutan >= 2"))
    assert change_marker(entry)[0] == "2"
    server.execute(f"UPDATE {table} SET urutan = 5, updated_at = '2026-11-05 00:00:00' WHERE nama = 'Siti Aminah'")
    assert change_marker(entry)[0] == "3"


def test_a_cursor_column_spelled_in_upper_case_at_the_server_is_probed(pg, catalog_entry):
    # PostgreSQL keeps a quoted name's case: "UPDATED_AT" is not updated_at in its SQL, while the ingest
    # matches the catalog's `cursor: updated_at` to it without regard to case.
    table = pg.table("penduduk")
    pg.execute(f'CREATE TABLE {table} (nik varchar(16), nama text, tanggal_lahir date, tunjangan numeric(14,2), '
               f'aktif boolean, urutan bigint, "UPDATED_AT" timestamp NOT NULL)')
    pg.execute(f"INSERT INTO {table} VALUES ('6401020202850002', 'Budi Santoso', '1985-02-02', 0.10, false, 2, "
               f"'2026-11-02 08:00:00')")
    entry = catalog_entry(poll_yaml("postgres", "siak", table=table))
    first = change_marker(entry)
    assert first[0] == "1" and first[1].startswith("2026-11-02 08:00:00")

    pg.execute(f"""UPDATE {table} SET "UPDATED_AT" = '2026-11-04 09:30:00' WHERE nama = 'Budi Santoso'""")
    updated = change_marker(entry)
    assert updated[0] == "1" and updated[1].startswith("2026-11-04 09:30:00")


def test_a_cursor_column_missing_at_the_server_is_named_with_the_columns_there(server, catalog_entry):
    table = server.table("penduduk")
    server.execute(f"CREATE TABLE {table} (nik varchar(16), nama varchar(100), diubah_pada timestamp)")
    entry = catalog_entry(poll_yaml(server.kind, _connection(server), table=table))
    with pytest.raises(SourceConnectionError,
                       match=r"disdukcapil__penduduk .*the cursor column 'updated_at' .*; found: nik, nama, diubah_pada$"):
        change_marker(entry)


def test_without_a_cursor_a_changed_value_moves_the_row_hash(tmp_path, catalog_entry, monkeypatch):
    path = penduduk_sqlite(tmp_path / "siak.db")
    monkeypatch.setenv("AIRFLOW_CONN_SIAK_LOKAL", f"sqlite:///{path}")
    entry = catalog_entry(poll_yaml("sqlite", "siak_lokal", table="penduduk", cursor=False))
    before = change_marker(entry)
    assert before[0] == "3" and change_marker(entry) == before

    with sqlite3.connect(path) as db:  # same count, same updated_at: only a value changed
        db.execute("UPDATE penduduk SET tunjangan = 7.5 WHERE nama = 'Budi Santoso'")
    after = change_marker(entry)
    assert after[0] == "3" and after[1] != before[1]


def test_a_missing_database_is_a_connection_error_naming_it(tmp_path, catalog_entry, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SIAK_LOKAL", f"sqlite:///{tmp_path / 'belum_ada.db'}")
    entry = catalog_entry(poll_yaml("sqlite", "siak_lokal", table="penduduk"))
    with pytest.raises(SourceConnectionError, match="belum_ada.db does not exist"):
        change_marker(entry)


def test_poll_is_refused_for_a_source_without_a_change_marker(catalog_entry):
    text = poll_yaml("sqlite", "siak_lokal", table="penduduk").replace(
        "    source:\n      kind: sqlite\n      connection: siak_lokal\n      table: penduduk\n",
        "    source:\n      kind: file\n      pattern: \"penduduk*.csv\"\n      format: csv\n",
    )
    with pytest.raises(CatalogError, match="by: poll.*'file' source has none: use 'by: file_drop'"):
        catalog_entry(text)
