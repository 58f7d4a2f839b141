"""The `platform_factory` fixture: the platform as `satudata up` starts it, in a private home and port.

    def test_x(platform_factory, zones, tmp_path):
        airflow = platform_factory(extra_env={...}, catalog_dir=variant_dir)   # started, not yet healthy
        airflow.wait_healthy(STARTUP_SECONDS)

Every platform a test started is stopped at the end, and the test fails if a component was left
running. Helpers (catalog variants, waiting, runs, releases, stopping one component) are in
tests/orchestration/scheduler_support.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ingestion.catalog import CATALOG_DIR_ENV
from ingestion.zones import Zones
from orchestration.platform import COMPONENTS, Platform
from tests.orchestration.scheduler_support import TEST_ENV, PlatformFactory, free_port, one_dataset


@pytest.fixture(scope="session")
def disdik_catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalog with Disdikbud's school list only: the orchestration tests drive its workbook drops."""
    target = tmp_path_factory.mktemp("catalog-disdik")
    (target / "disdik.yml").write_text(yaml.safe_dump(one_dataset("disdik__sekolah"), sort_keys=False, allow_unicode=True))
    return target


@pytest.fixture(autouse=True)
def _one_agency_catalog(disdik_catalog_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unless a test says otherwise, the chain and the platform see Disdikbud's datasets only (the
    other agencies' systems - databases, the Dinkes API - are not running in these tests)."""
    monkeypatch.setenv(CATALOG_DIR_ENV, str(disdik_catalog_dir))


@pytest.fixture
def platform_factory(zones: Zones, tmp_path: Path) -> Iterator[PlatformFactory]:
    """Start a platform: `platform_factory(extra_env=..., catalog_dir=...)`; all are stopped at the end."""
    started: list[Platform] = []

    def start(extra_env: dict[str, str] | None = None, catalog_dir: Path | None = None) -> Platform:
        env = {**TEST_ENV, **(extra_env or {})}
        if catalog_dir is not None:
            env[CATALOG_DIR_ENV] = str(catalog_dir)
        home = tmp_path / f"airflow{len(started) or ''}"
        platform = Platform(zones, home, port=free_port(), extra_env=env)
        started.append(platform)
        platform.start()
        return platform

    yield start
    left = []
    for platform in started:
        stopped = platform.stop()
        assert stopped == sorted(COMPONENTS)
        left += list(platform.running())
    assert left == [], f"components left running: {left}"
