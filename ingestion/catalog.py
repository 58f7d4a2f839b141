"""The one validated reader of `catalog/<agency>.yml`.

Every other part (DAG files, the dbt sources generator, ingestion, the gates, the CLI and the
tests) reads the catalog through `load_catalog()`. Unknown keys and bad values are errors that
name the file, the dataset and the key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG_DIR = REPO_ROOT / "catalog"
CATALOG_DIR_ENV = "SATUDATA_CATALOG_DIR"

# Asset names shared by the DAGs, the in-process runner and the tests.
WAREHOUSE_ASSET = "warehouse"
RELEASE_ASSET = "release"

NAME_RE = r"^[a-z][a-z0-9_]*$"
SOURCE_REF_RE = r"^([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*$"  # <dataset> or <agency>.<dataset>
# libyaml's safe loader when PyYAML has it: every task process parses the DAG file, which loads the catalog
# (0.19 s with the pure-Python loader, most of the parse).
SAFE_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SOURCE_KINDS = ("file", "postgres", "mysql", "sqlite", "http_json", "ckan")


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
    format: Literal["xlsx", "xls", "csv"]
    sheet: str | None = None  # xlsx/xls: the sheet to read (default: the first visible one)
    header_row: int | None = Field(default=None, ge=1)  # 1-based; None: found by matching the contract
    header_rows: int = Field(default=1, ge=1, le=3)  # >1: merged header cells span this many rows
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)  # csv; None: sniffed
    encoding: Literal["utf-8", "utf-8-sig", "windows-1252"] = "utf-8"  # csv
    decimal_comma: bool = False  # numbers written the Indonesian way: "1.234,56"
    archive: Literal["zip"] | None = None  # the pattern matches archives; their members are read
    member_pattern: str | None = None  # with archive: which members (glob); None: all
    max_bytes: int = Field(default=100 * 1024 * 1024, gt=0)  # a larger file (or member) is refused
    max_ratio: float = Field(default=100.0, gt=1)  # zip/xlsx: uncompressed/compressed above this is a bomb


class RelationalSource(Strict):
    """A table or query in an agency's database. Credentials: the Airflow connection, never here."""

    kind: Literal["postgres", "mysql", "sqlite"]
    connection: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # Airflow connection id (AIRFLOW_CONN_<ID>)
    table: str | None = None  # schema.table or table
    query: str | None = None  # a SELECT, when a table is not enough

    @model_validator(mode="after")
    def _table_or_query(self) -> RelationalSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of 'table' and 'query'")
        return self


class Pagination(Strict):
    style: Literal["none", "page", "offset", "cursor", "link"] = "none"
    page_param: str = "page"  # style page
    first_page: int = 1
    offset_param: str = "offset"  # style offset
    size_param: str | None = "limit"  # page size parameter (page/offset/cursor); None: not sent
    page_size: int = Field(default=100, gt=0)
    cursor_param: str = "cursor"  # style cursor: the request parameter carrying the token
    cursor_path: str = "next_cursor"  # style cursor: dotted path of the next token in the response


class HttpJsonSource(Strict):
    """A REST API returning JSON. Base URL and token/API key: the Airflow connection."""

    kind: Literal["http_json"]
    connection: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    path: str = Field(min_length=1)  # endpoint path below the connection's base URL
    records_path: str = "data"  # dotted path of the record list in each response ("" = the response itself)
    params: dict[str, str] = {}
    pagination: Pagination = Pagination()
    auth: Literal["none", "bearer", "api_key"] = "none"
    api_key_header: str = "X-API-Key"
    incremental_param: str | None = None  # e.g. updated_since: sent with the saved cursor value
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    backoff_cap_seconds: float = Field(default=60.0, gt=0)
    pages_per_batch: int = Field(default=50, gt=0)  # a batch is committed every this many pages (resume point)


class CkanSource(Strict):
    """A resource on a CKAN portal (Action API: package_show, datastore_search)."""

    kind: Literal["ckan"]
    connection: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # the portal's base URL (+ API key if any)
    package: str = Field(min_length=1)  # package (dataset) name or id
    resource: str = Field(min_length=1)  # resource name or id
    page_size: int = Field(default=1000, gt=0)


Source = Annotated[FileSource | RelationalSource | HttpJsonSource | CkanSource, Field(discriminator="kind")]


