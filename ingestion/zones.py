"""Where data lives on disk: one root (`SATUDATA_DATA_DIR`, default `<repo>/data`) split in zones.

    drop/<agency>/                          what agencies deliver (files)
    raw/<agency>/<dataset>/batch=<id>/      committed batches: data.parquet, quarantine.parquet, manifest.json
    warehouse/builds/<build_id>/            one dbt build: warehouse.duckdb, marts/*.parquet, build.json
    warehouse/current -> builds/<id>        the build readers and the publisher use (atomic symlink)
    releases/<release_id>/                  one audited release of open data
    releases/current -> <release_id>        what the public sees (atomic symlink)
    agency_systems/<agency>/                the embedded demo agency systems (SQLite files, API data)
    state/                                  small bookkeeping (trigger markers, the embedded Airflow home)

Each zone is written by one stage only, and every commit is one atomic rename, so readers never see
half a batch, half a build or half a release.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ingestion.catalog import REPO_ROOT

DATA_DIR_ENV = "SATUDATA_DATA_DIR"


@dataclass(frozen=True)
class Zones:
    root: Path

    @classmethod
    def from_env(cls) -> Zones:
        return cls(Path(os.environ.get(DATA_DIR_ENV, REPO_ROOT / "data")).resolve())

    def drop(self, agency: str) -> Path:
        return self.root / "drop" / agency

    def raw(self, agency: str, dataset: str) -> Path:
        return self.root / "raw" / agency / dataset

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def agency_systems(self) -> Path:
        """Where `make run` keeps the embedded demo agency systems (not a zone of the platform)."""
        return self.root / "agency_systems"

    @property
    def state(self) -> Path:
        return self.root / "state"
