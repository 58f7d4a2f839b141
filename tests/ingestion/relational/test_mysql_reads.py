"""The `mysql` kind's connectorx read against the real MariaDB: exact values, bad dates quarantined, no pandas."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from ingestion.connections import parse_connection
from ingestion.extract import extract_load
from ingestion.kinds.mysql import connectorx_uri
from ingestion.ledger import batch_dir
from tests.ingestion.relational.conftest import METADATA, MYSQL_URI, PENDUDUK_ROWS, penduduk_yaml
from tests.ingestion.relational.deliveries import read_once

UTC = dt.UTC

EXACT_TABLE = """CREATE TABLE {name} (
    nik bigint NOT NULL, kode varchar(10), nilai decimal(14,2), besar decimal(38,10), aktif tinyint(1),
    bendera bit(1), jam time, tahun year, jumlah bigint unsigned, PRIMARY KEY (nik))"""
EXACT_ROWS = """
    (6401010101900001, '0012', 12345678901.23, 1234567890123456789012345678.0123456789, 1, b'1', '838:59:59', 2024,
     18446744073709551615),
    (6401020202850002, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (9999999999999999, '7', -0.01, -1, 0, b'0', '-01:00:00', 1999, 0)"""


def _exact_table(maria) -> str:
    table = maria.table("nilai")
    maria.execute(EXACT_TABLE.format(name=table))
    maria.execute(f"INSERT INTO {table} VALUES {EXACT_ROWS}")
    return table


def test_values_arrive_exact_with_the_types_the_source_declares(maria, catalog_entry):
    table = _exact_table(maria)
    entry = catalog_entry(penduduk_yaml("mysql", "simpeg", table=table, cursor=False))

    read = read_once(entry)

    assert read.columns == {
        "nik": "BIGINT",
        "kode": "VARCHAR",
        "nilai": "DECIMAL(14,2)",
        "besar": "DECIMAL(38,10)",
        "aktif": "BOOLEAN",
        "bendera": "BOOLEAN",
        "jam": "VARCHAR",
        "tahun": "INTEGER",
        "jumlah": "UBIGINT",
    }
    rows = {row["nik"]: row for row in read.rows}
    first = rows[6401010101900001]  # a 16-digit NIK in a BIGINT: never through a float
    assert first["kode"] == "0012"
    assert first["nilai"] == Decimal("12345678901.23") and str(first["nilai"]) == "12345678901.23"
    # 38 digits: more than connectorx's own decimal holds; the text route keeps every one.
    assert first["besar"] == Decimal("1234567890123456789012345678.0123456789")
    assert (first["aktif"], first["bendera"], first["jam"], first["tahun"]) == (True, True, "838:59:59", 2024)
    assert first["jumlah"] == 18446744073709551615
    assert rows[9999999999999999]["nik"] == 9999999999999999 and rows[9999999999999999]["besar"] == Decimal("-1")
    assert (rows[9999999999999999]["aktif"], rows[9999999999999999]["jam"]) == (False, "-01:00:00")
    assert all(value is None for name, value in rows[6401020202850002].items() if name != "nik")
    assert all("_flag" not in row for row in read.rows)  # no date column: nothing can fail to convert


def test_a_nik_in_a_bigint_and_a_decimal_land_exact(maria, catalog_entry, zones):
    table = _exact_table(maria)
    entry = catalog_entry(
        textwrap.dedent(f"""\
        agency:
          code: disdukcapil
          name: Dinas Kependudukan dan Pencatatan Sipil Kabupaten Paser
          abbreviation: Disdukcapil
        datasets:
          tunjangan:
            title: Tunjangan (uji)
            owner: Bidang Pengelolaan Informasi Administrasi Kependudukan
            source: {{kind: mysql, connection: simpeg, table: {table}}}
            primary_key: [nik]
            trigger: {{by: schedule, schedule: "@daily"}}
            contract:
              on_new_column: evolve
              columns:
                nik: {{type: integer, description: NIK sebagai angka, nullable: false}}
                kode: {{type: text, description: Kode dengan nol di depan}}
                nilai: {{type: decimal, description: Nilai tunjangan}}
                aktif: {{type: boolean, description: Masih aktif}}
        """)
        + METADATA
    )

    [manifest] = extract_load(entry, zones)

    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (3, 3, 0)
    landed = pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "data.parquet")
    assert str(landed.schema.field("nik").type) == "int64"
    rows = {row["nik"]: row for row in landed.to_pylist()}
    assert set(rows) == {6401010101900001, 6401020202850002, 9999999999999999}
    assert rows[6401010101900001]["kode"] == "0012" and rows[6401010101900001]["aktif"] is True
    assert rows[6401010101900001]["nilai"] == Decimal("12345678901.23")
    assert rows[9999999999999999]["nilai"] == Decimal("-0.01")


def test_zero_and_impossible_dates_are_quarantined_naming_the_column_not_a_crash(maria, penduduk_table, catalog_entry, zones):
    table = penduduk_table(maria)
    # MariaDB stores these when the writing session allows them; no calendar has them.
    maria.execute(
        f"SET STATEMENT sql_mode = 'ALLOW_INVALID_DATES' FOR INSERT INTO {table} "
        "(nik, nama, tanggal_lahir, tunjangan, aktif, urutan, updated_at) VALUES "
        "('6401040404600004', 'Tanggal Nol', '0000-00-00', '1.00', 1, 4, '2026-11-03 08:00:00'), "
        "('6401050505550005', 'Tiga Puluh Februari', '2024-02-30', '2.00', 0, 5, '2026-11-03 08:00:00'), "
        "('6401060606500006', 'Waktu Nol', '1990-06-06', '3.00', 1, 6, '0000-00-00 00:00:00')"
    )
    entry = catalog_entry(penduduk_yaml("mysql", "simpeg", table=table, cursor=False))

    [manifest] = extract_load(entry, zones)

    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (6, 3, 3)
    folder = batch_dir(zones, entry, manifest["batch_id"])
    assert sorted(row["nik"] for row in pq.read_table(folder / "data.parquet").to_pylist()) == sorted(
        row[0] for row in PENDUDUK_ROWS
    )
    bad = {row["nama"]: row for row in pq.read_table(folder / "quarantine.parquet").to_pylist()}
    assert set(bad) == {"Tanggal Nol", "Tiga Puluh Februari", "Waktu Nol"}
    zero = bad["Tanggal Nol"]
    assert zero["_column"] == "tanggal_lahir" and zero["nik"] == "6401040404600004"
    assert "key nik '6401040404600004'" in zero["_reason"]
    assert "'0000-00-00' is not a valid date" in zero["_reason"]
    assert "'2024-02-30' is not a valid date" in bad["Tiga Puluh Februari"]["_reason"]
    assert bad["Waktu Nol"]["_column"] == "updated_at"
    assert "'0000-00-00 00:00:00.000000' is not a valid date and time" in bad["Waktu Nol"]["_reason"]  # DATETIME(6)


def test_the_read_path_does_not_import_pandas(maria, penduduk_table, tmp_path):
    """Registering an Arrow object (rather than its C stream) makes DuckDB import pandas: seconds on a cold venv."""
    table = penduduk_table(maria)
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "disdukcapil.yml").write_text(penduduk_yaml("mysql", "simpeg", table=table), encoding="utf-8")
    code = f"""
import json, os, sys
from pathlib import Path
os.environ["AIRFLOW_CONN_SIMPEG"] = {MYSQL_URI!r}
from ingestion.catalog import load_catalog
from ingestion.extract import extract_load
from ingestion.zones import Zones
entry = load_catalog({str(tmp_path / "catalog")!r}).datasets[0]
[manifest] = extract_load(entry, Zones(Path({str(tmp_path / "data")!r})))
print(json.dumps({{"rows": manifest["rows_loaded"], "pandas": "pandas" in sys.modules}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"rows": 3, "pandas": False}


def test_the_connectorx_uri_carries_encoded_credentials():
    conn = parse_connection("simpeg", "mysql://baca%40simpeg:R4h%40s%2Fia%3Ax@db.paser.go.id:3307/simpeg")
    assert conn.password == "R4h@s/ia:x"
    assert connectorx_uri(conn) == "mysql://baca%40simpeg:R4h%40s%2Fia%3Ax@db.paser.go.id:3307/simpeg"
    assert connectorx_uri(parse_connection("x", "mysql://root@127.0.0.1/test")) == "mysql://root@127.0.0.1:3306/test"


@pytest.mark.parametrize("source", ["table", "query"])
def test_a_timestamp_column_lands_as_its_instant_whatever_the_server_time_zone(source, maria, catalog_entry, zones):
    """A MySQL TIMESTAMP is an instant the server shows in the session's time zone (this server's is UTC); DATETIME
    is the wall clock as written (WITA). Both land right, and an incremental run on the TIMESTAMP reads on from it."""
    table = maria.table("penduduk")
    maria.execute(f"CREATE TABLE {table} (nik varchar(16) NOT NULL, nama varchar(100), tanggal_lahir date, "
                  "tunjangan decimal(14,2), aktif boolean, urutan bigint, updated_at timestamp(6) NULL, "
                  "dicatat_pada datetime, PRIMARY KEY (nik))")
    # FROM_UNIXTIME: the instant, whatever time zone the writing session has. 1793491200 is 2026-11-01 00:00 UTC.
    maria.execute(f"INSERT INTO {table} VALUES "
                  "('6401010101900001', 'Siti Aminah', NULL, 1.00, 1, 1, FROM_UNIXTIME(1793491200.25), '2026-11-01 08:00:00'), "
                  "('6401020202850002', 'Budi Santoso', NULL, 2.00, 1, 2, FROM_UNIXTIME(1793494800), '2026-11-01 09:00:00')")
    where = {"table": table} if source == "table" else {"query": f"SELECT * FROM {table}"}
    entry = catalog_entry(penduduk_yaml("mysql", "simpeg", **where).replace(
        "    contract:\n", "    contract:\n      on_new_column: evolve\n"))

    [first] = extract_load(entry, zones)

    rows = {row["nama"]: row for row in pq.read_table(batch_dir(zones, entry, first["batch_id"]) / "data.parquet").to_pylist()}
    assert rows["Siti Aminah"]["updated_at"] == dt.datetime(2026, 11, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert rows["Budi Santoso"]["updated_at"] == dt.datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    assert rows["Siti Aminah"]["dicatat_pada"] == "2026-11-01 08:00:00"  # an evolved column: text, as the server wrote it
    assert dt.datetime.fromisoformat(first["cursor_after"]) == dt.datetime(2026, 11, 1, 1, 0, tzinfo=UTC)

    maria.execute(f"INSERT INTO {table} VALUES "
                  "('6401030303700003', 'Rahmat Hidayat', NULL, 3.00, 1, 3, FROM_UNIXTIME(1793498400), NULL)")
    [second] = extract_load(entry, zones)

    assert (second["rows_in"], second["rows_loaded"], second["rows_deduplicated"]) == (2, 1, 1)
    [new] = pq.read_table(batch_dir(zones, entry, second["batch_id"]) / "data.parquet").to_pylist()
    assert new["updated_at"] == dt.datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
