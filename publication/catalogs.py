"""What the national and provincial portals harvest from a release, besides CSV and Parquet.

    write_json(table, path)                     <publication_id>.json: the table as a JSON array of records
    data_json(manifest, catalog, base_url)      data.json: a DCAT-US v1.1 catalog (what data.go.id's CKAN harvests)
    datapackage(release_dir, manifest, catalog) datapackage.json: a Frictionless Data Package of the release
    write_release_catalogs(release_dir, manifest, catalog)   writes both into the release folder

The per-dataset JSON is a plain array of records (`[{"kode_kecamatan": "64.01.01", ...}, ...]`): the
shape CKAN's `datastore_create` takes as `records` and Frictionless reads as a keyed JSON table.
Codes stay strings, numbers (decimals included) are JSON numbers, nulls are null; the bytes are the
same for the same table (one record per line, keys in column order, no spaces), so the sha256 in the
manifest is reproducible.

Download URLs in data.json are absolute (the schema's `format: uri`; a harvester fetches them from
elsewhere): `SATUDATA_PUBLIC_BASE_URL` (default http://127.0.0.1:8000/releases/current/) joined with
the file name. They point at `current/`, so the links a harvester keeps stay valid after the next
release or a rollback.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.catalog import Catalog, PublicationEntry
from ingestion.durable import json_bytes, sha256_file, write_durably
from publication.metadata import KODE_WILAYAH, MEDIA_TYPES, column_explanations

BASE_URL_ENV = "SATUDATA_PUBLIC_BASE_URL"
DEFAULT_BASE_URL = "http://127.0.0.1:8000/releases/current/"
CONTACT_EMAIL_ENV = "SATUDATA_CONTACT_EMAIL"
# The walidata's address for data.json's contactPoint; set the real one per deployment.
DEFAULT_CONTACT_EMAIL = "satudata@paserkab.go.id"

DATA_JSON = "data.json"
DATAPACKAGE_JSON = "datapackage.json"
DCAT_US_SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
DCAT_US_CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
DCAT_US_CATALOG_SCHEMA = "https://project-open-data.cio.gov/v1.1/schema/catalog.json"
PEMDA = "Pemerintah Kabupaten Paser"
SPATIAL = "Kabupaten Paser, Kalimantan Timur, Indonesia (kode wilayah Kemendagri 64.01)"

# The data formats of a publication, in the order portals list them.
DATA_FORMATS = ("csv", "json", "parquet")

# SPDX id (as the catalog writes `lisensi`) -> the licence's URL: DCAT-US wants a URI.
LICENSE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "ODC-By-1.0": "https://opendatacommons.org/licenses/by/1-0/",
    "PDDL-1.0": "https://opendatacommons.org/licenses/pddl/1-0/",
}
ACCESS_LEVELS = {"terbuka": "public", "terbatas": "restricted public", "tertutup": "non-public"}
# Satu Data `frekuensi` -> DCAT-US accrualPeriodicity (ISO 8601 repeating durations).
PERIODICITY = {
    "harian": "R/P1D",
    "mingguan": "R/P1W",
    "bulanan": "R/P1M",
    "triwulanan": "R/P3M",
    "semesteran": "R/P6M",
    "tahunan": "R/P1Y",
    "tidak_tetap": "irregular",
}


# --- Per-dataset JSON -------------------------------------------------------------------------------


def _encode_decimal(value: decimal.Decimal) -> str:
    # fixed point, never an exponent: 1E+2 is written 100, 0.10 stays 0.10 (the scale the mart declared)
    return format(value, "f") if value.is_finite() else "null"


def _encode_float(value: float) -> str:
    return json.dumps(value) if math.isfinite(value) else "null"  # JSON has no NaN or Infinity


def _encoder(field: pa.Field) -> Callable[[Any], str]:
    """How one column's Python values become JSON text."""
    data_type = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
    if pa.types.is_boolean(data_type):
        return lambda v: "true" if v else "false"
    if pa.types.is_integer(data_type):
        return str
    if pa.types.is_floating(data_type):
        return _encode_float
    if pa.types.is_decimal(data_type):
        return _encode_decimal
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return lambda v: json.dumps(v, ensure_ascii=False)
    if pa.types.is_date(data_type) or pa.types.is_timestamp(data_type) or pa.types.is_time(data_type):
        return lambda v: json.dumps(v.isoformat())
    raise ValueError(f"column '{field.name}': type {field.type} cannot be published as JSON (flat columns only)")


