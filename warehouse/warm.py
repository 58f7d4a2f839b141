"""dbt made ready once in the scheduler, before its LocalExecutor forks the workers that run build tasks.

A process's first dbt invocation spends ~1.2 s before any node runs (JSON schemas for the profile and
project, mashumaro's generated deserialisers for the manifest, `inspect.stack()` for the adapter's
behaviour flags), and its first build compiles each Jinja macro it calls (materializations, adapter
macros: ~90 for a small incremental build). `warm_dbt` does both in the scheduler
(`orchestration.warm_workers`), so every forked build task starts with them done and with the loaded
project: its first build runs from that manifest when the project files are unchanged
(`take_warm_manifest`).

The scheduler never parses project files itself: dbt's static parser runs on a Rust (rayon) thread
pool that does not survive fork, and a process forked after the pool started hangs on its first
parse. A missing or stale saved parse is made in a child process.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingestion.catalog import REPO_ROOT
from ingestion.zones import Zones
from warehouse.build import (
    DATABASE_FILE,
    build_vars,
    building_path,
    keep_parsed_project,
    project_fingerprint,
    restore_parsed_project,
    run_dbt,
)

log = logging.getLogger(__name__)

# Where dbt imported its Rust static parser (dbt_extractor): swapped out while the scheduler warms up.
_STATIC_PARSER_USERS = ("dbt.parser.models", "dbt.parser.unit_tests", "dbt.clients.jinja_static")


class _ParseNeeded(RuntimeError):
    """The saved parsed project is missing or stale: warming dbt would have to parse files."""


@contextlib.contextmanager
def _static_parser_refused() -> Iterator[None]:
    """dbt's static parser fails for the duration, so no file gets parsed.

    It runs on a Rust (rayon) thread pool that is started once per process and does not survive fork: a
    process forked after the pool started waits forever on its first parse. The scheduler forks the
    workers, so it must never start that pool.
    """

    def refuse(source: str) -> dict:
        raise _ParseNeeded("the saved parsed project does not match the project files")

    modules: list[Any] = [importlib.import_module(name) for name in _STATIC_PARSER_USERS]  # dbt's, by name
    saved = [module.py_extract_from_source for module in modules]
    for module in modules:
        module.py_extract_from_source = refuse
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.py_extract_from_source = original


def parse_project(zones: Zones, work_dir: Path, *, static_parser: bool = True) -> Any:
    """`dbt parse` as a build of `zones` sees the project (same profile and vars), into work_dir/target.

    With a saved parsed project in work_dir/target, dbt re-parses only what changed since.
    """
    database = building_path(zones.warehouse) / DATABASE_FILE
    with contextlib.nullcontext() if static_parser else _static_parser_refused():
        return run_dbt(["parse", "--no-write-json"], database=database, work_dir=work_dir,
                       dbt_vars=build_vars(zones.warehouse))


# The project as the scheduler loaded it before forking its workers (`warm_dbt`): the first build in each
# forked task process starts from it instead of reading the project again (~0.4 s).
_warm_project: dict[str, Any] = {}


def take_warm_manifest(warehouse_dir: Path, fingerprint: str) -> Any:
    """The manifest `warm_dbt` loaded, once per process, if it was made for this warehouse and code.

    Once: a dbt run fills in the nodes it compiles, so a second build in the same process parses
    afresh; a forked task process gets the scheduler's copy untouched.
    """
    warm = dict(_warm_project)
    _warm_project.clear()
    if warm.get("warehouse_dir") == str(warehouse_dir) and warm.get("fingerprint") == fingerprint:
        return warm["manifest"]
    return None


def compile_macros(manifest: Any) -> int:
    """Compile every macro of the project and its adapter into dbt's process-wide template cache.

    dbt compiles a macro's Jinja the first time a run calls it and keeps the template, keyed by the
    macro's source and compiled without a context, for the life of the process. In a forked build task
    that was ~0.15-0.3 s of every build (~90 macros for one dataset's change); all 519 cost ~1 s once
    here. Returns how many templates the cache holds.
    """
    from dbt_common.clients.jinja import template_cache

    for macro in manifest.macros.values():
        template_cache.get_node_template(macro)
    return len(template_cache.file_cache)


_PARSE_IN_CHILD = (
    "import sys; from pathlib import Path; from ingestion.zones import Zones; from warehouse.warm import parse_project; "
    "result = parse_project(Zones(Path(sys.argv[1])), Path(sys.argv[2])); "
    "sys.exit(0 if result.success else f'dbt parse failed: {result.exception}')"
)


def warm_dbt(zones: Zones) -> bool:
    """Load the project's parse once in this process, as a build would, and compile its macros.

    It loads the last build's saved parse in a scratch directory. When that is missing or stale, a child
    process parses the project first (a few seconds): files are never parsed here (`_static_parser_refused`);
    that fresh parse is saved for the builds (`build.PARTIAL_PARSE_CACHE`). It reads no data, opens no
    database and writes nothing else. Returns whether dbt loaded the project.
    """
    with tempfile.TemporaryDirectory(prefix="satudata-dbt-warm-") as scratch:
        work_dir = Path(scratch)
        restore_parsed_project(zones.warehouse, work_dir)
        result = parse_project(zones, work_dir, static_parser=False)
        if not result.success:
            log.info("dbt warm-up: the saved parse is missing or stale; parsing in a child process")
            child = subprocess.run([sys.executable, "-c", _PARSE_IN_CHILD, str(zones.root), scratch],
                                   cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
            if child.returncode != 0:
                log.warning("dbt warm-up: %s", (child.stderr.strip() or "parse failed")[-2000:])
                return False
            result = parse_project(zones, work_dir, static_parser=False)
            if result.success:
                # The next build starts from it too (a build that runs from the loaded project saves none).
                zones.warehouse.mkdir(parents=True, exist_ok=True)
                keep_parsed_project(zones.warehouse, work_dir)
    if not result.success:
        log.warning("dbt warm-up: the fresh parse could not be loaded: %s", result.exception)
        return False
    compile_macros(result.result)
    _warm_project.update(manifest=result.result, warehouse_dir=str(zones.warehouse), fingerprint=project_fingerprint())
    return True
