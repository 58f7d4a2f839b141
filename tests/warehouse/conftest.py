"""Fixtures of the warehouse tests: committed raw batches in the test's data root."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import pytest

from ingestion.zones import Zones
from tests.warehouse.raw_batches import sekolah_rows, write_batch


@pytest.fixture
def write_sekolah_batch(zones: Zones) -> Callable[..., str]:
    """Commit a disdik__sekolah batch into the test's data root: `write_sekolah_batch(rows=None, at=None)`."""

    def write(rows: Iterable[dict] | None = None, at: datetime | None = None) -> str:
        return write_batch(zones, sekolah_rows() if rows is None else rows, at=at)

    return write