class Trigger(Strict):
    """How new data is noticed: a file drop, an asset event posted to the API, a broker message, a probe of the
    source's change marker (`poll`, databases), or a schedule."""

    by: Literal["file_drop", "asset_event", "message", "poll", "schedule"]
    schedule: str | None = None  # by == schedule: a cron, a preset (@hourly) or an interval ("30s", "5m", "1h")
    reconcile_every: str | None = None  # event-driven datasets: also poll on this interval/cron, so a lost
    #                                     signal delays a change but never loses it
    poll_seconds: float = Field(default=5.0, gt=0)  # file_drop / message / poll: how often to look
    connection: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")  # message: the broker (Airflow conn id)
    stream: str | None = None  # message: the stream / subject the agency publishes "dataset changed" to

    @model_validator(mode="after")
    def _parameters_given(self) -> Trigger:
        if (self.by == "schedule") != (self.schedule is not None):
            raise ValueError("'schedule' is required when by is 'schedule', and only then")
        if (self.by == "message") != (self.stream is not None and self.connection is not None):
            raise ValueError("'connection' and 'stream' are required when by is 'message', and only then")
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
    def _poll_needs_a_database(self) -> Dataset:
        if self.trigger.by == "poll" and not isinstance(self.source, RelationalSource):
            raise ValueError(
                f"trigger 'by: poll' probes a database's change marker (count and max(cursor)); a '{self.source.kind}'"
                " source has none: use 'by: file_drop' for files, 'by: schedule' or 'asset_event' for APIs"
            )
        if self.trigger.by == "file_drop" and not isinstance(self.source, FileSource):
            raise ValueError(
                f"trigger 'by: file_drop' watches the agency's drop folder; a '{self.source.kind}' source is not "
                "dropped there: use 'by: poll' for a database, 'by: schedule' or 'asset_event' for APIs"
            )
        return self

    @model_validator(mode="after")
    def _keys_in_contract(self) -> Dataset:
        for key in [*self.primary_key, *([self.cursor] if self.cursor else [])]:
            if key not in self.contract.columns:
                raise ValueError(f"'{key}' (primary_key/cursor) is not a column of the contract")
        return self

    @property
    def personal_columns(self) -> list[str]:
        return [name for name, col in self.contract.columns.items() if col.personal]


class PublicationChart(Strict):
    """One chart on the portal page: `value` summed by `by` (a bar per category)."""

    by: str = Field(pattern=NAME_RE)  # a column, e.g. nama_kecamatan
    value: str = Field(pattern=NAME_RE)  # a numeric column, e.g. jumlah_penduduk


REGION_CODE_LEVELS = ("kode_provinsi", "kode_kabupaten_kota", "kode_kecamatan", "kode_desa")  # coarse to fine


class SmallCells(Strict):
    """Small-cell suppression for a table that counts people (the privacy gate, publication/privacy.py).

    A cell is one row of the long table, identified by `cell` (its dimension columns). A count of people
    from 1 to `max_suppressed` is suppressed (published empty), and more cells are suppressed
    (complementary suppression) until no suppressed value can be recomputed from the totals along any
    of the `margins` (a group = the rows that agree on every other `cell` column). `within` declares the
    hierarchy of region codes ({kode_desa: kode_kecamatan}: each desa lies within one kecamatan): the total
    along the child sums it within its parent (kecamatan subtotals), along the parent it sums the children too.
    `part_of` declares counts that are part of another count: their difference is suppressed as a count too.
    """

    counts: list[Annotated[str, Field(pattern=NAME_RE)]] = Field(min_length=1)  # columns counting people
    max_suppressed: int = Field(default=9, ge=1)  # 9: counts 1..9 suppressed; 10 in health and child tables
    cell: list[Annotated[str, Field(pattern=NAME_RE)]] = Field(min_length=1)  # columns that identify a cell
    margins: list[Annotated[str, Field(pattern=NAME_RE)]] = Field(min_length=1)  # dimensions totals run along
    derived: list[Annotated[str, Field(pattern=NAME_RE)]] = []  # values computed from the counts (rates, %)
    within: dict[Annotated[str, Field(pattern=NAME_RE)], Annotated[str, Field(pattern=NAME_RE)]] = {}  # child: parent
    # {part: total}: the part counts some of the total's people, so total - part counts people too (the
    # complement: sasaran - imunisasi lengkap = children not fully immunised); it is a count like the others
    part_of: dict[Annotated[str, Field(pattern=NAME_RE)], Annotated[str, Field(pattern=NAME_RE)]] = {}

    @model_validator(mode="after")
    def _margins_are_cell_columns(self) -> SmallCells:
        for name in self.margins:
            if name not in self.cell:
                raise ValueError(f"margin '{name}' is not one of the cell columns {self.cell}")
        for part, total in self.part_of.items():
            if part not in self.counts or total not in self.counts or part == total:
                raise ValueError(f"part_of: '{part}' and '{total}' must be two of the counts {self.counts}")
        for child, parent in self.within.items():
            for name in (child, parent):
                if name not in self.cell:
                    raise ValueError(f"within: '{name}' is not one of the cell columns {self.cell}")
            seen = {child}
            while parent in self.within:  # a chain desa -> kecamatan -> ... must end
                if parent in seen:
                    raise ValueError(f"within: '{child}' lies within itself")
                seen.add(parent)
                parent = self.within[parent]
            if parent == child:
                raise ValueError(f"within: '{child}' lies within itself")
        # Region codes nest (Kemendagri): without `within`, a total along the parent would be the cell itself
        # and the subtotals of the parent (a kecamatan's desa summed) would be left out of the gate.
        regions = [name for name in REGION_CODE_LEVELS if name in self.cell]
        for finer, coarser in zip(regions[1:], regions, strict=False):
            if coarser not in self.nested_parents(finer):
                raise ValueError(f"cell has '{coarser}' and '{finer}': declare within: {{{finer}: {coarser}}}")
        return self

    def nested_parents(self, name: str) -> set[str]:
        """The cell columns `name` lies within (its parent, the parent's parent, ...)."""
        found: set[str] = set()
        while (name := self.within.get(name, "")) and name not in found:
            found.add(name)
        return found

    def nested_in(self, margin: str) -> set[str]:
        """`margin` and every cell column that lies within it (its children, their children): a total along
        `margin` sums over all of them."""
        found = {margin}
        while extra := {child for child, parent in self.within.items() if parent in found} - found:
            found |= extra
        return found


