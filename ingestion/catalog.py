"""The one validated reader of `catalog/<agency>.yml`.

Every other part (DAG files, the dbt sources generator, ingestion, the gates, the CLI and the
tests) reads the catalog through `load_catalog()`. Unknown keys and bad values are errors that
name the file, the dataset and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG_DIR = REPO_ROOT / "catalog"

# Asset names shared by the DAGs, the in-process runner and the tests.
WAREHOUSE_ASSET = "warehouse"
RELEASE_ASSET = "release"

NAME_RE = r"^[a-z][a-z0-9_]*$"


class CatalogError(ValueError):
    """A catalog file is missing, unreadable or invalid; the message names file, dataset and key."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- Satu Data Indonesia metadata -------------------------------------------------------------

class SdiMetadata(Strict):
    """What Satu Data Indonesia requires to list (and publish) a dataset."""

    judul: str = Field(min_length=3)
    definisi: str = Field(min_length=3)
    konsep: str = Field(min_length=3)
    satuan: str = Field(min_length=1)
    ukuran: str = Field(min_length=1)
    produsen_data: str = Field(min_length=3)
    walidata: str = Field(min_length=3)
    frekuensi: Literal["harian", "mingguan", "bulanan", "triwulanan", "semesteran", "tahunan", "tidak_tetap"]
    akses: Literal["terbuka", "terbatas", "tertutup"]
    tingkat_penyajian: Literal["kabupaten", "kecamatan", "desa", "unit"]
    lisensi: str = Field(min_length=2)
    kode_daftar_data: str | None = None
    kode_standar_data: str | None = None
    cakupan: str = "Kabupaten Paser"
    tahun_tersedia: list[int] = []
    topik: str | None = None


# --- Schema contract --------------------------------------------------------------------------

ColumnType = Literal["text", "integer", "decimal", "date", "timestamp", "boolean"]
# Reference code lists a column may be checked against (files under seeds/reference/).
ReferenceList = Literal[
    "kecamatan_kemendagri", "kecamatan_kemdikbud", "kecamatan_bps", "desa_kemendagri", "desa_bps", "desa_kpu"
]
PersonalKind = Literal["nik", "kk", "name", "birth_date", "address", "other"]


class Column(Strict):
    type: ColumnType
    description: str = Field(min_length=3)  # penjelasan kolom: shown to the public when published
    required: bool = True  # the column must be present in every delivery
    nullable: bool = True  # a row with an empty value is quarantined when False
    pattern: str | None = None  # a row whose value does not match (re.fullmatch) is quarantined
    references: ReferenceList | None = None  # a row whose code is not in the list is quarantined
    accepted_values: list[str] | None = None
    aliases: list[str] = []  # header spellings the agency uses ("NPSN", "Nama Sekolah")
    personal: PersonalKind | None = None  # personal data: never leaves the restricted zone

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
        return value


class Contract(Strict):
    columns: dict[Annotated[str, Field(pattern=NAME_RE)], Column] = Field(min_length=1)
    on_new_column: Literal["evolve", "fail"] = "fail"


# --- Sources: one model per connector kind ------------------------------------------------------

class FileSource(Strict):
    """Files an agency drops into its folder (`$SATUDATA_DATA_DIR/drop/<agency>/`)."""

    kind: Literal["file"]
    pattern: str = Field(min_length=1)  # glob inside the agency's drop folder, e.g. "sekolah*.xlsx"
    format: Literal["xlsx", "csv"]
    sheet: str | None = None  # xlsx: the sheet to read (default: the first visible one)
    header_row: int | None = Field(default=None, ge=1)  # 1-based; None: found by matching the contract
    max_bytes: int = Field(default=100 * 1024 * 1024, gt=0)


Source = Annotated[FileSource, Field(discriminator="kind")]


class Trigger(Strict):
    """How new data is noticed: a file drop, an external asset event, or a schedule."""

    by: Literal["file_drop", "asset_event", "schedule"]
    schedule: str | None = None  # cron or preset, when by == schedule
    poll_seconds: float = Field(default=5.0, gt=0)  # file_drop: how often the folder is listed

    @model_validator(mode="after")
    def _schedule_given(self) -> Trigger:
        if (self.by == "schedule") != (self.schedule is not None):
            raise ValueError("'schedule' is required when by is 'schedule', and only then")
        return self


class Dataset(Strict):
    title: str = Field(min_length=3)
    owner: str = Field(min_length=3)  # the person or unit at the agency who answers for the data
    source: Source
    primary_key: list[str] = Field(min_length=1)
    cursor: str | None = None  # incremental cursor column; None: every batch is a full snapshot
    trigger: Trigger
    contract: Contract
    metadata: SdiMetadata

    @model_validator(mode="after")
    def _keys_in_contract(self) -> Dataset:
        for key in [*self.primary_key, *([self.cursor] if self.cursor else [])]:
            if key not in self.contract.columns:
                raise ValueError(f"'{key}' (primary_key/cursor) is not a column of the contract")
        return self

    @property
    def personal_columns(self) -> list[str]:
        return [name for name, col in self.contract.columns.items() if col.personal]


