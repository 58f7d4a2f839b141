"""The scheduler pre-imports the task stacks and loads the dbt project; every other Airflow process is left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ingestion.catalog import REPO_ROOT
from ingestion.zones import Zones
from orchestration.warm_workers import DBT_PARSED, SWITCH_ENV, TASK_MODULES, is_local_scheduler, warm
from warehouse.build import (
    DATABASE_FILE,
    MARTS_DIR,
    PARTIAL_PARSE_CACHE,
    building_path,
    keep_parsed_project,
    run_dbt,
)


@pytest.mark.parametrize(("argv", "executor", "expected"), [
    (["airflow", "scheduler", "--skip-serve-logs"], "LocalExecutor", True),
    (["/venv/lib/airflow/__main__.py", "scheduler"], "airflow.executors.local_executor.LocalExecutor", True),
    (["airflow", "scheduler"], "CeleryExecutor", False),
    (["airflow", "dag-processor"], "LocalExecutor", False),
    (["airflow", "api-server", "-H", "127.0.0.1"], "LocalExecutor", False),
    (["airflow", "triggerer", "--skip-serve-logs"], "LocalExecutor", False),
    (["pytest"], "LocalExecutor", False),
])
def test_only_a_local_executor_scheduler_is_warmed(argv: list[str], executor: str, expected: bool) -> None:
    assert is_local_scheduler(argv, {"AIRFLOW__CORE__EXECUTOR": executor}) is expected


def test_the_switch_turns_it_off() -> None:
    assert warm(["airflow", "scheduler"], {SWITCH_ENV: "0"}) == []


# Run in a fresh interpreter (the modules must not be imported by this test session already): warm up as
# the scheduler does, then fork as the LocalExecutor does and make the child parse the whole project
# (the case that hangs when the parent started dbt's Rust parser pool). Prints one JSON line.
WARM_THEN_FORK = """
import json, os, sys, tempfile, threading
from pathlib import Path
from orchestration.warm_workers import DBT_PARSED, TASK_MODULES, warm
from publication.quality import _DeferredModule
done = warm(["airflow", "scheduler"], {})
from dbt_common.clients.jinja import template_cache
from warehouse.warm import _warm_project
manifest = _warm_project.get("manifest")
report = {
    "macros_compiled": manifest is not None and all(
        macro.macro_sql in template_cache.file_cache for macro in manifest.macros.values()),
    "done": done,
    "modules_loaded": all(name in sys.modules for name in [*TASK_MODULES, "great_expectations.expectations"]),
    "altair_deferred": isinstance(sys.modules.get("altair"), _DeferredModule),
    "python_threads": threading.active_count(),
}
pid = os.fork()
if pid == 0:
    from warehouse.build import run_dbt
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        result = run_dbt(["parse", "--no-write-json"], database=work / "w.duckdb", work_dir=work,
                         dbt_vars={"raw_root": str(work / "raw"), "marts_dir": str(work / "marts")})
    os._exit(0 if result.success else 3)
import signal, time
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    waited, status = os.waitpid(pid, os.WNOHANG)
    if waited:
        report["child_exit"] = os.waitstatus_to_exitcode(status)
        break
    time.sleep(0.2)
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    report["child_exit"] = "hung"
print(json.dumps(report))
"""


def _warm_then_fork(data_dir: Path) -> dict:
    env = {**os.environ, "SATUDATA_DATA_DIR": str(data_dir)}
    out = subprocess.run([sys.executable, "-c", WARM_THEN_FORK], capture_output=True, text=True, timeout=300,
                         env=env, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _save_parsed_project(data_dir: Path, *, database: str = DATABASE_FILE) -> None:
    """What a finished build leaves: the parsed project for the next one."""
    zones = Zones(data_dir)
    building = building_path(zones.warehouse)
    with tempfile.TemporaryDirectory() as scratch:
        result = run_dbt(["parse", "--no-write-json"], database=building / database, work_dir=Path(scratch),
                         dbt_vars={"raw_root": str(building / "raw"), "marts_dir": str(building / MARTS_DIR)})
        assert result.success, result.exception
        zones.warehouse.mkdir(parents=True)
        keep_parsed_project(zones.warehouse, Path(scratch))


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


@pytest.mark.parametrize("saved_parse", ["current", "stale", "none"])
def test_the_scheduler_loads_dbt_and_its_forks_can_still_parse(tmp_path: Path, saved_parse: str) -> None:
    # current: what a build leaves. stale: made for another database path, so dbt would re-parse every
    # file. none: no build yet.
    if saved_parse != "none":
        _save_parsed_project(tmp_path, database=DATABASE_FILE if saved_parse == "current" else "elsewhere.duckdb")
    before = _files(tmp_path)
    report = _warm_then_fork(tmp_path)
    # A task process forked after the warm-up parses the project. It hung when the warm-up parsed files
    # itself: dbt's Rust parser pool, started in the parent, is not there in the child.
    assert report["child_exit"] == 0
    # Every module, Great Expectations as the audit imports it (altair, unused by every suite, deferred),
    # and dbt loaded the project: from the saved parse, or from a parse made in a child process.
    assert report["done"] == [*TASK_MODULES, "great_expectations", DBT_PARSED]
    assert report["modules_loaded"] and report["altair_deferred"]
    # Every macro compiled into dbt's template cache, which the forked build tasks inherit.
    assert report["macros_compiled"]
    # No Python thread left running in the process the workers are forked from.
    assert report["python_threads"] == 1
    # The warm-up wrote nothing under the data root (a build in progress is never touched) but, when it had
    # to parse, the fresh parse for the next build.
    after = _files(tmp_path)
    saved = f"warehouse/{PARTIAL_PARSE_CACHE}"
    if saved_parse == "current":
        assert after == before
    else:
        assert after[saved] != before.get(saved)
        assert {name: at for name, at in after.items() if name not in (saved, "warehouse")} == \
            {name: at for name, at in before.items() if name not in (saved, "warehouse")}


def test_inspecting_every_module_does_not_import_the_deferred_ones() -> None:
    # dbt's adapter calls inspect.stack(), which asks every module in sys.modules for __file__.
    code = (
        "import sys, inspect; from publication.quality import defer_modules, _DeferredModule as Deferred; "
        "defer_modules(('altair',)); inspect.stack(); "
        "print(isinstance(sys.modules['altair'], Deferred), sys.modules['altair'].__file__.endswith('__init__.py'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_the_loaded_project_serves_one_build_of_the_same_warehouse_and_code(tmp_path: Path) -> None:
    from warehouse import warm

    manifest = object()  # stands in for dbt's Manifest: only its identity is checked
    try:
        warm._warm_project.update(manifest=manifest, warehouse_dir=str(tmp_path), fingerprint="code-1")
        assert warm.take_warm_manifest(tmp_path, "code-1") is manifest
        # Once: a dbt run fills in the nodes it compiled, so the next build in this process parses.
        assert warm.take_warm_manifest(tmp_path, "code-1") is None

        warm._warm_project.update(manifest=manifest, warehouse_dir=str(tmp_path), fingerprint="code-1")
        assert warm.take_warm_manifest(tmp_path, "code-2") is None  # the project changed since it was loaded
        warm._warm_project.update(manifest=manifest, warehouse_dir=str(tmp_path), fingerprint="code-1")
        assert warm.take_warm_manifest(tmp_path / "other", "code-1") is None  # another data root
    finally:
        warm._warm_project.clear()
