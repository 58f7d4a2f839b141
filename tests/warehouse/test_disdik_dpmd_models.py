"""Disdik enrolment and DPMD Dana Desa through the whole warehouse: demo systems -> extract_load -> dbt build.

One build for the module (the demo workbooks and the SQLite Dana Desa ledger, landed by the real
connectors); each test reads that committed build. The marts must reconcile with what the agencies
delivered, computed here the plain way from the generators, with the unmapped part reported, not lost.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from decimal import Decimal

import duckdb
import pyarrow.parquet as pq
import pytest

from agency_systems import disdik, dpmd
from ingestion.catalog import REPO_ROOT, Catalog
from ingestion.extract import extract_load
from ingestion.ledger import batch_dir, committed_batches
from ingestion.zones import DATA_DIR_ENV, Zones
from publication.privacy import suppress
from publication.quality import EXPECTATIONS_DIR, suite_path_for, validate_parquet, validate_table
from warehouse.build import build_warehouse

DATASETS = ("disdik__sekolah", "disdik__peserta_didik", "dpmd__dana_desa")
PUPILS_MART = "jumlah_peserta_didik_per_kecamatan"
DANA_DESA_MART = "realisasi_dana_desa_per_desa"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Iterator[tuple[Zones, dict]]:
    zones = Zones(tmp_path_factory.mktemp("disdik_dpmd") / "data")
    zones.root.mkdir()
    saved = {key: os.environ.get(key) for key in (DATA_DIR_ENV, dpmd.CONNECTION_ENV)}
    os.environ[DATA_DIR_ENV] = str(zones.root)
    os.environ.update(dpmd.write_demo(zones))
    disdik.write_demo(zones)
    try:
        for dataset_id in DATASETS:
            assert extract_load(catalog.dataset(dataset_id), zones), dataset_id
        build = build_warehouse(zones, catalog)
        assert build is not None
        yield zones, build
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _query(zones: Zones, sql: str) -> list[tuple]:
    with duckdb.connect(str(zones.warehouse / "current" / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def _mart(zones: Zones, build: dict, name: str) -> list[dict]:
    return pq.read_table(zones.warehouse / "current" / build["marts"][name]["path"]).to_pylist()


def test_build_has_the_models_and_every_test_passes(built: tuple[Zones, dict]) -> None:
    _, build = built
    assert set(build["models"]) >= {
        "stg_disdik__peserta_didik", "int_peserta_didik_wilayah_mapped", PUPILS_MART,
        "stg_dpmd__dana_desa", "int_dana_desa_wilayah_mapped", DANA_DESA_MART, "jumlah_sekolah_per_kecamatan",
    }
    assert build["tests"]["failed"] == 0 and build["tests"]["passed"] > 100
    assert {PUPILS_MART, DANA_DESA_MART} <= set(build["marts"])


def test_pupils_per_kecamatan_reconcile_with_the_recaps(built: tuple[Zones, dict]) -> None:
    zones, build = built
    listed = {row["npsn"]: row["kode_kec_kemdikbud"] for row in disdik.load_sekolah_reference()}
    with (REPO_ROOT / "seeds" / "reference" / "paser_kecamatan_crosswalk.csv").open(encoding="utf-8", newline="") as handle:
        kecamatan_of = {row["kode_kec_kemdikbud_2019"]: row["kode_kemendagri"] for row in csv.DictReader(handle)}
    expected: dict[tuple[str, str, str, str], int] = {}
    unmapped = 0
    for tahun_ajaran in disdik.DEMO_TAHUN_AJARAN:
        # The recap as delivered, each school once (the duplicated row counts once).
        recap = {row["npsn"]: row for row in disdik.generate_peserta_didik(tahun_ajaran)}
        for npsn, row in recap.items():
            if npsn not in listed:
                unmapped += row["jumlah"]
                continue
            for jenis_kelamin, key in (("Laki-laki", "laki_laki"), ("Perempuan", "perempuan")):
                cell = (kecamatan_of[listed[npsn]], row["bentuk"], jenis_kelamin, tahun_ajaran)
                expected[cell] = expected.get(cell, 0) + row[key]

    mart = _mart(zones, build, PUPILS_MART)

    got = {(r["kode_kecamatan"], r["jenjang"], r["jenis_kelamin"], r["tahun_ajaran"]): r["jumlah_peserta_didik"] for r in mart}
    assert got == expected
    assert unmapped > 0, "the unlisted school's pupils are the unmapped ones"
    # The unmapped pupils are kept (and reported), not lost: mart + unmapped = every pupil delivered.
    [(kept_unmapped, delivered)] = _query(zones, """
        select sum(jumlah_peserta_didik) filter (where is_wilayah_unmapped), sum(jumlah_peserta_didik)
        from intermediate.int_peserta_didik_wilayah_mapped""")
    assert kept_unmapped == unmapped and delivered == sum(got.values()) + unmapped
    assert {row["tahun"] for row in mart} == {2018, 2019} and {row["satuan"] for row in mart} == {"orang"}


def test_dana_desa_reconciles_with_the_latest_reports(built: tuple[Zones, dict]) -> None:
    zones, build = built
    rows = dpmd.generate_dana_desa()
    summary = dpmd.realisation_summary(rows)

    mart = _mart(zones, build, DANA_DESA_MART)

    assert len(mart) == 139 * len(dpmd.TAHUN_ANGGARAN)
    for tahun, totals in summary["per_year"].items():
        in_year = [row for row in mart if row["tahun"] == tahun]
        assert sum(row["pagu_dana_desa"] for row in in_year) == totals["pagu"]  # Decimal: exact to the cent
        assert sum(row["realisasi_dana_desa"] for row in in_year) == totals["realisasi"]
    # Row by row: the latest report of each desa (a late correction beats the first report).
    for row in mart:
        source = summary["latest"][(row["kode_desa"], row["tahun"])]
        assert row["realisasi_dana_desa"] == source["total_realisasi"]
        percent = (source["total_realisasi"] * 100 / source["pagu_dana_desa"]).quantize(Decimal("0.01"))
        assert abs(row["persen_realisasi"] - percent) <= Decimal("0.01")
    # Every report lands on the desa it is about, whichever way it was written ...
    truth = {row["id"]: row["_kode_kemendagri"] for row in rows}
    mapped = _query(zones, "select id_laporan, kode_desa from intermediate.int_dana_desa_wilayah_mapped")
    assert all(kode == truth[report] for report, kode in mapped)
    # ... and the unresolvable reports are reported with their money, not placed anywhere.
    [(reports, pagu)] = _query(zones, """
        select count(*), sum(pagu_dana_desa) from intermediate.int_dana_desa_wilayah_mapped where is_wilayah_unmapped""")
    unresolvable = [row for row in rows if row["_kode_kemendagri"] is None]
    assert reports == len(summary["unmapped_ids"]) == len(unresolvable)
    assert pagu == sum(row["pagu_dana_desa"] for row in unresolvable)
    methods = dict(_query(zones, """
        select metode_pemetaan, count(*) from intermediate.int_dana_desa_wilayah_mapped group by all"""))
    assert methods.keys() >= {"kode_kemendagri", "kode_bps", "nama"}


def test_open_marts_hold_no_personal_data(built: tuple[Zones, dict], catalog: Catalog) -> None:
    zones, build = built
    personal = {name for entry in catalog.datasets for name in entry.spec.personal_columns}
    for mart in (PUPILS_MART, DANA_DESA_MART, "jumlah_sekolah_per_kecamatan"):
        table = pq.read_table(zones.warehouse / "current" / build["marts"][mart]["path"])
        assert not personal & set(table.column_names)
        assert not {"nik", "no_kk", "nama", "nama_lengkap", "tanggal_lahir", "npsn", "alamat"} & set(table.column_names)
        for column in table.column_names:
            values = [str(value) for value in table.column(column).to_pylist() if value is not None]
            assert not any(re.fullmatch(r"\d{16}", value) for value in values), (mart, column)


def test_publication_and_raw_suites_pass_on_what_was_built(built: tuple[Zones, dict], catalog: Catalog) -> None:
    zones, build = built
    publications = {entry.spec.model: entry for entry in catalog.publications}
    # The pupils table is validated as it is published: after the privacy gate added `disembunyikan`.
    pupils = publications[PUPILS_MART]
    gated = suppress(pq.read_table(zones.warehouse / "current" / build["marts"][PUPILS_MART]["path"]),
                     pupils.spec.small_cells, set()).table
    report = validate_table(gated, suite_path_for(pupils.id))
    assert report.success, [outcome.describe() for outcome in report.failures()]
    dana_desa = publications[DANA_DESA_MART]
    report = validate_parquet(zones.warehouse / "current" / build["marts"][DANA_DESA_MART]["path"], suite_path_for(dana_desa.id))
    assert report.success, [outcome.describe() for outcome in report.failures()]
    for dataset_id in ("disdik__peserta_didik", "dpmd__dana_desa"):
        entry = catalog.dataset(dataset_id)
        for manifest in committed_batches(zones, entry):
            raw = validate_parquet(batch_dir(zones, entry, manifest["batch_id"]) / "data.parquet",
                                   suite_path_for(dataset_id, EXPECTATIONS_DIR / "raw"))
            assert raw.success, (dataset_id, [outcome.describe() for outcome in raw.failures()])
