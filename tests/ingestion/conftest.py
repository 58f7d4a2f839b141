"""Fixtures for ingestion tests: the Disdik dataset entry and workbooks dropped like an agency would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agency_systems.disdik import load_sekolah_reference, write_sekolah_workbook
from ingestion.catalog import Catalog, DatasetEntry
from ingestion.zones import Zones
from tests.ingestion.drops import age


@pytest.fixture
def sekolah(catalog: Catalog) -> DatasetEntry:
    return catalog.dataset("disdik__sekolah")


@pytest.fixture
def sekolah_rows() -> list[dict]:
    """A fresh copy of the real school list (323 rows) for a test to spoil."""
    return load_sekolah_reference()


@pytest.fixture
def drop_workbook(zones: Zones) -> Callable[..., Path]:
    """Write a Disdik workbook into drop/disdik/ and age it; extra kwargs go to write_sekolah_workbook."""
    counter = iter(range(1, 10_000))

    def drop(name: str = "sekolah_2019.xlsx", rows: list[dict] | None = None, **kwargs) -> Path:
        path = write_sekolah_workbook(zones.drop("disdik") / name, rows, **kwargs)
        # Successive drops get increasing mtimes so "oldest first" is well defined.
        return age(path, seconds=1000 - next(counter))

    return drop
