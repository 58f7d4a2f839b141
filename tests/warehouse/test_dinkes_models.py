"""Dinkes end to end at a small scale: the API -> http_json extract_load -> dbt build -> open marts that
reconcile with what the API served (recomputed here in Python from the served records and the
children's true desa), with no NIK, name or pseudonym in any open mart."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agency_systems import dinkes, disdukcapil
from ingestion.catalog import Catalog
from ingestion.extract import extract_load
from ingestion.zones import DATA_DIR_ENV, Zones
from warehouse.build import build_warehouse

SCALE = 0.02  # about 6,200 residents and 470 children under five
SEED = 21
NIK_RE = re.compile(r"\d{16}")
HEX64_RE = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Iterator[dict]:
    """One registry, one Dinkes store, one load and one warehouse build for the module's tests.

    The children are the register's own (Disdukcapil's generator at the same scale and seed), so the
    immunisation denominators come from the real registry pipeline (int_penduduk_hidup).
    """
    root = tmp_path_factory.mktemp("dinkes") / "data"
    root.mkdir()
    zones = Zones(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_DIR_ENV, str(root))
        for key, value in disdukcapil.write_demo(zones, scale=SCALE, seed=SEED).items():
            patch.setenv(key, value)
        for entry in catalog.datasets:
            if entry.agency.code == "disdukcapil":
                extract_load(entry, zones)
        dinkes.write_demo(zones, scale=SCALE, seed=SEED)
        with dinkes.serve(zones) as (_base_url, env):
            for key, value in env.items():
                patch.setenv(key, value)
            for name in dinkes.DATASETS:
                assert extract_load(catalog.dataset(f"dinkes__{name}"), zones), name
        build = build_warehouse(zones, catalog)
        assert build is not None
        served = {name: dinkes.read_feed(zones, name)
                  for name in dinkes.DATASETS}
        yield {"zones": zones, "build": build, "served": served,
               "children": disdukcapil.children_under_five(disdukcapil.generate_penduduk(SCALE, SEED)),
               "build_dir": (zones.warehouse / "current").resolve()}


def _latest(records: list[dict], key: str) -> dict[str, dict]:
    """The latest version of each record (the feed is in updated_at order: a later one wins)."""
    latest: dict[str, dict] = {}
    for record in records:
        latest[record[key]] = record
    return latest


def _mart(built: dict, name: str) -> list[dict]:
    return pq.read_table(built["build_dir"] / "marts" / f"{name}.parquet").to_pylist()


def test_immunisation_coverage_reconciles_with_the_registry_and_the_served_records(built: dict) -> None:
    served = built["served"]
    children = built["children"].to_pylist()
    ages = _ages(children)
    antigens: dict[str, set[str]] = defaultdict(set)
    for record in _latest(served["imunisasi"], "id_imunisasi").values():
        if record["tanggal_imunisasi"] <= dinkes.TANGGAL_REFERENSI.isoformat():
            antigens[record["nik"]].add(record["jenis_imunisasi"])
    sasaran: Counter = Counter()
    lengkap: Counter = Counter()
    for child in children:
        if 12 <= ages[child["nik"]] <= 23:
            sasaran[child["kode_desa"]] += 1
            lengkap[child["kode_desa"]] += antigens[child["nik"]] >= set(dinkes.IMUNISASI_DASAR)

    rows = _mart(built, "cakupan_imunisasi_dasar_lengkap_per_desa")
    assert len(rows) == 144
    got = {row["kode_desa"]: (row["jumlah_sasaran"], row["jumlah_imunisasi_lengkap"]) for row in rows}
    assert got == {kode: (sasaran[kode], lengkap[kode]) for kode in got}
    assert sum(sasaran.values()) > 50 and 0.75 < sum(lengkap.values()) / sum(sasaran.values()) < 0.98
    for row in rows:
        if row["jumlah_sasaran"]:
            expected = round(100 * row["jumlah_imunisasi_lengkap"] / row["jumlah_sasaran"], 2)
            assert float(row["persen_cakupan"]) == pytest.approx(expected, abs=0.005)
        else:
            assert row["persen_cakupan"] is None


def _ages(children: list[dict]) -> dict[str, int]:
    """Full months on the reference date, counted by DuckDB's date_sub('month', ...) (as the models do)."""
    anak = pa.Table.from_pylist([{"nik": child["nik"], "tanggal_lahir": child["tanggal_lahir"]} for child in children])
    with duckdb.connect() as con:
        con.register("anak", anak)
        return dict(con.execute("select nik, date_sub('month', tanggal_lahir, date '2026-06-30') from anak").fetchall())


