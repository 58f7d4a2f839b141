"""The catalog reader: the repository's catalog is valid, and bad files fail naming file, dataset and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ingestion.catalog import CatalogError, load_catalog

REPO_CATALOG = Path(__file__).resolve().parents[2] / "catalog"


def _write_variant(tmp_path: Path, mutate) -> Path:
    """Copy catalog/disdik.yml into tmp_path after applying `mutate` to its parsed content."""
    data = yaml.safe_load((REPO_CATALOG / "disdik.yml").read_text(encoding="utf-8"))
    mutate(data)
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "disdik.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def test_repository_catalog_is_valid_and_names_derive_from_it(catalog):
    ids = [entry.id for entry in catalog.datasets]
    assert "disdik__sekolah" in ids
    sekolah = catalog.dataset("disdik__sekolah")
    assert sekolah.raw_asset == "raw__disdik__sekolah"
    assert sekolah.ingest_dag_id == "ingest__disdik__sekolah"
    assert sekolah.spec.contract.columns["npsn"].type == "text"
    # every publication names the datasets it draws on, another agency's included
    for pub in catalog.publications:
        assert set(pub.source_ids) <= set(ids)
    coverage = next(pub for pub in catalog.publications if pub.id == "dinkes__cakupan_imunisasi_dasar_lengkap_per_desa")
    assert coverage.source_ids == ["dinkes__imunisasi", "disdukcapil__penduduk"]


def test_unknown_key_names_file_dataset_and_key(tmp_path):
    folder = _write_variant(tmp_path, lambda d: d["datasets"]["sekolah"]["contract"]["columns"]["npsn"].update(typ="text"))
    with pytest.raises(CatalogError) as err:
        load_catalog(folder)
    message = str(err.value)
    assert "disdik.yml" in message
    assert "dataset 'sekolah'" in message
    assert "contract.columns.npsn.typ" in message


def test_bad_value_names_the_key(tmp_path):
    folder = _write_variant(tmp_path, lambda d: d["datasets"]["sekolah"]["metadata"].update(akses="publik"))
    with pytest.raises(CatalogError, match=r"dataset 'sekolah': key 'metadata.akses'"):
        load_catalog(folder)


def test_missing_sdi_field_is_an_error(tmp_path):
    folder = _write_variant(tmp_path, lambda d: d["publications"]["jumlah_sekolah_per_kecamatan"]["metadata"].pop("walidata"))
    with pytest.raises(CatalogError, match=r"publication 'jumlah_sekolah_per_kecamatan': key 'metadata.walidata'"):
        load_catalog(folder)


def test_primary_key_must_be_a_contract_column(tmp_path):
    folder = _write_variant(tmp_path, lambda d: d["datasets"]["sekolah"].update(primary_key=["kode_sekolah"]))
    with pytest.raises(CatalogError, match="'kode_sekolah'"):
        load_catalog(folder)


def test_schedule_trigger_needs_a_schedule(tmp_path):
    folder = _write_variant(tmp_path, lambda d: d["datasets"]["sekolah"].update(trigger={"by": "schedule"}))
    with pytest.raises(CatalogError, match="key 'trigger'"):
        load_catalog(folder)


def test_invalid_regex_is_reported(tmp_path):
    folder = _write_variant(tmp_path, lambda d: d["datasets"]["sekolah"]["contract"]["columns"]["npsn"].update(pattern="[0-9"))
    with pytest.raises(CatalogError, match="invalid regular expression"):
        load_catalog(folder)


def test_file_name_must_match_agency_code(tmp_path):
    folder = _write_variant(tmp_path, lambda d: None)
    (folder / "disdik.yml").rename(folder / "dinkes.yml")
    with pytest.raises(CatalogError, match="agency.code"):
        load_catalog(folder)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(CatalogError, match="no catalog files"):
        load_catalog(tmp_path)


def test_a_source_of_another_agency_must_exist(tmp_path):
    def mutate(data):
        data["publications"]["jumlah_sekolah_per_kecamatan"]["sources"] = ["sekolah", "disdukcapil.penduduk"]

    folder = _write_variant(tmp_path, mutate)
    with pytest.raises(CatalogError, match=r"disdik.yml: publication 'jumlah_sekolah_per_kecamatan': "
                                           r"source 'disdukcapil.penduduk' is not a dataset in the catalog"):
        load_catalog(folder)
    (folder / "disdukcapil.yml").write_text((REPO_CATALOG / "disdukcapil.yml").read_text(encoding="utf-8"), encoding="utf-8")
    pub = next(p for p in load_catalog(folder).publications if p.name == "jumlah_sekolah_per_kecamatan")
    assert pub.source_ids == ["disdik__sekolah", "disdukcapil__penduduk"]


def test_an_own_source_must_be_a_dataset_of_the_agency(tmp_path):
    folder = _write_variant(tmp_path, lambda d: d["publications"]["jumlah_sekolah_per_kecamatan"].update(sources=["murid"]))
    with pytest.raises(CatalogError, match=r"source 'murid' is not a dataset of this agency"):
        load_catalog(folder)


def test_file_drop_trigger_needs_a_file_source(tmp_path):
    def to_database(d):
        d["datasets"]["sekolah"]["source"] = {"kind": "sqlite", "connection": "disdik_dapodik", "table": "sekolah"}

    folder = _write_variant(tmp_path, to_database)
    with pytest.raises(CatalogError, match=r"dataset 'sekolah'.*'by: file_drop' watches the agency's drop folder; a 'sqlite'"):
        load_catalog(folder)
