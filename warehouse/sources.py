"""The dbt sources of the raw zone, generated from the catalog.

One file per agency, `models/staging/<agency>/_<agency>__sources.yml`: source `raw_<agency>`, one
table per dataset, read straight from the committed batches' Parquet files. The files are
committed; `tests/warehouse/test_sources.py` fails when they differ from `render_sources()`.
Regenerate with `python -m warehouse sources`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

from ingestion.catalog import REPO_ROOT, SAFE_YAML_LOADER, Catalog, ColumnType, DatasetEntry

log = logging.getLogger(__name__)

MODELS_DIR = REPO_ROOT / "models"

# The DuckDB type each contract type lands as in data.parquet (docs/architecture.md, "Batches").
DATA_TYPES: dict[ColumnType, str] = {
    "text": "varchar",
    "integer": "bigint",
    "decimal": "double",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
}

# Columns every batch adds to the contract columns.
BATCH_COLUMNS: list[tuple[str, str, str]] = [
    ("_batch_id", "varchar", "Id of the raw batch the row was loaded in (sorts by time)"),
    ("_loaded_at", "timestamp with time zone", "When the batch was loaded (UTC)"),
    ("_source_file", "varchar", "The delivered file the row came from, relative to the data root"),
    ("_source_row", "bigint", "1-based row of the record in the delivered sheet or file"),
]


def sources_path(agency_code: str, models_dir: Path = MODELS_DIR) -> Path:
    return models_dir / "staging" / agency_code / f"_{agency_code}__sources.yml"


def external_location(entry: DatasetEntry) -> str:
    """The DuckDB expression that reads every committed batch of one dataset."""
    # Only committed batches match `batch=*` (a batch being written is still `_tmp-<id>`).
    # union_by_name: a batch with an evolved contract may add columns.
    return (
        f"read_parquet('{{{{ var('raw_root') }}}}/{entry.agency.code}/{entry.name}/batch=*/data.parquet', "
        "union_by_name = true, hive_partitioning = false)"
    )


def _table(entry: DatasetEntry) -> dict:
    spec = entry.spec
    columns = []
    for name, column in spec.contract.columns.items():
        item: dict = {"name": name, "description": column.description, "data_type": DATA_TYPES[column.type]}
        if column.personal:
            item["meta"] = {"personal": column.personal}
        columns.append(item)
    columns += [{"name": name, "description": text, "data_type": dtype} for name, dtype, text in BATCH_COLUMNS]
    return {
        "name": entry.name,
        "description": f"{spec.title}. Pemilik data: {spec.owner}.",
        "meta": {
            "external_location": external_location(entry),
            "dataset_id": entry.id,
            "primary_key": list(spec.primary_key),
            # A dataset without a cursor delivers the whole list each time: staging keeps the latest batch.
            "load": "incremental" if spec.cursor else "snapshot",
            **({"cursor": spec.cursor} if spec.cursor else {}),
        },
        "columns": columns,
    }


def render_sources(catalog: Catalog, models_dir: Path = MODELS_DIR) -> dict[Path, str]:
    """The text of every agency's sources file, keyed by the path it belongs at."""
    by_agency: dict[str, list[DatasetEntry]] = {}
    for entry in catalog.datasets:  # sorted by id
        by_agency.setdefault(entry.agency.code, []).append(entry)
    rendered: dict[Path, str] = {}
    for agency_code, entries in sorted(by_agency.items()):
        agency = entries[0].agency
        document = {
            "version": 2,
            "sources": [
                {
                    "name": f"raw_{agency_code}",
                    "description": f"Raw zone batches from {agency.name} ({agency.abbreviation}).",
                    "tables": [_table(entry) for entry in entries],
                }
            ],
        }
        header = (
            f"# generated from catalog/{entries[0].path.name} by warehouse/sources.py; do not edit.\n"
            "# Regenerate: python -m warehouse sources\n"
        )
        body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=200)
        rendered[sources_path(agency_code, models_dir)] = header + body
    return rendered


def write_sources(catalog: Catalog, models_dir: Path = MODELS_DIR) -> list[Path]:
    """Write the files `render_sources()` produces; return the ones whose content changed."""
    changed = []
    for path, text in render_sources(catalog, models_dir).items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        log.info("wrote %s", path)
        changed.append(path)
    return changed


def stale_sources(catalog: Catalog, models_dir: Path = MODELS_DIR) -> list[Path]:
    """Sources files that are missing, differ from what the catalog generates, or are left over."""
    rendered = render_sources(catalog, models_dir)
    stale = [path for path, text in rendered.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    leftovers = [path for path in sorted(models_dir.glob("staging/*/_*__sources.yml")) if path not in rendered]
    return stale + leftovers


def project_datasets(models_dir: Path = MODELS_DIR) -> list[str]:
    """Dataset ids (`<agency>__<dataset>`) of every raw source the dbt project declares.

    A build may run with a smaller catalog than the project knows (one agency's catalog in a test, an
    agency not configured yet): the sources it has no batches for must still be left out of the build.
    Read once per process while the sources files are unchanged (a build asks twice; ~12 ms of YAML each).
    """
    paths = sorted(models_dir.glob("staging/*/_*__sources.yml"))
    stamp = tuple((str(path), stat.st_mtime_ns, stat.st_size) for path, stat in ((p, p.stat()) for p in paths))
    if stamp not in _PROJECT_DATASETS:
        ids = []
        for path in paths:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_YAML_LOADER) or {}
            for source in document.get("sources", []):
                agency = str(source["name"]).removeprefix("raw_")
                ids += [f"{agency}__{table['name']}" for table in source.get("tables", [])]
        _PROJECT_DATASETS.clear()
        _PROJECT_DATASETS[stamp] = sorted(ids)
    return list(_PROJECT_DATASETS[stamp])


_PROJECT_DATASETS: dict[tuple, list[str]] = {}
