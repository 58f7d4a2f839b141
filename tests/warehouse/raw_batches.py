"""Raw batches for the warehouse tests, written in the documented layout (docs/architecture.md).

Deliberately independent of ingestion/: the warehouse is tested against the contract (batch
directory, data.parquet columns and types, manifest.json), not against one implementation of it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.catalog import REPO_ROOT
from ingestion.zones import Zones

SEKOLAH_CSV = REPO_ROOT / "agency_systems" / "data" / "paser_sekolah_kemdikbud_2019.csv"

# Header of the Kemdikbud list -> contract column of catalog/disdik.yml.
CSV_TO_CONTRACT = {
    "npsn": "npsn",
    "nama_sekolah": "nama_sekolah",
    "bentuk": "jenjang",
    "status": "status_sekolah",
    "kode_kec_kemdikbud": "kode_kecamatan_kemdikbud",
    "kecamatan": "nama_kecamatan",
    "alamat_jalan": "alamat",
    "lintang": "lintang",
    "bujur": "bujur",
}
TEXT_COLUMNS = list(CSV_TO_CONTRACT.values())


def sekolah_rows(tahun_data: int = 2019) -> list[dict]:
    """The 323 real schools as contract rows (text stays text)."""
    with SEKOLAH_CSV.open(encoding="utf-8", newline="") as handle:
        rows = [{new: record[old] for old, new in CSV_TO_CONTRACT.items()} for record in csv.DictReader(handle)]
    for row in rows:
        row["tahun_data"] = tahun_data
    return rows


def write_batch(
    zones: Zones,
    rows: Iterable[dict],
    *,
    agency: str = "disdik",
    dataset: str = "sekolah",
    at: datetime | None = None,
    source_name: str = "sekolah_2019.xlsx",
    run: tuple[str | None, int, bool] | None = None,
) -> str:
    """Commit one batch of `rows` for a dataset (tmp dir, then one rename); return its batch_id.

    `run`: (run id, part, last) for a batch of a run of several; part 1 takes None as run id (its own
    batch id is the run's), part n > 1 is committed as `<run id>.<n:04d>` (docs/architecture.md).
    """
    rows = list(rows)
    at = at or datetime.now(UTC)
    content = json.dumps(rows, sort_keys=True).encode()
    source_sha = hashlib.sha256(content).hexdigest()
    batch_id = f"{at:%Y%m%dT%H%M%S%f}Z-{source_sha[:8]}"
    if run is not None and run[1] > 1:
        batch_id = f"{run[0]}.{run[1]:04d}"
    source_file = f"drop/{agency}/{source_name}"

    schema = pa.schema(
        [(name, pa.string()) for name in TEXT_COLUMNS]
        + [
            ("tahun_data", pa.int64()),
            ("_batch_id", pa.string()),
            ("_loaded_at", pa.timestamp("us", tz="UTC")),
            ("_source_file", pa.string()),
            ("_source_row", pa.int64()),
        ]
    )
    table = pa.Table.from_pylist(
        [
            {**row, "_batch_id": batch_id, "_loaded_at": at, "_source_file": source_file, "_source_row": index + 2}
            for index, row in enumerate(rows)
        ],
        schema=schema,
    )
    dataset_dir = zones.raw(agency, dataset)
    tmp = dataset_dir / f"_tmp-{batch_id}"
    tmp.mkdir(parents=True)
    pq.write_table(table, tmp / "data.parquet")
    data_sha = hashlib.sha256((tmp / "data.parquet").read_bytes()).hexdigest()
    manifest = {
        "batch_id": batch_id,
        "dataset": f"{agency}__{dataset}",
        "source": {
            "kind": "file",
            "path": source_file,
            "sheet": "Daftar Sekolah",
            "sha256": source_sha,
            "bytes": len(content),
            "mtime": at.timestamp(),
        },
        "cursor_before": None,
        "cursor_after": None,
        "rows_in": len(rows),
        "rows_loaded": len(rows),
        "rows_quarantined": 0,
        "rows_deduplicated": 0,
        "files": {"data.parquet": {"sha256": data_sha, "rows": len(rows)}},
        "columns": {**{name: "text" for name in TEXT_COLUMNS}, "tahun_data": "integer"},
        "started_at": at.isoformat(),
        "finished_at": (at + timedelta(seconds=1)).isoformat(),
        "seconds": 1.0,
    }
    if run is not None:
        manifest["run"] = {"id": run[0] or batch_id, "part": run[1], "last": run[2]}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    tmp.rename(dataset_dir / f"batch={batch_id}")
    return batch_id