def json_records_bytes(table: pa.Table) -> bytes:
    """The table as a JSON array of records, one per line, keys in column order (deterministic)."""
    keys = [json.dumps(name, ensure_ascii=False) + ":" for name in table.column_names]
    encoders = [_encoder(field) for field in table.schema]
    lines = []
    for batch in table.to_batches(max_chunksize=65_536):
        columns = [
            ["null" if v is None else encode(v) for v in column.to_pylist()]
            for column, encode in zip(batch.columns, encoders, strict=True)
        ]
        for row in zip(*columns, strict=True):
            lines.append("{" + ",".join(k + v for k, v in zip(keys, row, strict=True)) + "}")
    body = ",\n".join(lines)
    return (f"[\n{body}\n]\n" if lines else "[]\n").encode("utf-8")


def write_json(table: pa.Table, path: Path) -> None:
    """Write `<publication_id>.json` (UTF-8, an array of records) and fsync it."""
    write_durably(path, json_records_bytes(table))


# --- Shared helpers ---------------------------------------------------------------------------------


def public_base_url() -> str:
    """Where `releases/current/` is served: SATUDATA_PUBLIC_BASE_URL, always ending in '/'."""
    url = os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def license_url(lisensi: str) -> str:
    """The URL of a licence given as an SPDX id (or already as a URL)."""
    if lisensi.startswith(("http://", "https://")):
        return lisensi
    return LICENSE_URLS.get(lisensi, f"https://spdx.org/licenses/{lisensi}.html")


def _entries(manifest: Mapping[str, Any], catalog: Catalog) -> list[PublicationEntry]:
    """The catalog entries of the manifest's publications, in the manifest's order."""
    by_id = {entry.id: entry for entry in catalog.publications}
    missing = [pid for pid in manifest.get("publications", []) if pid not in by_id]
    if missing:
        raise ValueError(f"release {manifest.get('release_id')}: publication(s) {', '.join(missing)} are not in the catalog")
    return [by_id[pid] for pid in manifest.get("publications", [])]


def _data_files(manifest: Mapping[str, Any], pid: str) -> list[str]:
    return [f"{pid}.{fmt}" for fmt in DATA_FORMATS if f"{pid}.{fmt}" in manifest.get("files", {})]


def _keywords(entry: PublicationEntry) -> list[str]:
    meta = entry.spec.metadata
    words = [meta.topik, entry.agency.abbreviation, meta.tingkat_penyajian, meta.satuan, "Kabupaten Paser", "Satu Data"]
    seen: list[str] = []
    for word in words:
        if word and word.strip() and word.strip() not in seen:
            seen.append(word.strip())
    return seen


def _years(entry: PublicationEntry, documents: Mapping[str, Mapping[str, Any]]) -> list[int]:
    # the years in the released data (the metadata document reads the `tahun` column), else the catalog's
    document = documents.get(entry.id) or {}
    years = (document.get("penyajian") or {}).get("tahun_tersedia")
    return sorted(int(y) for y in (years if years else entry.spec.metadata.tahun_tersedia))


# --- data.json (DCAT-US v1.1) -----------------------------------------------------------------------


