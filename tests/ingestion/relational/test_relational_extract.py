"""The relational kinds through `extract_load`, end to end, against the real PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

import ingestion.landing
from ingestion.errors import RejectedFile
from ingestion.extract import extract_load
from ingestion.ledger import batch_dir, committed_batches, dataset_dir
from tests.ingestion.relational.conftest import (
    PENDUDUK_MYSQL,
    PENDUDUK_PG,
    PENDUDUK_ROWS,
    insert_rows,
    penduduk_sqlite,
    penduduk_yaml,
)

UTC = dt.UTC


def _data(zones, entry, manifest) -> list[dict]:
    return pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "data.parquet").to_pylist()


def _quarantine(zones, entry, manifest) -> list[dict]:
    return pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "quarantine.parquet").to_pylist()


def _adds_up(manifest: dict) -> bool:
    return manifest["rows_in"] == manifest["rows_loaded"] + manifest["rows_quarantined"] + manifest["rows_deduplicated"]


def test_done_when_a_new_postgres_table_needs_only_a_catalog_entry(pg, catalog_entry, zones):
    """A new table, a new catalog YAML in a tmp folder, load_catalog(tmp), extract_load: landed. No Python."""
    table = pg.table("faskes")
    pg.execute(f"CREATE TABLE {table} (kode_faskes varchar(12) PRIMARY KEY, nama_faskes text NOT NULL, "
               f"jumlah_tempat_tidur integer, anggaran numeric(14,2), tanggal_izin date)")
    pg.execute(f"INSERT INTO {table} VALUES ('1040101', 'Puskesmas Tanah Grogot', 12, 1500000000.50, '2019-03-01'), "
               f"('0040102', 'Puskesmas Kuaro', 8, 950000000.00, '2020-07-15')")
    entry = catalog_entry(f"""\
        agency:
          code: disdukcapil
          name: Dinas Kesehatan Kabupaten Paser (uji)
          abbreviation: Dinkes
        datasets:
          faskes:
            title: Daftar fasilitas kesehatan
            owner: Seksi Data dan Informasi Dinkes Paser
            source: {{kind: postgres, connection: siak, table: public.{table}}}
            primary_key: [kode_faskes]
            trigger: {{by: schedule, schedule: "@daily"}}
            contract:
              columns:
                kode_faskes: {{type: text, description: Kode fasilitas kesehatan, nullable: false}}
                nama_faskes: {{type: text, description: Nama fasilitas kesehatan}}
                jumlah_tempat_tidur: {{type: integer, description: Jumlah tempat tidur}}
                anggaran: {{type: decimal, description: Anggaran tahunan dalam rupiah}}
                tanggal_izin: {{type: date, description: Tanggal izin operasional}}
            metadata:
              judul: Daftar Fasilitas Kesehatan
              definisi: Fasilitas kesehatan di Kabupaten Paser
              konsep: Fasilitas pelayanan kesehatan
              satuan: unit
              ukuran: jumlah
              produsen_data: Dinas Kesehatan Kabupaten Paser
              walidata: Dinas Komunikasi dan Informatika Kabupaten Paser
              frekuensi: tahunan
              akses: terbuka
              tingkat_penyajian: unit
              lisensi: CC-BY-4.0
        """)

    [manifest] = extract_load(entry, zones)

    assert manifest["source"]["kind"] == "postgres" and manifest["rows_loaded"] == 2
    rows = {row["kode_faskes"]: row for row in _data(zones, entry, manifest)}
    assert rows["0040102"]["nama_faskes"] == "Puskesmas Kuaro"
    assert rows["1040101"]["anggaran"] == Decimal("1500000000.50")
    assert rows["1040101"]["tanggal_izin"] == dt.date(2019, 3, 1)


@pytest.mark.parametrize("server_name", ["pg", "maria"])
def test_snapshot_lands_exact_types(server_name, request, penduduk_table, catalog_entry, zones):
    server = request.getfixturevalue(server_name)
    table = penduduk_table(server)
    connection = "siak" if server.kind == "postgres" else "simpeg"
    entry = catalog_entry(penduduk_yaml(server.kind, connection, table=table, cursor=False))

    [manifest] = extract_load(entry, zones)

    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (3, 3, 0)
    assert manifest["source_columns"]["tunjangan"] == "DECIMAL(14,2)"
    path = batch_dir(zones, entry, manifest["batch_id"]) / "data.parquet"
    schema = {field.name: str(field.type) for field in pq.read_schema(path)}
    assert schema["nik"] in ("string", "large_string") and schema["tanggal_lahir"] == "date32[day]"
    assert schema["tunjangan"].startswith("decimal128(") and schema["aktif"] == "bool" and schema["urutan"] == "int64"
    rows = {row["nama"]: row for row in _data(zones, entry, manifest)}
    siti = rows["Siti Aminah"]
    assert siti["nik"] == "0064010101900001"
    assert str(siti["tunjangan"].normalize()) == "12345678901.23"
    assert siti["tanggal_lahir"] == dt.date(1990, 1, 1) and siti["aktif"] is True and siti["urutan"] == 1
    # 08:00 WITA (a source timestamp without zone is Paser time) is 00:00 UTC.
    assert siti["updated_at"] == dt.datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("server_name", ["pg", "maria"])
def test_incremental_reads_from_the_cursor_and_loads_each_row_once(server_name, request, penduduk_table,
                                                                   catalog_entry, zones):
    server = request.getfixturevalue(server_name)
    table = penduduk_table(server)
    connection = "siak" if server.kind == "postgres" else "simpeg"
    entry = catalog_entry(penduduk_yaml(server.kind, connection, table=table))

    [first] = extract_load(entry, zones)
    assert first["rows_loaded"] == 3 and first["cursor_before"] is None
    assert extract_load(entry, zones) == []  # nothing new: the rows at the cursor are read again, dropped, no batch

    insert_rows(server, table, [("6401040404600004", "Dewi Lestari", "1960-04-04", "7.50", True, 4,
                                 "2026-11-03 09:30:00")])
    server.execute(f"UPDATE {table} SET tunjangan = 99.99, updated_at = '2026-11-03 10:00:00' WHERE nama = 'Siti Aminah'")
    [second] = extract_load(entry, zones)

    assert second["cursor_before"] == first["cursor_after"]
    # Read again: Budi and Rahmat (at the old cursor, already committed) -> deduplicated; Dewi new, Siti changed.
    assert (second["rows_in"], second["rows_loaded"], second["rows_deduplicated"]) == (4, 2, 2)
    assert _adds_up(first) and _adds_up(second)
    loaded = {row["nama"]: row for row in _data(zones, entry, second)}
    assert set(loaded) == {"Dewi Lestari", "Siti Aminah"} and loaded["Siti Aminah"]["tunjangan"] == Decimal("99.99")
    assert dt.datetime.fromisoformat(second["cursor_after"]) == dt.datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("new_row", [
    ("6401040404600004", "Dewi Lestari", "1960-04-04", "7.50", True, 4, "2026-11-02 08:00:00"),  # at the saved cursor
    ("64010404", "NIK Pendek", "1960-04-04", "7.50", True, 4, "2026-11-03 08:00:00"),  # quarantined, nothing loaded
])
def test_a_batch_that_keeps_the_cursor_does_not_make_the_next_run_load_its_rows_again(
        new_row, pg, penduduk_table, catalog_entry, zones):
    """Budi and Rahmat sit at the saved cursor in the first batch; a second batch that leaves the cursor where it
    was (it loaded only a row at that same value, or nothing) must not make the third run load them again."""
    table = penduduk_table(pg)
    entry = catalog_entry(penduduk_yaml("postgres", "siak", table=table))
    [first] = extract_load(entry, zones)
    insert_rows(pg, table, [new_row])
    [second] = extract_load(entry, zones)
    assert second["cursor_after"] == first["cursor_after"] and second["rows_deduplicated"] == 2

    third = extract_load(entry, zones)

    everything = [row["nik"] for m in committed_batches(zones, entry) for row in _data(zones, entry, m)]
    assert len(everything) == len(set(everything)), "a row was loaded twice"
    assert all(m["rows_loaded"] == 0 and m["rows_deduplicated"] == 2 for m in third)


def test_crash_before_the_rename_keeps_the_cursor_and_the_next_run_loads_each_row_once(
        pg, penduduk_table, catalog_entry, zones, monkeypatch):
    table = penduduk_table(pg)
    entry = catalog_entry(penduduk_yaml("postgres", "siak", table=table))
    [first] = extract_load(entry, zones)
    insert_rows(pg, table, [("6401050505550005", "Andi Saputra", None, "1.00", False, 5, "2026-11-04 07:00:00")])

    real_rename = os.rename

    def crash(src, dst):
        if os.path.basename(str(dst)).startswith("batch="):
            raise OSError("simulated crash before the batch directory rename")
        return real_rename(src, dst)

    monkeypatch.setattr(ingestion.landing.os, "rename", crash)
    with pytest.raises(OSError, match="simulated crash"):
        extract_load(entry, zones)
    assert [m["batch_id"] for m in committed_batches(zones, entry)] == [first["batch_id"]]  # cursor not advanced

    monkeypatch.setattr(ingestion.landing.os, "rename", real_rename)
    [second] = extract_load(entry, zones)

    assert second["cursor_before"] == first["cursor_after"]
    assert [row["nama"] for row in _data(zones, entry, second)] == ["Andi Saputra"]
    everything = [row["nik"] for m in committed_batches(zones, entry) for row in _data(zones, entry, m)]
    assert sorted(everything) == sorted([*(r[0] for r in PENDUDUK_ROWS), "6401050505550005"])  # each row once
    assert not [p for p in dataset_dir(zones, entry).iterdir() if p.name.startswith("_tmp-")]


def test_null_in_a_non_nullable_column_is_quarantined(pg, penduduk_table, catalog_entry, zones):
    rows = [*PENDUDUK_ROWS, (None, "Tanpa NIK", "2000-01-01", "1.00", True, 9, "2026-11-02 09:00:00")]
    table = penduduk_table(pg, rows=rows)
    entry = catalog_entry(penduduk_yaml("postgres", "siak", table=table))

    [manifest] = extract_load(entry, zones)

    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (4, 3, 1)
    [bad] = _quarantine(zones, entry, manifest)
    assert bad["nama"] == "Tanpa NIK" and bad["_column"] == "nik" and bad["_source_row"] is None
    assert "key nik NULL" in bad["_reason"] and "nullable: false" in bad["_reason"]


def test_infinite_dates_are_quarantined_naming_the_column(pg, penduduk_table, catalog_entry, zones):
    # PostgreSQL's 'infinity' ("no end date") has no Parquet value: never loaded as an extreme date.
    rows = [*PENDUDUK_ROWS[:2], ("6401040404600004", "Tanpa Akhir", "infinity", "1.00", True, 4, "2026-11-03 08:00:00"),
            ("6401050505550005", "Tanpa Awal", "-infinity", "2.00", True, 5, "2026-11-03 08:00:00"),
            ("6401060606500006", "Waktu Tak Hingga", "1990-06-06", "3.00", True, 6, "infinity")]
    table = penduduk_table(pg, rows=rows)
    entry = catalog_entry(penduduk_yaml("postgres", "siak", table=table, cursor=False))

    [manifest] = extract_load(entry, zones)

    assert (manifest["rows_loaded"], manifest["rows_quarantined"]) == (2, 3) and _adds_up(manifest)
    reasons = {row["nama"]: (row["_column"], row["_reason"]) for row in _quarantine(zones, entry, manifest)}
    assert reasons["Tanpa Akhir"][0] == reasons["Tanpa Awal"][0] == "tanggal_lahir"
    assert "'infinity' does not fit date" in reasons["Tanpa Akhir"][1]
    assert "'-infinity' does not fit date" in reasons["Tanpa Awal"][1]
    column, reason = reasons["Waktu Tak Hingga"]
    assert column == "updated_at" and "'infinity' does not fit timestamp" in reason


@pytest.mark.parametrize("server_name", ["pg", "maria"])
def test_type_change_at_the_source_is_refused_naming_the_column(server_name, request, penduduk_table,
                                                                catalog_entry, zones):
    server = request.getfixturevalue(server_name)
    table = penduduk_table(server, rows=PENDUDUK_ROWS[1:])  # NIKs without leading zeros survive the ALTER
    connection = "siak" if server.kind == "postgres" else "simpeg"
    entry = catalog_entry(penduduk_yaml(server.kind, connection, table=table, cursor=False))
    extract_load(entry, zones)

    if server.kind == "postgres":
        server.execute(f"ALTER TABLE {table} ALTER COLUMN nik TYPE bigint USING nik::bigint")
    else:
        server.execute(f"ALTER TABLE {table} MODIFY nik bigint")
    with pytest.raises(RejectedFile, match=r"type change in column 'nik' .*BIGINT at the source, text in the contract"):
        extract_load(entry, zones)
    assert len(committed_batches(zones, entry)) == 1  # nothing loaded


def _penduduk_with_tunjangan(pg, sql_type: str, values: list[str]) -> str:
    """A penduduk table whose `tunjangan` column has `sql_type`, one row per value."""
    table = pg.table("penduduk")
    pg.execute(f"CREATE TABLE {table} (nik varchar(16), nama text, tanggal_lahir date, tunjangan {sql_type}, "
               f"aktif boolean, urutan bigint, updated_at timestamp)")
    insert_rows(pg, table, [(f"64010101019{index:05d}", f"Penduduk {index}", "1990-01-01", value, True, index,
                             "2026-11-01 08:00:00") for index, value in enumerate(values)])
    return table


@pytest.mark.parametrize("sql_type", ["numeric", "double precision"])  # plain numeric: a DOUBLE to DuckDB's scanner
def test_a_double_in_a_decimal_column_lands_as_the_source_shows_it(sql_type, pg, catalog_entry, zones):
    values = ["2500000000000.50", "98765432109.87", "0.1", "-1234567.891"]
    table = _penduduk_with_tunjangan(pg, sql_type, values)
    entry = catalog_entry(penduduk_yaml("postgres", "siak", table=table, cursor=False))

    [manifest] = extract_load(entry, zones)

    landed = {row["nama"]: row["tunjangan"] for row in _data(zones, entry, manifest)}
    assert [landed[f"Penduduk {index}"] for index in range(len(values))] == [Decimal(value) for value in values]


@pytest.mark.parametrize("source", ["table", "query"])
def test_a_numeric_without_precision_lands_exact_and_is_quarantined_beyond_the_contract(source, pg, catalog_entry, zones):
    """A plain `numeric` (a column, or an expression in a query: `tunjangan + 0`) is no double: 19 digits and
    0.1 + 0.2 land exact; more places than the contract's decimal holds quarantine the row, never rounded."""
    values = ["12345678901234.56", "1234567890123456789.123456789", "0.3", "0.1234567890123"]
    table = _penduduk_with_tunjangan(pg, "numeric", values)
    where = {"table": table} if source == "table" else {
        "query": f"SELECT nik, nama, tanggal_lahir, tunjangan + 0 AS tunjangan, aktif, urutan, updated_at FROM {table}"}
    entry = catalog_entry(penduduk_yaml("postgres", "siak", **where))

    [first] = extract_load(entry, zones)

    landed = {row["nama"]: row["tunjangan"] for row in _data(zones, entry, first)}
    assert landed == {"Penduduk 0": Decimal("12345678901234.56"), "Penduduk 1": Decimal("1234567890123456789.123456789"),
                      "Penduduk 2": Decimal("0.3")}
    [bad] = _quarantine(zones, entry, first)
    assert bad["_column"] == "tunjangan" and bad["tunjangan"] == "0.1234567890123"
    assert "more than 9 decimal places" in bad["_reason"] and _adds_up(first)

    pg.execute(f"UPDATE {table} SET tunjangan = 0.1 + 0.2, updated_at = '2026-11-05 08:00:00' WHERE nama = 'Penduduk 0'")
    [second] = extract_load(entry, zones)  # incremental: the cursor filter still reaches the server

    assert [(row["nama"], row["tunjangan"]) for row in _data(zones, entry, second)] == [("Penduduk 0", Decimal("0.3"))]
    assert _adds_up(second)


