"""The privacy gate inside write-audit-publish: NIKs block, small cells are published suppressed, and a
bypassed suppression is caught; `releases/current` never moves on a failure."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from synthetic_build import mart_table, write_build

from ingestion.catalog import REPO_ROOT, Catalog, Publication, load_catalog
from ingestion.durable import sha256_file
from ingestion.zones import Zones
from publication import release
from publication.errors import GateFailed
from publication.privacy import SUPPRESSED_COLUMN, SuppressionResult, read_csv_as_text, scan
from publication.release import audit_candidate, current_release, publish_candidate

MODEL = "jumlah_penduduk_per_desa"
PUB = f"disdik__{MODEL}"
COLUMNS = {
    "kode_provinsi": "Kode provinsi menurut Kemendagri",
    "nama_provinsi": "Nama provinsi",
    "kode_kabupaten_kota": "Kode kabupaten/kota menurut Kemendagri",
    "nama_kabupaten_kota": "Nama kabupaten/kota",
    "kode_kecamatan": "Kode kecamatan menurut Kemendagri",
    "nama_kecamatan": "Nama kecamatan",
    "kode_desa": "Kode desa/kelurahan menurut Kemendagri",
    "nama_desa": "Nama desa/kelurahan",
    "jenis_kelamin": "Jenis kelamin (L/P)",
    "jumlah_penduduk": "Banyaknya penduduk",
    "persentase": "Persentase terhadap penduduk desa",
    "keterangan": "Catatan petugas",
    "satuan": "Satuan ukuran nilai",
    "tahun": "Tahun keadaan data",
}
SUITE = f"""
suite: {PUB}
expectations:
  - expect_table_columns_to_match_set:
      column_set: [{", ".join([*COLUMNS, SUPPRESSED_COLUMN])}]
      exact_match: true
  - expect_column_values_to_not_be_null: {{column: kode_desa}}
  - expect_column_values_to_be_in_set: {{column: kode_desa, value_set_from: 'reference:desa_kemendagri'}}
  - expect_column_values_to_be_in_set: {{column: jenis_kelamin, value_set: [L, P]}}
  - expect_column_values_to_be_between: {{column: jumlah_penduduk, min_value: 0}}
  - expect_column_values_to_not_be_null: {{column: jumlah_penduduk, mostly: 0.5}}
"""
NIK_SPELLINGS = ["6401021508900001", "6401 0215 0890 0001", "6401.0215.0890.0001"]


def _desa(count: int = 10) -> list[dict[str, str]]:
    path = REPO_ROOT / "seeds" / "reference" / "paser_desa_kelurahan_kemendagri.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))[:count]


def penduduk_rows(small: dict[tuple[int, str], int] | None = None) -> list[dict]:
    """A jumlah_penduduk_per_desa for 10 desa x L/P with plausible counts; `small` overrides (desa index, jk)."""
    rows = []
    for i, desa in enumerate(_desa()):
        counts = {"L": 150 + 23 * i, "P": 160 + 19 * i}
        counts.update({jk: value for (index, jk), value in (small or {}).items() if index == i})
        for jk in ("L", "P"):
            rows.append(
                {
                    "kode_provinsi": "64",
                    "nama_provinsi": "Kalimantan Timur",
                    "kode_kabupaten_kota": "64.01",
                    "nama_kabupaten_kota": "Paser",
                    "kode_kecamatan": desa["kode_kecamatan"],
                    "nama_kecamatan": desa["nama_kecamatan"],
                    "kode_desa": desa["kode_kemendagri"],
                    "nama_desa": desa["nama"],
                    "jenis_kelamin": jk,
                    "jumlah_penduduk": counts[jk],
                    "persentase": round(100 * counts[jk] / (counts["L"] + counts["P"]), 2),
                    "keterangan": "rekap semester I" if i % 3 == 0 else None,
                    "satuan": "jiwa",
                    "tahun": 2025,
                }
            )
    return rows


TYPES = {"jumlah_penduduk": pa.int64(), "persentase": pa.float64(), "tahun": pa.int32()}
SCHEMA = pa.schema([(name, TYPES.get(name, pa.string())) for name in COLUMNS])


@pytest.fixture
def privacy_catalog() -> Catalog:
    """The disdik agency with one publication that counts people (small_cells)."""
    base = load_catalog()
    path = next(p for p in base.files if p.name == "disdik.yml")
    agency_file = base.files[path]
    metadata = next(iter(agency_file.publications.values())).metadata.model_dump()
    metadata.update(judul="Jumlah Penduduk menurut Desa dan Jenis Kelamin", satuan="jiwa", tingkat_penyajian="desa")
    publication = Publication.model_validate(
        {
            "model": MODEL,
            "sources": ["sekolah"],
            "metadata": metadata,
            "columns": COLUMNS,
            "small_cells": {
                "counts": ["jumlah_penduduk"],
                "cell": ["kode_desa", "jenis_kelamin", "tahun"],
                "margins": ["kode_desa", "jenis_kelamin"],
                "derived": ["persentase"],
            },
        }
    )
    return Catalog({path: agency_file.model_copy(update={"publications": {MODEL: publication}})})


@pytest.fixture(autouse=True)
def suite_and_clock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A suite for the test publication, and audits one minute apart (release ids sort in order)."""
    suite = tmp_path / f"{PUB}.yml"
    suite.write_text(SUITE, encoding="utf-8")
    monkeypatch.setattr(release, "suite_path_for", lambda pid: suite)
    start = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    ticks = iter(range(10_000))
    monkeypatch.setattr(release, "_now", lambda: start + timedelta(minutes=next(ticks)))