class Publication(Strict):
    """An open-data dataset: a dbt mart released to the public after the gates."""

    model: str = Field(pattern=NAME_RE)  # the dbt model that builds it
    sources: list[str] = Field(min_length=1)  # datasets of this agency it is built from
    metadata: SdiMetadata
    columns: dict[Annotated[str, Field(pattern=NAME_RE)], str] = Field(min_length=1)  # penjelasan kolom


class Agency(Strict):
    code: str = Field(pattern=NAME_RE)  # short code used in names: disdik, dinkes, ...
    name: str = Field(min_length=3)  # Dinas Pendidikan dan Kebudayaan Kabupaten Paser
    abbreviation: str = Field(min_length=2)  # OPD short name as people say it: Disdikbud


class AgencyFile(Strict):
    agency: Agency
    datasets: dict[Annotated[str, Field(pattern=NAME_RE)], Dataset] = {}
    publications: dict[Annotated[str, Field(pattern=NAME_RE)], Publication] = {}

    @model_validator(mode="after")
    def _publication_sources_exist(self) -> AgencyFile:
        for pub_name, pub in self.publications.items():
            for src in pub.sources:
                if src not in self.datasets:
                    raise ValueError(f"publication '{pub_name}': source '{src}' is not a dataset of this agency")
        return self


# --- The loaded catalog ---------------------------------------------------------------------

@dataclass(frozen=True)
class DatasetEntry:
    """One agency dataset, with the names every part derives from it."""

    agency: Agency
    name: str
    spec: Dataset
    path: Path  # the catalog file it came from

    @property
    def id(self) -> str:
        return f"{self.agency.code}__{self.name}"

    @property
    def raw_asset(self) -> str:
        return f"raw__{self.id}"

    @property
    def ingest_dag_id(self) -> str:
        return f"ingest__{self.id}"


@dataclass(frozen=True)
class PublicationEntry:
    agency: Agency
    name: str
    spec: Publication
    path: Path

    @property
    def id(self) -> str:
        return f"{self.agency.code}__{self.name}"


@dataclass(frozen=True)
class Catalog:
    files: dict[Path, AgencyFile]

    @cached_property
    def datasets(self) -> list[DatasetEntry]:
        entries = [
            DatasetEntry(f.agency, name, spec, path)
            for path, f in self.files.items()
            for name, spec in f.datasets.items()
        ]
        return sorted(entries, key=lambda e: e.id)

    @cached_property
    def publications(self) -> list[PublicationEntry]:
        entries = [
            PublicationEntry(f.agency, name, spec, path)
            for path, f in self.files.items()
            for name, spec in f.publications.items()
        ]
        return sorted(entries, key=lambda e: e.id)

    def dataset(self, dataset_id: str) -> DatasetEntry:
        for entry in self.datasets:
            if entry.id == dataset_id:
                return entry
        known = ", ".join(e.id for e in self.datasets)
        raise KeyError(f"no dataset '{dataset_id}' in the catalog (known: {known})")


def _describe(path: Path, error: dict) -> str:
    loc = [str(part) for part in error["loc"]]
    where = f"{path.name}"
    if len(loc) >= 2 and loc[0] in ("datasets", "publications"):
        kind = "dataset" if loc[0] == "datasets" else "publication"
        where += f": {kind} '{loc[1]}'"
        loc = loc[2:]
    # Drop pydantic's union tags (e.g. 'file' in source.file.pattern) from the key path.
    key = ".".join(part for part in loc if part not in ("file",))
    if key:
        where += f": key '{key}'"
    return f"{where}: {error['msg']}"


def load_agency_file(path: Path) -> AgencyFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read catalog file: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}: a catalog file must be a mapping with 'agency' and 'datasets'")
    try:
        parsed = AgencyFile.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(path, err) for err in exc.errors()]
        raise CatalogError(f"{path}: invalid catalog\n  " + "\n  ".join(lines)) from None
    if parsed.agency.code != path.stem:
        raise CatalogError(f"{path.name}: key 'agency.code' is '{parsed.agency.code}' but the file is named for '{path.stem}'")
    return parsed


def load_catalog(catalog_dir: Path | None = None) -> Catalog:
    """Read and validate every `<agency>.yml` in the catalog folder."""
    folder = Path(catalog_dir) if catalog_dir else DEFAULT_CATALOG_DIR
    paths = sorted(folder.glob("*.yml"))
    if not paths:
        raise CatalogError(f"{folder}: no catalog files (*.yml)")
    return Catalog({path: load_agency_file(path) for path in paths})