def test_a_numeric_without_precision_as_cursor_is_compared_as_a_number_on_the_server(pg, catalog_entry, zones):
    """It travels as text, but the saved cursor is compared with the column as a number: 10 comes after 9."""
    table = _penduduk_with_tunjangan(pg, "numeric", ["9", "1.5"])
    entry = catalog_entry(penduduk_yaml("postgres", "siak", table=table).replace("cursor: updated_at", "cursor: tunjangan"))
    [first] = extract_load(entry, zones)
    assert first["rows_loaded"] == 2 and Decimal(first["cursor_after"]) == Decimal("9")

    insert_rows(pg, table, [("6401010101900009", "Sepuluh", None, "10", True, 9, "2026-11-01 08:00:00")])
    [second] = extract_load(entry, zones)

    assert [row["nama"] for row in _data(zones, entry, second)] == ["Sepuluh"] and second["rows_deduplicated"] == 1


def test_a_decimal_with_more_places_than_the_contract_holds_is_quarantined_not_rounded(pg, catalog_entry, zones):
    table = _penduduk_with_tunjangan(pg, "numeric(20,12)", ["0.123456789012", "1234.500000000000"])
    entry = catalog_entry(penduduk_yaml("postgres", "siak", table=table, cursor=False))

    [manifest] = extract_load(entry, zones)

    assert [row["tunjangan"] for row in _data(zones, entry, manifest)] == [Decimal("1234.5")]
    [bad] = _quarantine(zones, entry, manifest)
    assert bad["_column"] == "tunjangan" and bad["tunjangan"] == "0.123456789012"
    assert "key nik '6401010101900000'" in bad["_reason"] and "'0.123456789012' " in bad["_reason"]
    assert "more than 9 decimal places" in bad["_reason"]


