"""The demo DPMD Dana Desa system: generated from the real desa list, served from SQLite and the real MariaDB."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from agency_systems import dpmd
from agency_systems.databases import execute
from ingestion.catalog import Catalog, DatasetEntry
from ingestion.extract import extract_load
from ingestion.ledger import batch_dir
from ingestion.zones import Zones

MYSQL_URI = "mysql://root@127.0.0.1:3306/test"
CROSSWALK = dpmd.REFERENCE_DIR / "paser_desa_crosswalk.csv"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return dpmd.generate_dana_desa()


def _known_names() -> set[str]:
    """Every spelling of every desa/kelurahan in the crosswalk, upper case without spaces."""
    with CROSSWALK.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    columns = ("nama_kemendagri_2025", "nama_bps_mfd2018", "nama_dagri_bps_bridging_2024", "nama_kpu_2024")
    return {record[column].upper().replace(" ", "") for record in records for column in columns if record[column]}


def test_only_the_139_desa_get_dana_desa_every_year(rows: list[dict]) -> None:
    desa = dpmd.load_desa()
    assert len(desa) == 139 and all(d["kode_kemendagri"][9] == "2" for d in desa), "no kelurahan (T=1)"
    for tahun in dpmd.TAHUN_ANGGARAN:
        truth = {row["_kode_kemendagri"] for row in rows if row["tahun_anggaran"] == tahun and row["_kode_kemendagri"]}
        assert truth == {d["kode_kemendagri"] for d in desa}


def test_money_is_exact_rupiah_in_plausible_ranges(rows: list[dict]) -> None:
    for row in rows:
        assert row["pagu_dana_desa"].as_tuple().exponent == -2
        assert Decimal("800000000") <= row["pagu_dana_desa"] <= Decimal("1600000000"), row
        stages = [row[f"realisasi_tahap_{n}"] for n in (1, 2, 3)]
        assert row["total_realisasi"] == sum(stage or Decimal(0) for stage in stages)
        for stage, share in zip(stages, dpmd.TAHAP_SHARES, strict=True):
            assert stage is None or Decimal(0) <= stage <= row["pagu_dana_desa"] * share
        if row["tahun_anggaran"] < 2026:
            assert None not in stages and row["total_realisasi"] >= row["pagu_dana_desa"] * Decimal("0.85")
        else:
            assert stages[2] is None, "on 2026-06-30 no desa has reported tahap III"
        assert row["tanggal_laporan"] <= dpmd.REFERENCE_DATE and row["updated_at"].date() == row["tanggal_laporan"]
    assert any(row["total_realisasi"] % 1 for row in rows), "realisations are to the cent"


def test_messiness_is_there_on_purpose(rows: list[dict]) -> None:
    codes = [row["kode_desa"] for row in rows]
    assert sum(code is None for code in codes) > 50, "desa named by name only"
    assert sum(code is not None and "." not in code for code in codes) > 30, "BPS codes"
    names = _known_names()
    by_name_only = [row for row in rows if row["kode_desa"] is None and row["_kode_kemendagri"]]
    assert any(row["nama_desa"].isupper() for row in by_name_only), "BPS/KPU spellings in capitals"
    # The unresolvable rows: no spelling of any Paser desa, and no real code.
    unresolvable = [row for row in rows if row["_kode_kemendagri"] is None]
    assert len(unresolvable) == 3 * len(dpmd.TAHUN_ANGGARAN)
    for row in unresolvable:
        assert row["nama_desa"].upper().replace(" ", "").removeprefix("DESA") not in names
    # Late corrections: a later report (new id, newer updated_at) for a desa and year already reported.
    latest = dpmd.realisation_summary(rows)["latest"]
    corrected = [key for key, row in latest.items() if row["id"] > 3 * 142]
    assert len(corrected) == dpmd.CORRECTIONS and all(tahun == 2025 for _, tahun in corrected)
    # One identical duplicate (same id, same values).
    ids = [row["id"] for row in rows]
    assert len(ids) - len(set(ids)) == 1
    twice = [row for row in rows if ids.count(row["id"]) == 2]
    assert twice[0] == twice[1]


def test_generation_is_deterministic_per_seed(rows: list[dict]) -> None:
    assert dpmd.generate_dana_desa() == rows
    assert dpmd.generate_dana_desa(seed=7) != rows


def test_write_demo_is_sqlite_and_a_no_op_the_second_time(zones: Zones) -> None:
    env = dpmd.write_demo(zones, scale=0.01)
    database = zones.agency_systems / "dpmd" / "sipades.db"
    assert env == {dpmd.CONNECTION_ENV: f"sqlite:///{database}"} and env[dpmd.CONNECTION_ENV].startswith("sqlite:////")
    before = database.stat().st_mtime_ns
    assert dpmd.write_demo(zones, scale=0.01) == env
    assert database.stat().st_mtime_ns == before
    assert sorted(p.name for p in database.parent.iterdir()) == ["demo.json", "sipades.db"]


def _correct(uri: str, table: str, ids: list[int]) -> None:
    """The application records tahap II for these reports: new figures and a newer updated_at (WITA)."""
    statement = (f"UPDATE {{table}} SET realisasi_tahap_2 = 412345678.91, "
                 f"total_realisasi = coalesce(realisasi_tahap_1, 0) + 412345678.91, "
                 f"updated_at = {{stamp}} WHERE id IN ({', '.join(map(str, ids))})")
    if uri.startswith("sqlite:"):
        # DuckDB's sqlite scanner cannot UPDATE a DECIMAL column (internal error): the app's own SQL, then.
        with contextlib.closing(sqlite3.connect(uri.removeprefix("sqlite://"))) as db, db:
            db.execute(statement.format(table=table, stamp="'2026-07-01 10:00:00'"))
    else:
        execute(uri, [statement.format(table=f"target.{table}", stamp="TIMESTAMP '2026-07-01 10:00:00'")])


# --- Landing: SQLite stand-in and the real MariaDB -----------------------------------------------


@pytest.fixture(params=["sqlite", "mariadb"])
def served(request: pytest.FixtureRequest, zones: Zones, catalog: Catalog,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, DatasetEntry]]:
    """(uri, catalog entry) of the Dana Desa table written into SQLite or into MariaDB (a table per test)."""
    entry = catalog.dataset("dpmd__dana_desa")
    if request.param == "sqlite":
        env = dpmd.write_demo(zones)
        monkeypatch.setenv(dpmd.CONNECTION_ENV, env[dpmd.CONNECTION_ENV])
        yield env[dpmd.CONNECTION_ENV], entry
        return
    table = f"dana_desa_{uuid.uuid4().hex[:10]}"
    dpmd.write_dana_desa(MYSQL_URI, table=table)
    monkeypatch.setenv(dpmd.CONNECTION_ENV, MYSQL_URI)
    source = entry.spec.source.model_copy(update={"table": table})
    try:
        yield MYSQL_URI, dataclasses.replace(entry, spec=entry.spec.model_copy(update={"source": source}))
    finally:
        execute(MYSQL_URI, [f"DROP TABLE IF EXISTS target.{table}"])


def test_extract_load_keeps_exact_decimals_and_lands_only_corrections_next_time(
    served: tuple[str, DatasetEntry], zones: Zones, rows: list[dict]
) -> None:
    uri, entry = served
    table = entry.spec.source.table

    [first] = extract_load(entry, zones)

    assert (first["rows_in"], first["rows_loaded"], first["rows_quarantined"], first["rows_deduplicated"]) == (
        len(rows), len(rows) - 1, 0, 1)
    expected_type = "DECIMAL(16,2)" if uri.startswith("mysql") else "DECIMAL(15,2)"
    assert first["source_columns"]["pagu_dana_desa"] == expected_type
    landed = {row["id"]: row for row in pq.read_table(batch_dir(zones, entry, first["batch_id"]) / "data.parquet").to_pylist()}
    by_id = {row["id"]: row for row in rows}
    assert set(landed) == set(by_id)
    money = ("pagu_dana_desa", "realisasi_tahap_1", "realisasi_tahap_2", "realisasi_tahap_3", "total_realisasi")
    for row_id, source in by_id.items():
        for column in money:
            assert landed[row_id][column] == source[column], (row_id, column)  # Decimal equality: exact
        assert landed[row_id]["kode_desa"] == source["kode_desa"]
    assert first["cursor_after"].startswith(max(row["updated_at"] for row in rows).isoformat())

    # Two desa re-report their 2026 realisation (tahap II arrives) after the first load.
    corrected_ids = [row["id"] for row in rows if row["tahun_anggaran"] == 2026 and row["kode_desa"]][:2]
    _correct(uri, table, corrected_ids)

    [second] = extract_load(entry, zones)

    assert second["rows_loaded"] == 2 and second["rows_quarantined"] == 0
    changed = pq.read_table(batch_dir(zones, entry, second["batch_id"]) / "data.parquet").to_pylist()
    assert sorted(row["id"] for row in changed) == sorted(corrected_ids)
    for row in changed:
        assert row["realisasi_tahap_2"] == Decimal("412345678.91")
        assert row["total_realisasi"] == (by_id[row["id"]]["realisasi_tahap_1"] or 0) + Decimal("412345678.91")
        assert row["updated_at"] == dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC), "a source time without zone is WITA"
    assert extract_load(entry, zones) == [], "nothing changed since: no batch"
