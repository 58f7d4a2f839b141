"""Commits one checked delivery as a batch in the raw zone (docs/architecture.md, "Batches").

    raw/<agency>/<dataset>/_tmp-<batch_id>/   data.parquet, quarantine.parquet, manifest.json (each fsynced)
      -> os.rename -> batch=<batch_id>/        then the parent folder is fsynced

A batch exists under its final name only when everything in it is written, so the presence of
`batch=<id>/manifest.json` is the commit. Leftover `_tmp-*` entries are from a crashed run and are
removed by `clean_stale_tmp` (called under the dataset lock, so never while another run writes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.catalog import DatasetEntry
from ingestion.contract import DECIMAL_PRECISION, DECIMAL_SCALE, CheckedDelivery
from ingestion.ledger import MANIFEST, REJECTED_DIR, TMP_PREFIX, batch_dir, dataset_dir, fsync_dir, fsync_file
from ingestion.zones import Zones

log = logging.getLogger(__name__)

DATA_FILE = "data.parquet"
QUARANTINE_FILE = "quarantine.parquet"

ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
}


def data_schema(column_types: dict[str, str]) -> pa.Schema:
    """data.parquet: contract columns with their declared types, then the lineage columns."""
    return pa.schema(
        [pa.field(name, ARROW_TYPES[kind]) for name, kind in column_types.items()]
        + [
            pa.field("_batch_id", pa.string(), nullable=False),
            pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("_source_file", pa.string(), nullable=False),
            pa.field("_source_row", pa.int64(), nullable=False),
        ]
    )


def quarantine_schema(columns: list[str]) -> pa.Schema:
    """quarantine.parquet: every column as delivered (text), where it came from, and why."""
    return pa.schema(
        [pa.field(name, pa.string()) for name in columns]
        + [
            pa.field("_batch_id", pa.string(), nullable=False),
            pa.field("_source_file", pa.string(), nullable=False),
            pa.field("_source_sheet", pa.string()),
            pa.field("_source_row", pa.int64(), nullable=False),
            pa.field("_column", pa.string(), nullable=False),
            pa.field("_reason", pa.string(), nullable=False),
        ]
    )


def new_batch_id(sha256: str, now: dt.datetime) -> str:
    """`%Y%m%dT%H%M%S%fZ-<first 8 hex of the source sha256>`: sorts by time."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S%f}Z-{sha256[:8]}"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def land_batch(
    zones: Zones, entry: DatasetEntry, checked: CheckedDelivery, source: dict, *, started_at: dt.datetime,
) -> dict:
    """Write and commit one batch; returns its manifest."""
    loaded_at = dt.datetime.now(dt.UTC)
    batch_id = new_batch_id(source["sha256"], loaded_at)
    tmp = dataset_dir(zones, entry) / f"{TMP_PREFIX}{batch_id}"
    tmp.mkdir(parents=True)

    data = _data_table(checked, batch_id, loaded_at)
    quarantine = _quarantine_table(checked, batch_id)
    files = {}
    for name, table in ((DATA_FILE, data), (QUARANTINE_FILE, quarantine)):
        pq.write_table(table, tmp / name)
        fsync_file(tmp / name)
        files[name] = {"sha256": _sha256(tmp / name), "rows": table.num_rows}

    rows_loaded, rows_quarantined = len(checked.loaded), len(checked.quarantined)
    if checked.rows_in != rows_loaded + rows_quarantined + checked.rows_deduplicated:
        raise RuntimeError(f"{checked.file}: rows do not add up ({checked.rows_in} in, {rows_loaded} loaded, "
                           f"{rows_quarantined} quarantined, {checked.rows_deduplicated} deduplicated)")
    finished_at = dt.datetime.now(dt.UTC)
    manifest = {
        "batch_id": batch_id,
        "dataset": entry.id,
        "source": source,
        "cursor_before": None,
        "cursor_after": None,
        "rows_in": checked.rows_in,
        "rows_loaded": rows_loaded,
        "rows_quarantined": rows_quarantined,
        "rows_deduplicated": checked.rows_deduplicated,
        "header_row": checked.header_row,
        "files": files,
        "columns": dict(checked.column_types),
        "started_at": _iso(started_at),
        "finished_at": _iso(finished_at),
        "seconds": round((finished_at - started_at).total_seconds(), 3),
    }
    with (tmp / MANIFEST).open("w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(tmp)
    final = batch_dir(zones, entry, batch_id)
    os.rename(tmp, final)
    fsync_dir(final.parent)
    return manifest


def clean_stale_tmp(zones: Zones, entry: DatasetEntry) -> list[Path]:
    """Remove `_tmp-*` batch folders and rejection files a crashed run left; returns what was removed."""
    removed = []
    folder = dataset_dir(zones, entry)
    for parent in (folder, folder / REJECTED_DIR):
        if not parent.is_dir():
            continue
        for child in parent.glob(f"{TMP_PREFIX}*"):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
            removed.append(child)
            log.warning("%s: removed, left by an interrupted run", child)
    return removed


def _data_table(checked: CheckedDelivery, batch_id: str, loaded_at: dt.datetime) -> pa.Table:
    schema = data_schema(checked.column_types)
    count = len(checked.loaded)
    arrays = [
        pa.array([values[name] for _, values in checked.loaded], type=ARROW_TYPES[kind])
        for name, kind in checked.column_types.items()
    ] + [
        pa.array([batch_id] * count, type=pa.string()),
        pa.array([loaded_at] * count, type=pa.timestamp("us", tz="UTC")),
        pa.array([checked.file] * count, type=pa.string()),
        pa.array([number for number, _ in checked.loaded], type=pa.int64()),
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _quarantine_table(checked: CheckedDelivery, batch_id: str) -> pa.Table:
    columns = list(checked.column_types)
    rows = checked.quarantined
    schema = quarantine_schema(columns)
    arrays = [pa.array([row.values.get(name) for row in rows], type=pa.string()) for name in columns] + [
        pa.array([batch_id] * len(rows), type=pa.string()),
        pa.array([checked.file] * len(rows), type=pa.string()),
        pa.array([checked.sheet] * len(rows), type=pa.string()),
        pa.array([row.number for row in rows], type=pa.int64()),
        pa.array([", ".join(row.columns) for row in rows], type=pa.string()),
        pa.array(["; ".join(row.reasons) for row in rows], type=pa.string()),
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