def test_sqlite_file_lands_with_declared_decimals_and_booleans(tmp_path, catalog_entry, zones, monkeypatch):
    """SQLite stores decimal(14,2) as REAL and boolean as an integer: the declared types bring them back exactly."""
    path = penduduk_sqlite(tmp_path / "siak.db")
    monkeypatch.setenv("AIRFLOW_CONN_SIAK_LOKAL", f"sqlite:///{path}")
    entry = catalog_entry(penduduk_yaml("sqlite", "siak_lokal", table="penduduk"))

    [manifest] = extract_load(entry, zones)

    assert manifest["source_columns"]["tunjangan"] == "DECIMAL(14,2)" and manifest["source_columns"]["aktif"] == "BOOLEAN"
    siti = next(row for row in _data(zones, entry, manifest) if row["nama"] == "Siti Aminah")
    assert str(siti["tunjangan"].normalize()) == "12345678901.23" and siti["aktif"] is True
    assert siti["nik"] == "0064010101900001"


@pytest.mark.parametrize(("column", "value"), [("urutan", "dua belas"), ("tunjangan", "abc")])
def test_sqlite_text_in_a_number_column_refuses_the_run_naming_the_column_and_value(
        column, value, tmp_path, catalog_entry, zones, monkeypatch):
    """SQLite lets an app store text in an INTEGER or DECIMAL column; the scanner stops at it: a refusal, not a traceback."""
    rows = [PENDUDUK_ROWS[0], tuple(value if name == column else cell for name, cell in zip(
        ("nik", "nama", "tanggal_lahir", "tunjangan", "aktif", "urutan", "updated_at"), PENDUDUK_ROWS[1], strict=True))]
    path = penduduk_sqlite(tmp_path / "siak.db", rows)
    monkeypatch.setenv("AIRFLOW_CONN_SIAK_LOKAL", f"sqlite:///{path}")
    entry = catalog_entry(penduduk_yaml("sqlite", "siak_lokal", table="penduduk"))

    with pytest.raises(RejectedFile, match=rf'sqlite siak_lokal: penduduk: .*column "{column}".*"{value}"'):
        extract_load(entry, zones)
    assert committed_batches(zones, entry) == []


