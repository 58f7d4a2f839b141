"""The dbt sources files are generated from the catalog and committed: never stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from ingestion.catalog import REPO_ROOT, Catalog, load_catalog
from warehouse.sources import project_datasets, render_sources, sources_path, stale_sources, write_sources


def test_committed_sources_files_are_not_stale(catalog: Catalog) -> None:
    stale = stale_sources(catalog)
    assert not stale, f"regenerate with `python -m warehouse sources`: {[str(p) for p in stale]}"


def test_one_source_per_agency_one_table_per_dataset(catalog: Catalog) -> None:
    rendered = render_sources(catalog)
    agencies = {entry.agency.code for entry in catalog.datasets}
    assert set(rendered) == {sources_path(code) for code in agencies}
    text = rendered[sources_path("disdik")]
    assert text.startswith("# generated from catalog/disdik.yml by warehouse/sources.py; do not edit")
    (source,) = yaml.safe_load(text)["sources"]
    assert source["name"] == "raw_disdik"
    table = {t["name"]: t for t in source["tables"]}["sekolah"]
    assert table["meta"]["external_location"].startswith(
        "read_parquet('{{ var('raw_root') }}/disdik/sekolah/batch=*/data.parquet'"
    )
    assert "union_by_name = true" in table["meta"]["external_location"]
    columns = {c["name"]: c for c in table["columns"]}
    contract = catalog.dataset("disdik__sekolah").spec.contract.columns
    assert [name for name in columns if not name.startswith("_")] == list(contract)
    assert columns["npsn"]["description"] == contract["npsn"].description
    assert columns["npsn"]["data_type"] == "varchar" and columns["tahun_data"]["data_type"] == "bigint"
    assert {"_batch_id", "_loaded_at", "_source_file", "_source_row"} <= set(columns)


def test_a_catalog_change_makes_the_file_stale_until_regenerated(tmp_path: Path) -> None:
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(REPO_ROOT / "catalog", catalog_dir)
    models_dir = tmp_path / "models"
    write_sources(load_catalog(catalog_dir), models_dir)
    assert stale_sources(load_catalog(catalog_dir), models_dir) == []

    disdik = catalog_dir / "disdik.yml"
    disdik.write_text(disdik.read_text().replace("Alamat jalan sekolah", "Alamat lengkap sekolah"))
    changed = load_catalog(catalog_dir)
    assert stale_sources(changed, models_dir) == [sources_path("disdik", models_dir)]
    assert write_sources(changed, models_dir) == [sources_path("disdik", models_dir)]
    assert "Alamat lengkap sekolah" in sources_path("disdik", models_dir).read_text()
    assert stale_sources(changed, models_dir) == []


def test_the_project_datasets_follow_the_sources_files(tmp_path: Path) -> None:
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(REPO_ROOT / "catalog", catalog_dir)
    models_dir = tmp_path / "models"
    write_sources(load_catalog(catalog_dir), models_dir)
    every = project_datasets(models_dir)
    assert every == sorted(entry.id for entry in load_catalog(catalog_dir).datasets)
    assert project_datasets(models_dir) == every  # read again or remembered, the same answer

    # One agency's sources file goes: the next call reads the files again, not the remembered list.
    sources_path("dpmd", models_dir).unlink()
    assert project_datasets(models_dir) == [dataset for dataset in every if not dataset.startswith("dpmd__")]