def test_stunting_per_kecamatan_reconciles_with_the_served_records(built: dict) -> None:
    served = built["served"]
    true_desa = dict(zip(built["children"].column("nik").to_pylist(), built["children"].column("kode_desa").to_pylist(),
                         strict=True))
    balita = _latest(served["balita"], "nik")
    resolvable = {nik for nik, record in balita.items() if record["desa"] not in dinkes.UNRESOLVABLE_DESA}
    measurements = list(_latest(served["pengukuran"], "id_pengukuran").values())
    latest_round = max(record["bulan_pengukuran"] for record in measurements)
    per_child: dict[str, dict] = {}
    for record in measurements:
        if record["bulan_pengukuran"] != latest_round or record["umur_bulan"] >= 60:
            continue
        rank = (record["tanggal_ukur"], record["updated_at"], record["id_pengukuran"])
        if record["nik"] not in per_child or rank > per_child[record["nik"]]["rank"]:
            per_child[record["nik"]] = {**record, "rank": rank}
    measured: Counter = Counter()
    stunted: Counter = Counter()
    for nik, record in per_child.items():
        if nik in resolvable:
            kecamatan = true_desa[nik][:8]
            measured[kecamatan] += 1
            stunted[kecamatan] += record["status_tb_u"] in ("pendek", "sangat pendek")

    rows = _mart(built, "prevalensi_stunting_per_kecamatan")
    assert len(rows) == 10
    assert {row["bulan_pengukuran"] for row in rows} == {latest_round}
    got = {row["kode_kecamatan"]: (row["jumlah_balita_diukur"], row["jumlah_balita_stunting"]) for row in rows}
    assert got == {kode: (measured[kode], stunted[kode]) for kode in got}
    assert sum(measured.values()) > 100  # the test data is big enough to mean something
    for row in rows:
        if row["jumlah_balita_diukur"]:
            expected = round(100 * row["jumlah_balita_stunting"] / row["jumlah_balita_diukur"], 2)
            assert float(row["persen_stunting"]) == pytest.approx(expected, abs=0.005)
    assert {row["tahun"] for row in rows} == {int(latest_round[:4])}


def test_every_desa_spelling_is_conformed_and_the_unresolvable_are_kept(built: dict) -> None:
    served = built["served"]
    true_desa = dict(zip(built["children"].column("nik").to_pylist(), built["children"].column("kode_desa").to_pylist(),
                         strict=True))
    balita = _latest(served["balita"], "nik")
    with duckdb.connect(str(built["build_dir"] / "warehouse.duckdb"), read_only=True) as con:
        mapped = con.execute(
            "select desa_asli, kode_desa, is_wilayah_unmapped, metode_pemetaan "
            "from intermediate.int_balita_wilayah_mapped").fetchall()
        kunjungan_unmapped = con.execute(
            "select count(*) filter (where is_wilayah_unmapped), count(*) from intermediate.int_kunjungan_wilayah_mapped"
        ).fetchone()
    assert len(mapped) == len(balita)
    # Each spelling maps to the child's true desa; the unresolvable ones stay, unmapped.
    expected_by_typed = defaultdict(set)
    for nik, record in balita.items():
        expected_by_typed[record["desa"]].add(None if record["desa"] in dinkes.UNRESOLVABLE_DESA else true_desa[nik])
    for desa_asli, kode_desa, unmapped, _method in mapped:
        assert kode_desa in expected_by_typed[desa_asli], desa_asli
        assert unmapped == (kode_desa is None)
    methods = Counter(method for *_rest, method in mapped)
    assert methods["kode_kemendagri"] and methods["kode_bps"] and methods["nama"]
    assert sum(1 for row in mapped if row[2]) == sum(1 for r in balita.values() if r["desa"] in dinkes.UNRESOLVABLE_DESA)
    unresolvable_visits = sum(1 for r in served["kunjungan"] if r["desa"] in dinkes.UNRESOLVABLE_DESA)
    assert kunjungan_unmapped == (unresolvable_visits, len(served["kunjungan"]))


def test_open_marts_hold_no_nik_name_or_pseudonym(built: dict) -> None:
    served = built["served"]
    niks = set(built["children"].column("nik").to_pylist())
    names = {record["nama_balita"] for record in served["balita"]}
    marts = sorted((built["build_dir"] / "marts").glob("*.parquet"))
    dinkes_marts = {path.stem for path in marts} & {"prevalensi_stunting_per_kecamatan",
                                                    "cakupan_imunisasi_dasar_lengkap_per_desa"}
    assert "prevalensi_stunting_per_kecamatan" in dinkes_marts
    for path in marts:
        table = pq.read_table(path)
        assert not {"nik", "nik_pseudonim", "nama_balita", "tanggal_lahir"} & set(table.column_names), path.name
        for column in table.column_names:
            for value in table.column(column).to_pylist():
                text = str(value)
                assert text not in niks and text not in names, f"{path.name}: {column}"
                assert not NIK_RE.search(text) and not HEX64_RE.search(text), f"{path.name}: {column}: {text}"


def test_staging_replaces_nik_and_drops_names_and_birth_dates(built: dict) -> None:
    with duckdb.connect(str(built["build_dir"] / "warehouse.duckdb"), read_only=True) as con:
        columns = {row[0]: row[1] for row in con.execute(
            "select table_name || '.' || column_name, data_type from information_schema.columns "
            "where table_schema = 'staging' and table_name like 'stg_dinkes__%'").fetchall()}
        pseudonyms = con.execute("select nik_pseudonim from staging.stg_dinkes__balita limit 5").fetchall()
    assert not [name for name in columns if name.split(".")[1] in ("nik", "nama_balita", "tanggal_lahir")]
    assert "stg_dinkes__balita.nik_pseudonim" in columns and "stg_dinkes__balita.umur_bulan" in columns
    assert all(HEX64_RE.fullmatch(value) for (value,) in pseudonyms)

