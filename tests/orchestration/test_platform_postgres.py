"""`satudata up` with PostgreSQL as Airflow's metadata DB ($SATUDATA_AIRFLOW_DB), on the machine's real server."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from orchestration.platform import DB_ENV
from tests.orchestration.scheduler_support import STARTUP_SECONDS, PlatformFactory

pytestmark = pytest.mark.scheduler

PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-tA"]


def _psql(database: str, sql: str) -> str:
    return subprocess.run([*PSQL, "-d", database, "-c", sql], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def metadata_db() -> Iterator[str]:
    name = f"satudata_airflow_{os.getpid()}_{int(time.time())}"
    _psql("postgres", f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        _psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_the_platform_runs_on_a_postgres_metadata_db(
    platform_factory: PlatformFactory, metadata_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DB_ENV, f"postgresql+psycopg://postgres@127.0.0.1:5432/{metadata_db}")
    airflow = platform_factory()
    airflow.wait_healthy(STARTUP_SECONDS)

    assert not (airflow.home / "airflow.db").exists(), "the SQLite default was used instead of PostgreSQL"
    deadline = time.monotonic() + STARTUP_SECONDS
    dags: set[str] = set()
    while time.monotonic() < deadline and "publish" not in dags:
        dags = set(_psql(metadata_db, "SELECT dag_id FROM dag").split())
        time.sleep(1)
    assert {"ingest__disdik__sekolah", "build_warehouse", "publish"} <= dags
