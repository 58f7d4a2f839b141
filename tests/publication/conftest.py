"""Fixtures for the publication room."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from synthetic_build import mart_table, write_build

from ingestion.zones import Zones


@pytest.fixture
def make_build(zones: Zones) -> Callable[..., Path]:
    counter = iter(range(1, 1000))

    def _make(table: pa.Table | None = None, build_id: str | None = None) -> Path:
        n = next(counter)
        return write_build(
            zones, table if table is not None else mart_table(), build_id or f"20261127T0{n:05d}Z-{n:08x}"
        )

    return _make
