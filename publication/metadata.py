"""Per-dataset metadata (`<publication_id>.metadata.json`) from the catalog, and the metadata gate.

The document has three blocks:
- `satu_data`: the Satu Data Indonesia metadata fields of the publication (judul, definisi, ...), plus
  the fixed facts of this platform: `tipe_instansi` 'daerah-kabupaten' and `kode_wilayah` '64.01' (Paser);
- `penyajian`: how the data is presented for the region: tingkat_penyajian, cakupan, tahun_tersedia
  (taken from the data's `tahun` column, not typed by hand) and penjelasan_kolom for every column
  (the catalog's `columns:`, or the automatic text of a column a gate adds: `disembunyikan`);
- `distribusi`: the released files (name, format, rows, bytes, sha256).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.catalog import PublicationEntry
from ingestion.durable import sha256_file

TIPE_INSTANSI = "daerah-kabupaten"
KODE_WILAYAH = "64.01"  # Kemendagri code of Kabupaten Paser: the platform publishes for one regency

# Satu Data fields in the order the portal lists them.
SATU_DATA_FIELDS = (
    "judul",
    "definisi",
    "konsep",
    "kode_daftar_data",
    "kode_standar_data",
    "satuan",
    "ukuran",
    "produsen_data",
    "walidata",
    "akses",
    "frekuensi",
    "tipe_instansi",
    "kode_wilayah",
    "lisensi",
    "topik",
)
# Fields a release cannot go out without. kode_daftar_data / kode_standar_data are assigned later by
# the walidata (Daftar Data), so they may still be null.
REQUIRED_FIELDS = (
    "judul",
    "definisi",
    "konsep",
    "satuan",
    "ukuran",
    "produsen_data",
    "walidata",
    "akses",
    "frekuensi",
    "lisensi",
    "tingkat_penyajian",
    "cakupan",
)
TAHUN_COLUMN = "tahun"

# Columns the gates add to a published table, explained here instead of in every catalog entry:
# the privacy gate adds `disembunyikan` to tables with `small_cells` (publication/privacy.py).
SUPPRESSION_COLUMN = "disembunyikan"
AUTOMATIC_COLUMNS = {SUPPRESSION_COLUMN: "true: nilai disembunyikan untuk melindungi privasi (sel kecil)"}

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
}


def _where(entry: PublicationEntry, key: str) -> str:
    return f"{entry.path.name}: publication '{entry.name}': key '{key}'"


def column_explanations(entry: PublicationEntry, columns: Iterable[str]) -> dict[str, str | None]:
    """Penjelasan kolom for each of `columns`, in order: the catalog's text, else the automatic one
    for a column a gate adds (`disembunyikan`), else None."""
    return {name: entry.spec.columns.get(name) or AUTOMATIC_COLUMNS.get(name) for name in columns}


def check_metadata(entry: PublicationEntry, columns: Iterable[str] | None = None) -> list[str]:
    """Problems that block publishing: missing or empty required fields, data that is not open, and
    columns without a penjelasan (or penjelasan for a column the data does not have), when `columns`
    is given. Each problem names the catalog file, the publication and the key. Columns a gate adds
    (`disembunyikan`) are explained automatically and need no catalog entry."""
    problems = []
    meta = getattr(entry.spec, "metadata", None)
    if meta is None:
        return [f"{_where(entry, 'metadata')}: the Satu Data metadata block is missing"]
    for name in REQUIRED_FIELDS:
        value = getattr(meta, name, None)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(f"{_where(entry, 'metadata.' + name)}: required Satu Data field is empty")
    if meta.akses != "terbuka":
        problems.append(f"{_where(entry, 'metadata.akses')}: is '{meta.akses}'; only 'terbuka' data is released")
    for name, text in entry.spec.columns.items():
        if not (text and text.strip()):
            problems.append(f"{_where(entry, 'columns.' + name)}: penjelasan kolom is empty")
    if columns is not None:
        columns = list(columns)
        for name in columns:
            if name not in entry.spec.columns and name not in AUTOMATIC_COLUMNS:
                problems.append(f"{_where(entry, 'columns')}: mart column '{name}' has no penjelasan kolom")
        for name in entry.spec.columns:
            if name not in columns:
                problems.append(f"{_where(entry, 'columns.' + name)}: explains a column the mart does not have")
    return problems


def tahun_tersedia(entry: PublicationEntry, table: pa.Table) -> list[int]:
    """The years present in the data's `tahun` column; the catalog's list when the data has no such column."""
    if TAHUN_COLUMN not in table.column_names:
        return sorted(entry.spec.metadata.tahun_tersedia)
    years = pc.unique(table[TAHUN_COLUMN].drop_null()).to_pylist()
    return sorted(int(y) for y in years)


def _column_type(data_type: pa.DataType) -> str:
    # the catalog's vocabulary (text, integer, ...), not Arrow's
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_dictionary(data_type):
        return "text"
    if pa.types.is_integer(data_type):
        return "integer"
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "decimal"
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    return str(data_type)


def distribution_entry(path: Path, rows: int) -> dict[str, Any]:
    """One `distribusi` item for a released file."""
    fmt = path.suffix.lstrip(".")
    return {
        "file": path.name,
        "format": fmt,
        "media_type": MEDIA_TYPES.get(fmt, "application/octet-stream"),
        "rows": rows,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def build_metadata(
    entry: PublicationEntry,
    table: pa.Table,
    *,
    distribution: list[dict[str, Any]],
    release_id: str | None = None,
    build_id: str | None = None,
) -> dict[str, Any]:
    """The metadata document of one publication in one release."""
    meta = entry.spec.metadata
    satu_data = {
        name: getattr(meta, name, None) for name in SATU_DATA_FIELDS if name not in ("tipe_instansi", "kode_wilayah")
    }
    satu_data["tipe_instansi"] = TIPE_INSTANSI
    satu_data["kode_wilayah"] = KODE_WILAYAH
    satu_data = {name: satu_data[name] for name in SATU_DATA_FIELDS}
    schema = table.schema
    explanations = column_explanations(entry, schema.names)
    return {
        "id": entry.id,
        "release_id": release_id,
        "build_id": build_id,
        "agency": {"kode": entry.agency.code, "nama": entry.agency.name, "singkatan": entry.agency.abbreviation},
        "satu_data": satu_data,
        "penyajian": {
            "tingkat_penyajian": meta.tingkat_penyajian,
            "cakupan": meta.cakupan,
            "tahun_tersedia": tahun_tersedia(entry, table),
            "penjelasan_kolom": [
                {
                    "kolom": name,
                    "tipe": _column_type(schema.field(name).type),
                    "penjelasan": explanations[name],
                }
                for name in schema.names
            ],
        },
        "distribusi": distribution,
        "catatan_csv": (
            "Teks yang diawali = + - @ tab atau CR diberi awalan tanda petik tunggal (') di CSV agar tidak "
            "dijalankan sebagai rumus oleh aplikasi lembar kerja; berkas Parquet memuat nilai aslinya."
        ),
    }
