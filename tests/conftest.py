"""Shared fixtures: a private data root per test, and the repository's catalog."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

# great_expectations floods the log at INFO on import; quiet it before anything imports it.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

from ingestion.catalog import Catalog, load_catalog  # noqa: E402
from ingestion.zones import DATA_DIR_ENV, Zones  # noqa: E402


@pytest.fixture
def zones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Zones:
    """An empty data root under tmp_path, also exported as SATUDATA_DATA_DIR."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    return Zones(root)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()
