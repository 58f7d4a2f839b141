"""Shared fixtures: a private data root per test, and the repository's catalog."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# great_expectations floods the log at INFO on import; quiet it before anything imports it.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

from ingestion.catalog import DEFAULT_CATALOG_DIR, Catalog, load_catalog  # noqa: E402
from ingestion.zones import DATA_DIR_ENV, Zones  # noqa: E402

_AIRFLOW_SESSION_DIR: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Give the session one private Airflow home (SQLite metadata DB) before anything imports airflow."""
    global _AIRFLOW_SESSION_DIR
    from orchestration import airflow_env

    _AIRFLOW_SESSION_DIR = Path(tempfile.mkdtemp(prefix="satudata-airflow-"))
    home = _AIRFLOW_SESSION_DIR / "airflow"
    airflow_env.prepare_home(home)
    os.environ[airflow_env.HOME_ENV] = str(home)
    os.environ.update(airflow_env.airflow_env(Zones(_AIRFLOW_SESSION_DIR / "data"), home))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _AIRFLOW_SESSION_DIR is not None:
        shutil.rmtree(_AIRFLOW_SESSION_DIR, ignore_errors=True)


@pytest.fixture
def zones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Zones:
    """An empty data root under tmp_path, also exported as SATUDATA_DATA_DIR."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    return Zones(root)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The repository's catalog (all agencies), whatever SATUDATA_CATALOG_DIR a test sets."""
    return load_catalog(DEFAULT_CATALOG_DIR)
