"""A synthetic warehouse build for the publication tests: pyarrow only, no dbt, no other room's code."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.catalog import DEFAULT_CATALOG_DIR, REPO_ROOT, load_catalog
from ingestion.zones import Zones

MART = "jumlah_sekolah_per_kecamatan"


def kecamatan_kemendagri() -> list[tuple[str, str]]:
    path = REPO_ROOT / "seeds" / "reference" / "paser_kecamatan_kemendagri.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["kode_kemendagri"], row["nama_kecamatan"]) for row in csv.DictReader(handle)]


def mart_rows(tahun: int = 2019) -> list[dict]:
    """A plausible jumlah_sekolah_per_kecamatan: every kecamatan x jenjang x status, counts >= 1."""
    rows = []
    for i, (kode, nama) in enumerate(kecamatan_kemendagri()):
        for j, jenjang in enumerate(["SD", "SMP", "SMA", "SMK", "SLB"]):
            for status in ["Negeri", "Swasta"]:
                rows.append(
                    {
                        "kode_provinsi": "64",
                        "nama_provinsi": "Kalimantan Timur",
                        "kode_kabupaten_kota": "64.01",
                        "nama_kabupaten_kota": "Paser",
                        "kode_kecamatan": kode,
                        "nama_kecamatan": nama,
                        "jenjang": jenjang,
                        "status_sekolah": status,
                        "jumlah_sekolah": 1 + (i * 7 + j * 3 + len(status)) % 20,
                        "satuan": "sekolah",
                        "tahun": tahun,
                    }
                )
    return rows


SCHEMA = pa.schema(
    [
        ("kode_provinsi", pa.string()),
        ("nama_provinsi", pa.string()),
        ("kode_kabupaten_kota", pa.string()),
        ("nama_kabupaten_kota", pa.string()),
        ("kode_kecamatan", pa.string()),
        ("nama_kecamatan", pa.string()),
        ("jenjang", pa.string()),
        ("status_sekolah", pa.string()),
        ("jumlah_sekolah", pa.int64()),
        ("satuan", pa.string()),
        ("tahun", pa.int32()),
    ]
)


def mart_table(rows: list[dict] | None = None) -> pa.Table:
    return pa.Table.from_pylist(rows if rows is not None else mart_rows(), schema=SCHEMA)


def write_build(
    zones: Zones, table: pa.Table, build_id: str, batches: tuple[str, ...] = ("20261127T000000000000Z-abcdef01",)
) -> Path:
    """Write warehouse/builds/<build_id>/ like the warehouse room does, and point warehouse/current at it."""
    build = zones.warehouse / "builds" / build_id
    (build / "marts").mkdir(parents=True)
    mart = build / "marts" / f"{MART}.parquet"
    pq.write_table(table, mart)
    digest = hashlib.sha256(mart.read_bytes()).hexdigest()
    (build / "build.json").write_text(
        json.dumps(
            {
                "build_id": build_id,
                "inputs": {"disdik__sekolah": list(batches)},
                "marts": {MART: {"rows": table.num_rows, "sha256": digest}},
                # Only the school list has been delivered: the other agencies' publications wait.
                "excluded_datasets": sorted(
                    entry.id for entry in load_catalog(DEFAULT_CATALOG_DIR).datasets if entry.id != "disdik__sekolah"
                ),
            }
        )
    )
    link = zones.warehouse / "current"
    tmp = zones.warehouse / f".current-{build_id}"
    os.symlink(Path("builds") / build_id, tmp)
    os.replace(tmp, link)
    return build
