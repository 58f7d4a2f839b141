"""Portal formats: per-dataset JSON, data.json (DCAT-US v1.1, checked with its JSON schema) and
datapackage.json (checked with the frictionless library, data included)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import frictionless
import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import referencing
from referencing.jsonschema import DRAFT202012
from synthetic_build import SCHEMA, mart_rows, mart_table

from ingestion.catalog import REPO_ROOT, Catalog, PublicationEntry
from ingestion.durable import json_bytes, sha256_file
from ingestion.zones import Zones
from publication.catalogs import (
    DATA_JSON,
    DATAPACKAGE_JSON,
    data_json,
    json_records_bytes,
    write_json,
    write_release_catalogs,
)
from publication.metadata import AUTOMATIC_COLUMNS, build_metadata, check_metadata, distribution_entry
from publication.release import audit_candidate, publish_candidate, write_csv

PUB = "disdik__jumlah_sekolah_per_kecamatan"
SCHEMAS = REPO_ROOT / "publication" / "schemas"
RELEASE_ID = "20261128T080000Z-abcdef12"


def _only(catalog: Catalog, pid: str = PUB) -> Catalog:
    """The repository catalog cut down to one publication (other rooms add publications of their own)."""
    files = {}
    for path, agency_file in catalog.files.items():
        kept = {name: pub for name, pub in agency_file.publications.items() if f"{agency_file.agency.code}__{name}" == pid}
        if kept:
            files[path] = agency_file.model_copy(update={"publications": kept, "datasets": {}})
    return Catalog(files=files)


def _entry(catalog: Catalog) -> PublicationEntry:
    return next(e for e in catalog.publications if e.id == PUB)


def _release_folder(folder: Path, catalog: Catalog, table: pa.Table) -> dict[str, Any]:
    """A candidate release folder as release.py stages it (CSV, JSON, Parquet, metadata), and the
    manifest built so far (what write_release_catalogs receives)."""
    folder.mkdir(parents=True, exist_ok=True)
    entry = _entry(catalog)
    paths = [folder / f"{PUB}.{fmt}" for fmt in ("csv", "json", "parquet")]
    write_csv(table, paths[0])
    write_json(table, paths[1])
    pq.write_table(table, paths[2])
    distribution = [distribution_entry(path, table.num_rows) for path in paths]
    (folder / f"{PUB}.metadata.json").write_bytes(
        json_bytes(build_metadata(entry, table, distribution=distribution, release_id=RELEASE_ID, build_id="b"))
    )
    files = {
        p.name: {"sha256": sha256_file(p), "rows": table.num_rows if p in paths else None, "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
    }
    return {
        "release_id": RELEASE_ID,
        "build_id": "b",
        "created_at": "2026-11-28T08:00:00+00:00",
        "publications": [PUB],
        "files": files,
    }


def _dcat_validator() -> jsonschema.Draft202012Validator:
    """The copied DCAT-US catalog schema; `$ref: dataset.json` resolves to non-federal_dataset.json.

    jsonschema checks `format: uri` only with an optional package, so the check is registered here:
    an absolute URL with a scheme and a host (mailto: and urn: need no host), no spaces.
    """
    catalog_schema = json.loads((SCHEMAS / "catalog.json").read_text(encoding="utf-8"))
    dataset_schema = json.loads((SCHEMAS / "non-federal_dataset.json").read_text(encoding="utf-8"))
    registry = referencing.Registry().with_resource(
        "https://project-open-data.cio.gov/v1.1/schema/dataset.json", DRAFT202012.create_resource(dataset_schema)
    )
    checker = jsonschema.FormatChecker()

    @checker.checks("uri")
    def _absolute_uri(value: object) -> bool:
        if not isinstance(value, str) or any(c.isspace() for c in value):
            return False
        parts = urlsplit(value)
        return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme in ("mailto", "urn"))

    return jsonschema.Draft202012Validator(catalog_schema, registry=registry, format_checker=checker)


def _errors(document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _dcat_validator().iter_errors(document)]


# --- Per-dataset JSON -------------------------------------------------------------------------------


def test_json_keeps_codes_as_text_decimals_as_numbers_and_nulls(tmp_path: Path) -> None:
    table = pa.table(
        {
            "kode_desa": pa.array(["64.01.01.2001", "0070", None], pa.string()),
            "nama_desa": pa.array(["Tanah Grogot – Pasir Belengkong", 'kutip "ganda"', "=1+1"], pa.string()),
            "jumlah": pa.array([12, None, 0], pa.int64()),
            "persen": pa.array([Decimal("12.50"), Decimal("0.05"), None], pa.decimal128(6, 2)),
            "rasio": pa.array([0.25, float("nan"), None], pa.float64()),
            "disembunyikan": pa.array([False, True, None], pa.bool_()),
            "tanggal": pa.array([dt.date(2026, 6, 30), None, dt.date(2019, 1, 1)], pa.date32()),
        }
    )
    path = tmp_path / "x.json"
    write_json(table, path)
    data = path.read_bytes()
    records = json.loads(data.decode("utf-8"), parse_float=Decimal)
    assert isinstance(records, list) and len(records) == 3
    assert list(records[0]) == table.column_names  # keys in column order
    assert [r["kode_desa"] for r in records] == ["64.01.01.2001", "0070", None]
    assert records[0]["nama_desa"] == "Tanah Grogot – Pasir Belengkong" and "–" in data.decode("utf-8")
    assert records[2]["nama_desa"] == "=1+1"  # JSON is not a spreadsheet: the value stays as it is
    assert [r["jumlah"] for r in records] == [12, None, 0]
    assert [r["persen"] for r in records] == [Decimal("12.50"), Decimal("0.05"), None]  # exact, as numbers
    assert [r["rasio"] for r in records] == [Decimal("0.25"), None, None]  # NaN is not JSON: null
    assert [r["disembunyikan"] for r in records] == [False, True, None]
    assert [r["tanggal"] for r in records] == ["2026-06-30", None, "2019-01-01"]
    write_json(table, tmp_path / "y.json")
    assert (tmp_path / "y.json").read_bytes() == data  # deterministic bytes
    assert data.count(b"\n") == 5  # '[', one record per line, ']'


def test_json_of_an_empty_table_and_unsupported_types(tmp_path: Path) -> None:
    assert json.loads(json_records_bytes(mart_table([]))) == []
    with pytest.raises(ValueError, match="column 'daftar'"):
        json_records_bytes(pa.table({"daftar": pa.array([[1, 2]], pa.list_(pa.int64()))}))


def test_json_matches_the_mart(tmp_path: Path) -> None:
    table = mart_table()
    write_json(table, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8")) == table.to_pylist()


# --- data.json --------------------------------------------------------------------------------------


def test_data_json_validates_against_dcat_us(tmp_path: Path, catalog: Catalog) -> None:
    catalog = _only(catalog)
    table = mart_table(mart_rows(2019) + mart_rows(2021))
    manifest = _release_folder(tmp_path / "r", catalog, table)
    written = write_release_catalogs(tmp_path / "r", manifest, catalog, base_url="https://data.paserkab.go.id/rilis/")
    document = json.loads((tmp_path / "r" / DATA_JSON).read_text(encoding="utf-8"))
    assert _errors(document) == []
    assert written[DATA_JSON]["sha256"] == sha256_file(tmp_path / "r" / DATA_JSON)

    assert document["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    (dataset,) = document["dataset"]
    entry = _entry(catalog)
    assert dataset["title"] == entry.spec.metadata.judul
    assert dataset["publisher"] == {
        "@type": "org:Organization",
        "name": entry.spec.metadata.produsen_data,
        "subOrganizationOf": {"@type": "org:Organization", "name": "Pemerintah Kabupaten Paser"},
    }
    assert dataset["accessLevel"] == "public" and dataset["language"] == ["id"]
    assert dataset["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert dataset["temporal"] == "2019-01-01/2021-12-31"  # the years in the data, not typed by hand
    assert dataset["identifier"] == f"64.01/{PUB}" and dataset["theme"] == ["pendidikan"]
    urls = {d["format"]: (d["downloadURL"], d["mediaType"]) for d in dataset["distribution"]}
    assert urls == {
        "CSV": (f"https://data.paserkab.go.id/rilis/{PUB}.csv", "text/csv"),
        "JSON": (f"https://data.paserkab.go.id/rilis/{PUB}.json", "application/json"),
        "PARQUET": (f"https://data.paserkab.go.id/rilis/{PUB}.parquet", "application/vnd.apache.parquet"),
    }


def test_the_schema_check_catches_what_it_should(tmp_path: Path, catalog: Catalog) -> None:
    # the validator itself must fail bad catalogs, or the test above proves nothing
    catalog = _only(catalog)
    manifest = _release_folder(tmp_path / "r", catalog, mart_table())
    relative = data_json(manifest, catalog, "releases/current/")
    assert any("downloadURL" in e for e in _errors(relative))
    document = data_json(manifest, catalog, "http://127.0.0.1:8000/releases/current/")
    assert _errors(document) == []
    del document["dataset"][0]["publisher"]["name"]
    document["dataset"][0]["contactPoint"]["hasEmail"] = "walidata at paser"
    document["dataset"][0]["distribution"][0]["mediaType"] = "text/csv; charset=utf-8"
    problems = _errors(document)
    assert any(p.startswith("dataset/0/publisher") and "'name' is a required property" in p for p in problems)
    assert any(p.startswith("dataset/0/contactPoint/hasEmail") for p in problems)
    assert any(p.startswith("dataset/0/distribution") for p in problems)


def test_base_url_comes_from_the_environment(tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = _only(catalog)
    manifest = _release_folder(tmp_path / "r", catalog, mart_table())
    monkeypatch.delenv("SATUDATA_PUBLIC_BASE_URL", raising=False)
    default = data_json(manifest, catalog)
    assert default["@id"] == "http://127.0.0.1:8000/releases/current/data.json"
    monkeypatch.setenv("SATUDATA_PUBLIC_BASE_URL", "https://satudata.paserkab.go.id/rilis")  # no trailing slash
    document = data_json(manifest, catalog)
    urls = [d["downloadURL"] for d in document["dataset"][0]["distribution"]]
    assert f"https://satudata.paserkab.go.id/rilis/{PUB}.csv" in urls
    assert _errors(document) == []


def test_a_publication_missing_from_the_catalog_is_named(tmp_path: Path, catalog: Catalog) -> None:
    manifest = _release_folder(tmp_path / "r", _only(catalog), mart_table())
    manifest["publications"].append("dinkes__tidak_ada")
    with pytest.raises(ValueError, match="dinkes__tidak_ada"):
        data_json(manifest, _only(catalog), "http://x.example/")


# --- datapackage.json -------------------------------------------------------------------------------


def _package(tmp_path: Path, catalog: Catalog, table: pa.Table) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path / "r"
    manifest = _release_folder(folder, catalog, table)
    write_release_catalogs(folder, manifest, catalog)
    return folder, json.loads((folder / DATAPACKAGE_JSON).read_text(encoding="utf-8"))


def _report_errors(path: Path) -> list[list[str]]:
    return frictionless.validate(str(path)).flatten(["type", "note"])


def test_datapackage_validates_with_frictionless(tmp_path: Path, catalog: Catalog) -> None:
    catalog = _only(catalog)
    folder, package = _package(tmp_path, catalog, mart_table())
    report = frictionless.validate(str(folder / DATAPACKAGE_JSON))
    assert report.valid, report.flatten(["type", "note"])
    assert {task.type for task in report.tasks} == {"table", "file"}
    (csv_task,) = [task for task in report.tasks if task.type == "table"]
    assert csv_task.stats["rows"] == 100  # the CSV data itself was read against the schema

    resources = {r["path"]: r for r in package["resources"]}
    assert set(resources) == {f"{PUB}.csv", f"{PUB}.json", f"{PUB}.parquet"}
    for name, resource in resources.items():
        assert resource["hash"] == f"sha256:{sha256_file(folder / name)}"
        assert resource["bytes"] == (folder / name).stat().st_size
    schema = resources[f"{PUB}.csv"]["schema"]
    fields = {f["name"]: f for f in schema["fields"]}
    assert [f["name"] for f in schema["fields"]] == SCHEMA.names
    assert fields["kode_kecamatan"]["type"] == "string" and fields["jumlah_sekolah"]["type"] == "integer"
    assert fields["kode_kecamatan"]["description"] == _entry(catalog).spec.columns["kode_kecamatan"]
    assert schema["primaryKey"] == [
        "kode_provinsi",
        "kode_kabupaten_kota",
        "kode_kecamatan",
        "jenjang",
        "status_sekolah",
        "tahun",
    ]
    assert package["licenses"][0]["name"] == "CC-BY-4.0" and package["id"] == RELEASE_ID

    # the JSON file holds the same rows, valid against the same Table Schema
    rows = json.loads((folder / f"{PUB}.json").read_text(encoding="utf-8"))
    inline = frictionless.Resource(data=rows, schema=frictionless.Schema.from_descriptor(schema))
    inline_report = frictionless.validate(inline)
    assert inline_report.valid, inline_report.flatten(["type", "note"])


def test_frictionless_catches_tampering(tmp_path: Path, catalog: Catalog) -> None:
    catalog = _only(catalog)
    folder, package = _package(tmp_path, catalog, mart_table())
    with (folder / f"{PUB}.json").open("ab") as handle:
        handle.write(b" ")
    kinds = {kind for kind, _ in _report_errors(folder / DATAPACKAGE_JSON)}
    assert {"hash-count", "byte-count"} <= kinds

    # a schema that does not fit the data: codes typed as integers
    for field in package["resources"][0]["schema"]["fields"]:
        if field["name"] == "kode_kecamatan":
            field["type"] = "integer"
    (folder / "wrong.json").write_text(json.dumps(package), encoding="utf-8")
    assert "type-error" in {kind for kind, _ in _report_errors(folder / "wrong.json")}


def test_suppressed_cells_and_the_automatic_column(tmp_path: Path, catalog: Catalog) -> None:
    catalog = _only(catalog)
    rows = mart_rows()
    for row in rows[:3]:
        row["jumlah_sekolah"] = None
    table = mart_table(rows).append_column("disembunyikan", pa.array([i < 3 for i in range(len(rows))], pa.bool_()))
    entry = _entry(catalog)
    assert "disembunyikan" not in entry.spec.columns
    assert check_metadata(entry, table.column_names) == []  # explained without a catalog entry

    folder, package = _package(tmp_path, catalog, table)
    report = frictionless.validate(str(folder / DATAPACKAGE_JSON))
    assert report.valid, report.flatten(["type", "note"])
    fields = {f["name"]: f for f in package["resources"][0]["schema"]["fields"]}
    assert fields["disembunyikan"] == {
        "name": "disembunyikan",
        "type": "boolean",
        "description": AUTOMATIC_COLUMNS["disembunyikan"],
    }
    metadata = json.loads((folder / f"{PUB}.metadata.json").read_text(encoding="utf-8"))
    explained = {c["kolom"]: c["penjelasan"] for c in metadata["penyajian"]["penjelasan_kolom"]}
    assert explained["disembunyikan"] == "true: nilai disembunyikan untuk melindungi privasi (sel kecil)"
    records = json.loads((folder / f"{PUB}.json").read_text(encoding="utf-8"))
    assert records[0]["jumlah_sekolah"] is None and records[0]["disembunyikan"] is True


# --- A published release ----------------------------------------------------------------------------


def test_a_published_release_carries_valid_catalogs(zones: Zones, catalog: Catalog, make_build) -> None:  # noqa: ANN001
    """End to end through audit_candidate/publish_candidate, once release.py writes the formats."""
    make_build()
    candidate = audit_candidate(zones, _only(catalog))
    assert candidate is not None
    manifest = publish_candidate(zones, candidate["release_id"])
    if DATA_JSON not in manifest["files"]:
        pytest.skip("release.py does not call write_json/write_release_catalogs yet (integration pending)")
    folder = zones.releases / "current"
    assert {f"{PUB}.json", DATA_JSON, DATAPACKAGE_JSON} <= set(manifest["files"])  # covered by the manifest
    assert _errors(json.loads((folder / DATA_JSON).read_text(encoding="utf-8"))) == []
    report = frictionless.validate(str(folder / DATAPACKAGE_JSON))
    assert report.valid, report.flatten(["type", "note"])
