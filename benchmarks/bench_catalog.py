"""The catalog our connector is measured with: `catalog/bench.yml`, one dataset per benchmark case.

Written into a scratch folder, never into the repository's catalog. The contract matches the rows of
`benchmarks.datagen` exactly, so every row must load and none may be quarantined.
"""

from __future__ import annotations

from pathlib import Path

import yaml

AGENCY = "bench"
PG_CONNECTION = "bench_pg"
MYSQL_CONNECTION = "bench_mysql"

CONTRACT_COLUMNS = {
    "kode_transaksi": {"type": "text", "description": "Kode transaksi (kunci)", "nullable": False},
    "nik": {"type": "text", "description": "NIK wajib pajak, 16 digit", "pattern": "[0-9]{16}", "personal": "nik"},
    "jumlah_item": {"type": "integer", "description": "Jumlah item"},
    "nilai": {"type": "decimal", "description": "Nilai transaksi (rupiah)"},
    "tanggal": {"type": "date", "description": "Tanggal transaksi"},
    "waktu_catat": {"type": "timestamp", "description": "Waktu pencatatan"},
    "lunas": {"type": "boolean", "description": "Sudah lunas"},
    "keterangan": {"type": "text", "description": "Keterangan bebas"},
}

_METADATA = {
    "judul": "Transaksi uji kecepatan",
    "definisi": "Data buatan untuk mengukur kecepatan konektor",
    "konsep": "Data buatan, bukan data nyata",
    "satuan": "transaksi",
    "ukuran": "jumlah",
    "produsen_data": "Tim Satu Data Paser",
    "walidata": "Diskominfo Kabupaten Paser",
    "frekuensi": "tidak_tetap",
    "akses": "tertutup",
    "tingkat_penyajian": "unit",
    "lisensi": "CC-BY-4.0",
}


def dataset_name(case: str, rows: int) -> str:
    return f"{case}_{rows}"


MAX_BYTES = 8 * 1024**3  # the 10M-row CSV is ~1.2 GB; xlsx members are checked uncompressed


def file_source(file_name: str, file_format: str) -> dict:
    source = {"kind": "file", "pattern": file_name, "format": file_format, "max_bytes": MAX_BYTES}
    if file_format == "csv":
        source["delimiter"] = ","
    else:
        source["sheet"] = "Transaksi"
        source["header_row"] = 1
    return source


def relational_source(kind: str, table: str) -> dict:
    connection = PG_CONNECTION if kind == "postgres" else MYSQL_CONNECTION
    return {"kind": kind, "connection": connection, "table": table}


def write_catalog(folder: Path, datasets: dict[str, dict]) -> Path:
    """Write `<folder>/bench.yml` with `datasets` (name -> source block); returns the catalog folder."""
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "agency": {"code": AGENCY, "name": "Agensi Uji Kecepatan (benchmark)", "abbreviation": "Bench"},
        "datasets": {
            name: {
                "title": f"Transaksi uji kecepatan ({name})",
                "owner": "Tim Satu Data Paser",
                "source": source,
                "primary_key": ["kode_transaksi"],
                "trigger": {"by": "file_drop"} if source["kind"] == "file" else {"by": "schedule", "schedule": "@daily"},
                "contract": {"on_new_column": "fail", "columns": CONTRACT_COLUMNS},
                "metadata": _METADATA,
            }
            for name, source in datasets.items()
        },
    }
    (folder / f"{AGENCY}.yml").write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return folder