@pytest.mark.parametrize(("server_name", "source"), [("pg", "query"), ("maria", "table"), ("maria", "query")])
def test_a_date_cursor_reads_on_from_the_saved_day(server_name, source, request, penduduk_table, catalog_entry, zones):
    """A cursor column of type date (`tanggal_lahir` here): the saved day is sent to the server as a date literal."""
    server = request.getfixturevalue(server_name)
    table = penduduk_table(server)
    connection = "siak" if server.kind == "postgres" else "simpeg"
    where = {"table": table} if source == "table" else {"query": f"SELECT * FROM {table} WHERE tanggal_lahir IS NOT NULL"}
    entry = catalog_entry(penduduk_yaml(server.kind, connection, **where).replace("cursor: updated_at", "cursor: tanggal_lahir"))
    [first] = extract_load(entry, zones)
    assert first["cursor_after"] == "1990-01-01"

    insert_rows(server, table, [("6401040404600004", "Dewi Lestari", "1990-01-01", "7.50", True, 4, "2026-11-03 09:30:00"),
                                ("6401050505550005", "Andi Saputra", "1991-05-05", "1.00", False, 5, "2026-11-04 07:00:00")])
    [second] = extract_load(entry, zones)

    assert second["cursor_after"] == "1991-05-05" and second["rows_deduplicated"] == 1
    assert sorted(row["nama"] for row in _data(zones, entry, second)) == ["Andi Saputra", "Dewi Lestari"]