def _dcat_dataset(
    entry: PublicationEntry,
    manifest: Mapping[str, Any],
    base_url: str,
    documents: Mapping[str, Mapping[str, Any]],
    contact_email: str,
) -> dict[str, Any]:
    meta = entry.spec.metadata
    pid = entry.id
    distribution = [
        {
            "@type": "dcat:Distribution",
            "title": f"{meta.judul} ({name.rsplit('.', 1)[1].upper()})",
            "downloadURL": urljoin(base_url, name),
            # the schema's mediaType pattern has no room for parameters (text/csv; charset=utf-8)
            "mediaType": MEDIA_TYPES[name.rsplit(".", 1)[1]].split(";")[0].strip(),
            "format": name.rsplit(".", 1)[1].upper(),
            "describedBy": urljoin(base_url, f"{pid}.metadata.json"),
            "describedByType": "application/json",
        }
        for name in _data_files(manifest, pid)
    ]
    dataset: dict[str, Any] = {
        "@type": "dcat:Dataset",
        "title": meta.judul,
        "description": f"{meta.definisi.rstrip('.')}.\n\nKonsep: {meta.konsep.rstrip('.')}.",
        "keyword": _keywords(entry),
        "modified": manifest["created_at"],
        "publisher": {
            "@type": "org:Organization",
            "name": meta.produsen_data,
            "subOrganizationOf": {"@type": "org:Organization", "name": PEMDA},
        },
        "contactPoint": {"@type": "vcard:Contact", "fn": meta.walidata, "hasEmail": f"mailto:{contact_email}"},
        "identifier": f"{KODE_WILAYAH}/{pid}",
        "accessLevel": ACCESS_LEVELS[meta.akses],
        "license": license_url(meta.lisensi),
        "spatial": SPATIAL,
        "accrualPeriodicity": PERIODICITY[meta.frekuensi],
        "language": ["id"],
        "distribution": distribution,
    }
    years = _years(entry, documents)
    if years:
        dataset["temporal"] = f"{years[0]:04d}-01-01/{years[-1]:04d}-12-31"
    if meta.topik:
        dataset["theme"] = [meta.topik]
    return dataset


