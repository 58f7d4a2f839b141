"""ruff is the one linter (rule list in pyproject.toml), mypy checks the packages ([tool.mypy]); the test run enforces both."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _dev_tool(name: str) -> str:
    """The environment's own `name` (next to this Python, e.g. .venv/bin), else the one on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is a dev dependency: run the tests through `make test` / `uv run pytest`"
    return found


def test_ruff_finds_nothing():
    ruff = _dev_tool("ruff")
    result = subprocess.run([ruff, "check", "--no-cache", str(REPO)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    """mypy over the packages `files` names in pyproject.toml. A cold run takes ~35 s (it reads the typed
    libraries: Airflow, dbt, Great Expectations...); with the cache it keeps in .mypy_cache, about a second."""
    mypy = _dev_tool("mypy")
    result = subprocess.run([mypy], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