NULL_CURSOR_REASON = "no value in cursor column 'updated_at': an incremental load cannot tell when it changed"


@pytest.mark.parametrize(("server_name", "source"), [("pg", "table"), ("maria", "table"), ("pg", "query"), ("maria", "query")])
def test_rows_without_a_cursor_value_are_quarantined_once_not_lost(server_name, source, request, catalog_entry, zones):
    """`>=` never reads a NULL cursor: such rows are quarantined naming the cursor, in the first run and again only
    when the set of them changes (a run that finds them as they were adds no batch), never silently skipped."""
    server = request.getfixturevalue(server_name)
    table = server.table("penduduk")
    template = PENDUDUK_PG if server.kind == "postgres" else PENDUDUK_MYSQL
    server.execute(template.format(name=table, nik_null="").replace(" NOT NULL, PRIMARY KEY", ", PRIMARY KEY"))
    undated = [("6401070707800007", "Tanpa Waktu", "1980-07-07", "4.00", True, 7, None),
               ("6401080808750008", "Tanpa Waktu Juga", None, "5.00", False, 8, None)]
    insert_rows(server, table, [*PENDUDUK_ROWS, *undated])
    connection = "siak" if server.kind == "postgres" else "simpeg"
    where = {"table": table} if source == "table" else {"query": f"SELECT * FROM {table}"}
    entry = catalog_entry(penduduk_yaml(server.kind, connection, **where))

    [first] = extract_load(entry, zones)

    assert (first["rows_in"], first["rows_loaded"], first["rows_quarantined"]) == (5, 3, 2) and _adds_up(first)
    assert first["source"]["null_cursor"]["rows"] == 2
    bad = {row["nama"]: row for row in _quarantine(zones, entry, first)}
    assert set(bad) == {"Tanpa Waktu", "Tanpa Waktu Juga"}
    assert bad["Tanpa Waktu"]["_column"] == "updated_at" and NULL_CURSOR_REASON in bad["Tanpa Waktu"]["_reason"]
    assert extract_load(entry, zones) == []  # the same rows without a cursor: not quarantined again

    insert_rows(server, table, [("6401090909700009", "Baru Tanpa Waktu", None, "6.00", True, 9, None),
                                ("6401101010650010", "Baru", None, "7.00", True, 10, "2026-11-04 08:00:00")])
    [second] = extract_load(entry, zones)

    assert [row["nama"] for row in _data(zones, entry, second)] == ["Baru"] and _adds_up(second)
    # The set changed: it is quarantined whole again, so the latest batch shows every row still without a cursor.
    assert {row["nama"] for row in _quarantine(zones, entry, second)} == {"Tanpa Waktu", "Tanpa Waktu Juga", "Baru Tanpa Waktu"}

    server.execute(f"UPDATE {table} SET updated_at = '2026-11-05 08:00:00' WHERE nama = 'Tanpa Waktu'")
    [third] = extract_load(entry, zones)

    assert [row["nama"] for row in _data(zones, entry, third)] == ["Tanpa Waktu"] and _adds_up(third)
    assert {row["nama"] for row in _quarantine(zones, entry, third)} == {"Tanpa Waktu Juga", "Baru Tanpa Waktu"}
    assert extract_load(entry, zones) == []


def test_sqlite_rows_without_a_cursor_value_are_quarantined_once(tmp_path, catalog_entry, zones, monkeypatch):
    rows = [*PENDUDUK_ROWS, ("6401070707800007", "Tanpa Waktu", "1980-07-07", "4.00", True, 7, None)]
    path = penduduk_sqlite(tmp_path / "siak.db", rows)
    monkeypatch.setenv("AIRFLOW_CONN_SIAK_LOKAL", f"sqlite:///{path}")
    entry = catalog_entry(penduduk_yaml("sqlite", "siak_lokal", table="penduduk"))

    [first] = extract_load(entry, zones)

    assert (first["rows_in"], first["rows_loaded"], first["rows_quarantined"]) == (4, 3, 1) and _adds_up(first)
    [bad] = _quarantine(zones, entry, first)
    assert bad["nama"] == "Tanpa Waktu" and NULL_CURSOR_REASON in bad["_reason"]
    assert extract_load(entry, zones) == []
