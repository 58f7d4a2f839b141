"""The per-dataset metadata document and the metadata gate."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from synthetic_build import mart_rows, mart_table

from ingestion.catalog import Catalog, PublicationEntry
from ingestion.zones import Zones
from publication.errors import GateFailed
from publication.metadata import (
    REQUIRED_FIELDS,
    build_metadata,
    check_metadata,
    column_explanations,
    distribution_entry,
)
from publication.release import audit_candidate, current_release, publish_candidate


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


def _catalog_with(catalog: Catalog, **changes: object) -> Catalog:
    """The repository catalog cut down to this publication, its metadata changed (unvalidated on purpose)."""
    files = {}
    for path, agency_file in catalog.files.items():
        if path != _publication(catalog).path:
            continue
        pub = agency_file.publications["jumlah_sekolah_per_kecamatan"]
        pub = pub.model_copy(update={"metadata": pub.metadata.model_copy(update=changes)})
        files[path] = agency_file.model_copy(update={"publications": {"jumlah_sekolah_per_kecamatan": pub}})
    return Catalog(files=files)


def test_the_suppression_column_is_explained_automatically(catalog: Catalog, tmp_path: Path) -> None:
    entry = _publication(catalog)
    columns = [*mart_table().column_names, "disembunyikan"]
    assert check_metadata(entry, columns) == []
    assert column_explanations(entry, columns)["disembunyikan"] == (
        "true: nilai disembunyikan untuk melindungi privasi (sel kecil)"
    )
    # any other column the catalog does not explain still blocks
    problems = check_metadata(entry, [*columns, "disembunyikan_lain"])
    assert any("'disembunyikan_lain' has no penjelasan kolom" in p for p in problems)


def test_a_missing_field_blocks_the_release_and_current_stays(
    catalog: Catalog, zones: Zones, make_build: Callable[..., Path]
) -> None:
    make_build()
    first = audit_candidate(zones, _catalog_with(catalog))
    assert first is not None
    published = publish_candidate(zones, first["release_id"])
    before = os.readlink(zones.releases / "current")

    make_build(mart_table(mart_rows(2020)))
    broken = _catalog_with(catalog, konsep=None, walidata="")
    with pytest.raises(GateFailed) as failed:
        audit_candidate(zones, broken)
    failures = failed.value.failures
    assert len(failures) == 2
    assert all(f.startswith("disdik__jumlah_sekolah_per_kecamatan: metadata: disdik.yml") for f in failures)
    assert "key 'metadata.konsep': required Satu Data field is empty" in failures[0]
    assert "key 'metadata.walidata': required Satu Data field is empty" in failures[1]
    assert os.readlink(zones.releases / "current") == before == published["release_id"]
    assert current_release(zones) == published
    assert (failed.value.path / "manifest.json").is_file() and failed.value.path.parent.name == "_rejected"
    assert not list(zones.releases.glob("_tmp-*"))