def data_json(
    release_manifest: Mapping[str, Any],
    catalog: Catalog,
    base_url: str | None = None,
    *,
    documents: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The DCAT-US v1.1 catalog of a release: one dataset per publication, CSV/JSON/Parquet distributions.

    `documents` (publication id -> its `<id>.metadata.json`) supplies the years found in the data;
    without it the catalog's `tahun_tersedia` is used.
    """
    base = base_url or public_base_url()
    base = base if base.endswith("/") else base + "/"
    contact = os.environ.get(CONTACT_EMAIL_ENV, "").strip() or DEFAULT_CONTACT_EMAIL
    return {
        "@context": DCAT_US_CONTEXT,
        "@id": urljoin(base, DATA_JSON),
        "@type": "dcat:Catalog",
        "conformsTo": DCAT_US_SCHEMA,
        "describedBy": DCAT_US_CATALOG_SCHEMA,
        "dataset": [
            _dcat_dataset(entry, release_manifest, base, documents or {}, contact)
            for entry in _entries(release_manifest, catalog)
        ],
    }


# --- datapackage.json (Frictionless) ----------------------------------------------------------------


def _slug(text: str) -> str:
    # Frictionless names allow [-a-z0-9._/] only: publication ids use '_'
    return text.lower().replace("_", "-")


def _field_type(data_type: pa.DataType) -> tuple[str, dict[str, Any]]:
    """Table Schema type (and extra properties) of an Arrow type."""
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return "string", {}
    if pa.types.is_boolean(data_type):
        return "boolean", {}
    if pa.types.is_integer(data_type):
        return "integer", {}
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "number", {}
    if pa.types.is_date(data_type):
        return "date", {}
    if pa.types.is_timestamp(data_type):
        return "datetime", {"format": "any"}  # CSV writes '2026-06-30 00:00:00', JSON ISO with 'T'
    if pa.types.is_time(data_type):
        return "time", {"format": "any"}
    return "any", {}


def _primary_key(entry: PublicationEntry, table: pa.Table) -> list[str] | None:
    """The cell columns (+ tahun) when they identify every row of this release's data, else None.

    The catalog names a publication's cells only in `small_cells`; other tables are keyed by their
    code and category columns (text columns other than `nama_*`, which follow their codes, and
    `satuan`). The key is declared only when the data proves it, so the package never lies.
    """
    if entry.spec.small_cells is not None:
        key = list(entry.spec.small_cells.cell)
    else:
        key = [
            f.name
            for f in table.schema
            if _field_type(f.type)[0] == "string" and not f.name.startswith("nama_") and f.name != "satuan"
        ]
    if "tahun" in table.column_names and "tahun" not in key:
        key.append("tahun")
    if not key or any(name not in table.column_names or table[name].null_count for name in key):
        return None
    if table.num_rows and table.select(key).group_by(key).aggregate([]).num_rows != table.num_rows:
        return None
    return key


def _table_schema(entry: PublicationEntry, table: pa.Table) -> dict[str, Any]:
    explanations = column_explanations(entry, table.column_names)
    fields = []
    for field in table.schema:
        kind, extra = _field_type(field.type)
        item: dict[str, Any] = {"name": field.name, "type": kind, **extra}
        if explanations[field.name]:
            item["description"] = explanations[field.name]
        fields.append(item)
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
    key = _primary_key(entry, table)
    if key:
        schema["primaryKey"] = key
    return schema


def _license(lisensi: str) -> dict[str, str]:
    return {"name": lisensi, "path": license_url(lisensi), "title": lisensi}


def datapackage(release_dir: Path, manifest: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """The Frictionless Data Package of a release folder: a resource per published data file.

    The CSV resource is the tabular one: a Table Schema typed from the Parquet file, with the penjelasan
    kolom as descriptions. JSON and Parquet are listed as file resources (hash and size checked):
    Frictionless reads them as tables only with optional plugins (frictionless[json], [parquet]) the
    platform does not install; the JSON holds the same rows and columns as the CSV. Hashes and sizes
    come from the manifest, else from the file.
    """
    files = manifest.get("files", {})
    resources = []
    licenses: list[str] = []
    for entry in _entries(manifest, catalog):
        pid = entry.id
        meta = entry.spec.metadata
        if meta.lisensi not in licenses:
            licenses.append(meta.lisensi)
        parquet = release_dir / f"{pid}.parquet"
        schema = _table_schema(entry, pq.read_table(parquet)) if parquet.is_file() else None
        for name in _data_files(manifest, pid):
            fmt = name.rsplit(".", 1)[1]
            path = release_dir / name
            info = files.get(name) or {}
            resource: dict[str, Any] = {
                "name": f"{_slug(pid)}-{fmt}",
                "path": name,
                "title": f"{meta.judul} ({fmt.upper()})",
                "description": meta.definisi,
                "format": fmt,
                "mediatype": MEDIA_TYPES[fmt].split(";")[0].strip(),
                "bytes": info.get("bytes", path.stat().st_size),
                "hash": f"sha256:{info.get('sha256') or sha256_file(path)}",
                "licenses": [_license(meta.lisensi)],
            }
            if fmt == "csv" and schema is not None:
                resource.update({"type": "table", "encoding": "utf-8", "schema": schema})
            else:
                resource["type"] = "file"
            resources.append(resource)
    created = manifest.get("created_at") or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return {
        "name": "satu-data-kabupaten-paser",
        "id": manifest["release_id"],
        "title": f"Satu Data Kabupaten Paser, rilis {manifest['release_id']}",
        "description": (
            f"Data terbuka {PEMDA} (kode wilayah {KODE_WILAYAH}) yang lolos semua pemeriksaan "
            "(kualitas, privasi, metadata); daftar berkas dan sha256-nya ada di manifest.json."
        ),
        "created": created,
        "keywords": sorted({word for entry in _entries(manifest, catalog) for word in _keywords(entry)}),
        "licenses": [_license(name) for name in licenses],
        "resources": resources,
    }


def _read_documents(release_dir: Path, manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    documents = {}
    for pid in manifest.get("publications", []):
        path = release_dir / f"{pid}.metadata.json"
        if path.is_file():
            documents[pid] = json.loads(path.read_text(encoding="utf-8"))
    return documents


def write_release_catalogs(
    release_dir: Path, manifest: Mapping[str, Any], catalog: Catalog, *, base_url: str | None = None
) -> dict[str, dict[str, Any]]:
    """Write data.json and datapackage.json into a candidate release folder (fsynced).

    Call it before manifest.json is written, with the manifest built so far (release_id, created_at,
    publications, files of the data): returns the manifest `files` entries of the two new files, so
    that manifest.json covers them like every other file of the release.
    """
    documents = _read_documents(release_dir, manifest)
    written = {}
    for name, document in (
        (DATA_JSON, data_json(manifest, catalog, base_url, documents=documents)),
        (DATAPACKAGE_JSON, datapackage(release_dir, manifest, catalog)),
    ):
        path = release_dir / name
        write_durably(path, json_bytes(document))
        written[name] = {"sha256": sha256_file(path), "rows": None, "bytes": path.stat().st_size}
    return written