class Publication(Strict):
    """An open-data dataset: a dbt mart released to the public after the gates."""

    model: str = Field(pattern=NAME_RE)  # the dbt model that builds it
    # The datasets it is built from: `<dataset>` of this agency, or `<agency>.<dataset>` of another one
    # (e.g. a health coverage rate over the registry's population). It waits until each has a batch.
    sources: list[Annotated[str, Field(pattern=SOURCE_REF_RE)]] = Field(min_length=1)
    metadata: SdiMetadata
    columns: dict[Annotated[str, Field(pattern=NAME_RE)], str] = Field(min_length=1)  # penjelasan kolom
    small_cells: SmallCells | None = None  # tables counting people: suppression rules; None: no person counts
    chart: PublicationChart | None = None  # the portal's chart; None: the portal picks the first count column


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
                if "." not in src and src not in self.datasets:  # another agency's: checked by load_catalog
                    raise ValueError(f"publication '{pub_name}': source '{src}' is not a dataset of this agency"
                                     " (another agency's is written <agency>.<dataset>)")
            named = [*(pub.small_cells.counts + pub.small_cells.cell + pub.small_cells.derived if pub.small_cells else []),
                     *([pub.chart.by, pub.chart.value] if pub.chart else [])]
            for column in named:
                if column not in pub.columns:
                    raise ValueError(f"publication '{pub_name}': column '{column}' (small_cells/chart) is not in its columns")
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

    @property
    def source_ids(self) -> list[str]:
        """The ids (`<agency>__<dataset>`) of the datasets it is built from, other agencies' included."""
        return [src.replace(".", "__", 1) if "." in src else f"{self.agency.code}__{src}" for src in self.spec.sources]


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
        known = ", ".join(e.id for e in self.datasets) or "none"
        raise CatalogError(f"no dataset '{dataset_id}' in the catalog (known: {known}); `satudata catalog` lists them")


def _describe(path: Path, error: ErrorDetails) -> str:
    loc = [str(part) for part in error["loc"]]
    where = f"{path.name}"
    if len(loc) >= 2 and loc[0] in ("datasets", "publications"):
        kind = "dataset" if loc[0] == "datasets" else "publication"
        where += f": {kind} '{loc[1]}'"
        loc = loc[2:]
    # Drop pydantic's union tags (e.g. 'file' in source.file.pattern) from the key path.
    key = ".".join(part for part in loc if part not in SOURCE_KINDS)
    if key:
        where += f": key '{key}'"
    return f"{where}: {error['msg']}"


def load_agency_file(path: Path) -> AgencyFile:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_YAML_LOADER)  # noqa: S506 (a safe loader)
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
    """Read and validate every `<agency>.yml` in the catalog folder.

    Default folder: $SATUDATA_CATALOG_DIR, else the repository's catalog/.
    """
    folder = Path(catalog_dir or os.environ.get(CATALOG_DIR_ENV) or DEFAULT_CATALOG_DIR)
    paths = sorted(folder.glob("*.yml"))
    if not paths:
        raise CatalogError(f"{folder}: no catalog files (*.yml)")
    catalog = Catalog({path: load_agency_file(path) for path in paths})
    known = {entry.id for entry in catalog.datasets}
    for entry in catalog.publications:
        for src, source_id in zip(entry.spec.sources, entry.source_ids, strict=True):
            if source_id not in known:
                raise CatalogError(f"{entry.path.name}: publication '{entry.name}': source '{src}' is not a dataset "
                                   f"in the catalog (known: {', '.join(sorted(known))})")
    return catalog