BUILDS = iter(range(1, 10_000))


def make_penduduk_build(zones: Zones, rows: list[dict]) -> Path:
    """A synthetic build (tests/publication/synthetic_build.py) that also holds the penduduk mart."""
    n = next(BUILDS)
    build = write_build(zones, mart_table(), f"20261127T1{n:05d}Z-{n:08x}")
    return add_mart(build, MODEL, pa.Table.from_pylist(rows, schema=SCHEMA))


def add_mart(build: Path, model: str, table: pa.Table) -> Path:
    """Write `table` as the build's exported mart `model` and list it in its build.json."""
    mart = build / "marts" / f"{model}.parquet"
    pq.write_table(table, mart)
    info = json.loads((build / "build.json").read_text())
    info["marts"][model] = {"rows": table.num_rows, "sha256": sha256_file(mart)}
    (build / "build.json").write_text(json.dumps(info))
    return build


def _release(zones: Zones, catalog: Catalog) -> dict:
    candidate = audit_candidate(zones, catalog)
    assert candidate is not None and candidate["passed"] is True
    return publish_candidate(zones, candidate["release_id"])


def _published_rows(zones: Zones) -> list[dict[str, str]]:
    text = (zones.releases / "current" / f"{PUB}.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_a_nik_in_free_text_blocks_the_release_in_every_spelling(zones: Zones, privacy_catalog: Catalog) -> None:
    make_penduduk_build(zones, penduduk_rows())
    good = _release(zones, privacy_catalog)
    manifest_bytes = (zones.releases / "current" / "manifest.json").read_bytes()
    for spelling in NIK_SPELLINGS:
        rows = penduduk_rows()
        rows[6]["keterangan"] = f"pindah datang, pelapor NIK {spelling} (lihat berkas)"
        make_penduduk_build(zones, rows)
        with pytest.raises(GateFailed) as caught:
            audit_candidate(zones, privacy_catalog)
        privacy_lines = [line for line in caught.value.failures if ": privacy: " in line]
        assert privacy_lines == [
            f"{PUB}: privacy: {PUB}.parquet: column 'keterangan', row 7: NIK/KK-like number 6401********0001"
        ], spelling
        assert "0215" not in str(caught.value)  # the report masks the number
        rejected = json.loads((caught.value.path / "manifest.json").read_text())
        assert rejected["gates"]["privacy"][PUB] == "fail" and rejected["gates"]["quality"][PUB] == "pass"
        assert os.readlink(zones.releases / "current") == good["release_id"]
        assert (zones.releases / "current" / "manifest.json").read_bytes() == manifest_bytes


def test_a_count_of_three_is_published_suppressed(zones: Zones, privacy_catalog: Catalog) -> None:
    build = make_penduduk_build(zones, penduduk_rows(small={(4, "L"): 3}))
    manifest = _release(zones, privacy_catalog)
    assert manifest["gates"]["privacy"] == {PUB: "pass"} and manifest["passed"] is True
    desa = [d["kode_kemendagri"] for d in _desa()]
    # (desa 4, L) = 3 is the small cell; desa 4's P hides it from the desa total, and the smallest other
    # L (desa 0: 150) hides it from the L total, which then needs desa 0's P as well.
    expected = sorted([[desa[4], "L", 2025], [desa[4], "P", 2025], [desa[0], "L", 2025], [desa[0], "P", 2025]])
    assert manifest["privacy"]["suppressed"][PUB] == expected
    assert manifest["privacy"]["suppression"][PUB] == {"primary": 1, "complementary": 3, "cells": 4}

    published = _published_rows(zones)
    hidden = sorted([r["kode_desa"], r["jenis_kelamin"], int(r["tahun"])] for r in published if r[SUPPRESSED_COLUMN] == "true")
    assert hidden == expected
    for row in published:
        if row[SUPPRESSED_COLUMN] == "true":
            assert row["jumlah_penduduk"] == "" and row["persentase"] == ""
        else:
            assert row[SUPPRESSED_COLUMN] == "false" and int(row["jumlah_penduduk"]) >= 10
    parquet = zones.releases / "current" / f"{PUB}.parquet"
    assert parquet.read_bytes() != (build / "marts" / f"{MODEL}.parquet").read_bytes()  # not a copy of the mart
    assert 3 not in pq.read_table(parquet)["jumlah_penduduk"].to_pylist()
    assert scan(pq.read_table(parquet), "x", privacy_catalog.publications[0].spec.small_cells) == []
    assert scan(read_csv_as_text(zones.releases / "current" / f"{PUB}.csv"), "x", None) == []
    metadata = json.loads((zones.releases / "current" / f"{PUB}.metadata.json").read_text())
    explained = {c["kolom"]: c["penjelasan"] for c in metadata["penyajian"]["penjelasan_kolom"]}
    assert "disembunyikan" in explained[SUPPRESSED_COLUMN]
    validation = json.loads((zones.releases / "current" / "validation" / f"{PUB}.json").read_text())
    assert validation["success"] is True  # the suite ran on the suppressed table (it demands the column)

    # Next release: desa 1's L (173) is now smaller than desa 0's (150 -> 400), but last release's cells win.
    rows = penduduk_rows(small={(4, "L"): 3, (0, "L"): 400})
    make_penduduk_build(zones, rows)
    again = _release(zones, privacy_catalog)
    assert again["privacy"]["suppressed"][PUB] == expected


def _no_suppression(table: pa.Table, rules, previous=None) -> SuppressionResult:
    return SuppressionResult(table.append_column(SUPPRESSED_COLUMN, pa.array([False] * table.num_rows)), set(), 0, 0)


def _primary_only(table: pa.Table, rules, previous=None) -> SuppressionResult:
    small = [v is not None and 1 <= v <= rules.max_suppressed for v in table["jumlah_penduduk"].to_pylist()]
    counts = [None if s else v for s, v in zip(small, table["jumlah_penduduk"].to_pylist(), strict=True)]
    table = table.set_column(table.schema.get_field_index("jumlah_penduduk"), "jumlah_penduduk", pa.array(counts, pa.int64()))
    return SuppressionResult(table.append_column(SUPPRESSED_COLUMN, pa.array(small)), set(), sum(small), 0)


@pytest.mark.parametrize(
    ("bypass", "finding"),
    [
        (_no_suppression, "column 'jumlah_penduduk', row 9: count 3 is visible (counts 1..9 must be suppressed)"),
        (_primary_only, "column 'jumlah_penduduk', row 9: the only hidden cell along 'jenis_kelamin' in its group"),
    ],
)
def test_a_bypassed_suppression_is_caught_by_the_scan(
    zones: Zones, privacy_catalog: Catalog, monkeypatch: pytest.MonkeyPatch, bypass, finding: str
) -> None:
    make_penduduk_build(zones, penduduk_rows())
    good = _release(zones, privacy_catalog)
    make_penduduk_build(zones, penduduk_rows(small={(4, "L"): 3}))
    monkeypatch.setattr(release, "suppress", bypass)
    with pytest.raises(GateFailed) as caught:
        audit_candidate(zones, privacy_catalog)
    failures = caught.value.failures
    assert failures and all(line.startswith(f"{PUB}: privacy: {PUB}.parquet: ") for line in failures), failures
    assert any(finding in line for line in failures), failures
    assert current_release(zones)["release_id"] == good["release_id"]
    assert json.loads((caught.value.path / "manifest.json").read_text())["gates"]["privacy"][PUB] == "fail"


# --- Complementary counts (part_of): sasaran - imunisasi lengkap --------------------------------------------

IMUNISASI = "cakupan_imunisasi_dasar_lengkap_per_desa"
IMUNISASI_PUB = f"dinkes__{IMUNISASI}"


@pytest.fixture
def imunisasi_catalog(monkeypatch: pytest.MonkeyPatch) -> Catalog:
    """The real Dinkes immunisation publication (catalog small_cells, GX suite) and nothing else."""
    from publication import quality

    monkeypatch.setattr(release, "suite_path_for", quality.suite_path_for)
    base = load_catalog()
    path = next(p for p in base.files if p.name == "dinkes.yml")
    agency_file = base.files[path]
    return Catalog({path: agency_file.model_copy(update={"publications": {IMUNISASI: agency_file.publications[IMUNISASI]}})})


def make_imunisasi_build(zones: Zones, lengkap: dict[int, int]) -> Path:
    """Every desa of Paser with 40 + i children (sasaran) of whom `lengkap[i]` (default 25) are fully immunised."""
    n = next(BUILDS)
    build = write_build(zones, mart_table(), f"20261127T2{n:05d}Z-{n:08x}")
    rows = []
    for i, desa in enumerate(_desa(200)):
        sasaran, done = 40 + i, lengkap.get(i, 25)
        rows.append(
            {
                "kode_provinsi": "64", "nama_provinsi": "Kalimantan Timur", "kode_kabupaten_kota": "64.01",
                "nama_kabupaten_kota": "Paser", "kode_kecamatan": desa["kode_kecamatan"],
                "nama_kecamatan": desa["nama_kecamatan"], "kode_desa": desa["kode_kemendagri"], "nama_desa": desa["nama"],
                "jumlah_sasaran": sasaran, "jumlah_imunisasi_lengkap": done,
                "persen_cakupan": Decimal(f"{100 * done / sasaran:.2f}"), "satuan": "anak", "tahun": 2026,
            }
        )  # fmt: skip
    types = {"jumlah_sasaran": pa.int64(), "jumlah_imunisasi_lengkap": pa.int64(), "persen_cakupan": pa.decimal128(5, 2)}
    schema = pa.schema([(name, types.get(name, pa.int32() if name == "tahun" else pa.string())) for name in rows[0]])
    return add_mart(build, IMUNISASI, pa.Table.from_pylist(rows, schema=schema))


def test_a_small_number_of_children_not_immunised_is_suppressed(zones: Zones, imunisasi_catalog: Catalog) -> None:
    # Desa 7: 47 children, 44 fully immunised: both counts are large, but 47 - 44 = 3 children are not.
    make_imunisasi_build(zones, {7: 44})
    manifest = _release(zones, imunisasi_catalog)
    assert manifest["gates"]["privacy"] == {IMUNISASI_PUB: "pass"}
    desa = _desa(200)
    text = (zones.releases / "current" / f"{IMUNISASI_PUB}.csv").read_text(encoding="utf-8")
    published = {row["kode_desa"]: row for row in csv.DictReader(io.StringIO(text))}
    row = published[desa[7]["kode_kemendagri"]]
    assert row[SUPPRESSED_COLUMN] == "true" and row["jumlah_sasaran"] == row["jumlah_imunisasi_lengkap"] == ""
    assert [desa[7]["kode_kecamatan"], desa[7]["kode_kemendagri"]] in manifest["privacy"]["suppressed"][
        IMUNISASI_PUB
    ]
    assert manifest["privacy"]["suppression"][IMUNISASI_PUB]["primary"] == 1
    for shown in published.values():  # no visible row gives away 1..10 children not immunised
        if shown[SUPPRESSED_COLUMN] == "false":
            assert not 1 <= int(shown["jumlah_sasaran"]) - int(shown["jumlah_imunisasi_lengkap"]) <= 10


def test_a_visible_small_complement_is_caught_by_the_scan(
    zones: Zones, imunisasi_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_imunisasi_build(zones, {7: 44})
    monkeypatch.setattr(release, "suppress", _no_suppression)
    with pytest.raises(GateFailed) as caught:
        audit_candidate(zones, imunisasi_catalog)
    assert caught.value.failures == [
        f"{IMUNISASI_PUB}: privacy: {IMUNISASI_PUB}.parquet: column 'jumlah_imunisasi_lengkap', row 8: "
        "jumlah_sasaran - jumlah_imunisasi_lengkap 3 is visible (counts 1..10 must be suppressed)"
    ]
