"""The per-dataset metadata document and the metadata gate."""

from __future__ import annotations

from pathlib import Path

from synthetic_build import mart_rows, mart_table

from ingestion.catalog import Catalog, PublicationEntry
from publication.metadata import REQUIRED_FIELDS, build_metadata, check_metadata, distribution_entry


def _publication(catalog: Catalog) -> PublicationEntry:
    return next(e for e in catalog.publications if e.id == "disdik__jumlah_sekolah_per_kecamatan")


def _with_metadata(entry: PublicationEntry, **changes: object) -> PublicationEntry:
    # model_copy skips validation on purpose: it builds entries the catalog reader would refuse
    spec = entry.spec.model_copy(update={"metadata": entry.spec.metadata.model_copy(update=changes)})
    return PublicationEntry(entry.agency, entry.name, spec, entry.path)


def test_the_catalog_publication_passes(catalog: Catalog) -> None:
    entry = _publication(catalog)
    assert check_metadata(entry, mart_table().column_names) == []


def test_empty_required_fields_are_named(catalog: Catalog) -> None:
    problems = check_metadata(_with_metadata(_publication(catalog), walidata="  ", lisensi=""))
    assert len(problems) == 2
    assert "disdik.yml: publication 'jumlah_sekolah_per_kecamatan': key 'metadata.walidata'" in problems[0]
    assert "metadata.lisensi" in problems[1]
    assert "walidata" in REQUIRED_FIELDS


def test_only_open_data_is_released(catalog: Catalog) -> None:
    (problem,) = check_metadata(_with_metadata(_publication(catalog), akses="terbatas"))
    assert "only 'terbuka'" in problem


def test_columns_and_explanations_must_match(catalog: Catalog) -> None:
    columns = [c for c in mart_table().column_names if c != "satuan"] + ["npsn"]
    problems = check_metadata(_publication(catalog), columns)
    assert any("mart column 'npsn' has no penjelasan kolom" in p for p in problems)
    assert any("columns.satuan': explains a column the mart does not have" in p for p in problems)


def test_metadata_document(catalog: Catalog, tmp_path: Path) -> None:
    entry = _publication(catalog)
    table = mart_table(mart_rows(2019) + mart_rows(2021))
    csv_file = tmp_path / "x.csv"
    csv_file.write_text("a\n1\n")
    doc = build_metadata(entry, table, distribution=[distribution_entry(csv_file, 1)], release_id="r", build_id="b")
    satu = doc["satu_data"]
    assert satu["judul"] == entry.spec.metadata.judul
    assert satu["tipe_instansi"] == "daerah-kabupaten" and satu["kode_wilayah"] == "64.01"
    assert {"kode_daftar_data", "kode_standar_data", "frekuensi", "akses", "produsen_data"} <= set(satu)
    assert doc["penyajian"]["tahun_tersedia"] == [2019, 2021]
    assert doc["penyajian"]["tingkat_penyajian"] == "kecamatan"
    columns = {c["kolom"]: c for c in doc["penyajian"]["penjelasan_kolom"]}
    assert list(columns) == table.column_names
    assert columns["kode_kecamatan"]["tipe"] == "text" and columns["jumlah_sekolah"]["tipe"] == "integer"
    assert columns["kode_kecamatan"]["penjelasan"] == entry.spec.columns["kode_kecamatan"]
    (dist,) = doc["distribusi"]
    assert dist["file"] == "x.csv" and dist["bytes"] == 4 and dist["rows"] == 1 and len(dist["sha256"]) == 64
