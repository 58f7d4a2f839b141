"""Import the tasks' heavy stacks once, in the scheduler, so every task process starts with them loaded.

With the LocalExecutor the scheduler forks its worker processes, and each worker forks one process per
task (Linux: a bare `os.fork`, no exec). A module imported in the scheduler before the workers are forked
is therefore already in every task process, shared copy-on-write. Without this, each task process
imports its stack itself: Great Expectations ~5 s, dbt ~2-4 s, pyarrow/DuckDB ~1 s on this machine,
which was most of a small change's event-to-live time (benchmarks/README.md, "Event-to-live latency").

After the imports it loads the dbt project and compiles its macros (`warehouse.warm.warm_dbt`), so a build
task also skips dbt's one-time start-up and its first build runs from the loaded project.

`airflow_local_settings.py` calls `warm()` while Airflow starts; it acts only in the scheduler of a
LocalExecutor platform and only when `SATUDATA_WARM_WORKERS` is not "0". The price is memory held by the
scheduler (~0.4 GB, shared with the workers, so counted once in PSS) and a slower scheduler start.
A module that fails to import is logged and skipped: the task that needs it fails with the real error.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time

log = logging.getLogger(__name__)

SWITCH_ENV = "SATUDATA_WARM_WORKERS"
# What the tasks of dags/satudata.py import in their bodies, heaviest last.
TASK_MODULES = (
    "duckdb",
    "pyarrow.parquet",
    "ingestion.extract",
    "publication.raw_quality",
    "warehouse.build",
    "warehouse.pseudonym",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "publication.release",
)
DBT_PARSED = "dbt project parsed"  # what `warm` reports after `warehouse.warm.warm_dbt`


def is_local_scheduler(argv: list[str], environ: dict[str, str]) -> bool:
    """True in `airflow scheduler` when tasks run in processes forked from it (LocalExecutor)."""
    from orchestration.airflow_env import airflow_command

    command = airflow_command(argv)
    executor = environ.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    return command == "scheduler" and executor.rsplit(".", 1)[-1] == "LocalExecutor"


def warm(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> list[str]:
    """Import `TASK_MODULES` and parse the dbt project when this process is a LocalExecutor scheduler.

    Returns what was done: the modules imported, "great_expectations", then `DBT_PARSED`.
    """
    argv = sys.argv if argv is None else argv
    environ = dict(os.environ) if environ is None else environ
    if environ.get(SWITCH_ENV, "1") == "0" or not is_local_scheduler(argv, environ):
        return []
    started = time.monotonic()
    imported = []
    for name in TASK_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (the task that needs it reports the real error)
            log.warning("warm workers: could not import %s; its tasks will import it themselves", name, exc_info=True)
            continue
        imported.append(name)
    try:
        # Great Expectations as the audit imports it: quieted, without what no suite uses (scipy, altair).
        from publication.quality import import_gx_now

        import_gx_now()
        imported.append("great_expectations")
    except Exception:  # noqa: BLE001 (the task that needs it reports the real error)
        log.warning("warm workers: could not import great_expectations", exc_info=True)
    modules = len(imported)
    try:
        # dbt's one-time work in a process (schemas, serialisers, the adapter, the macros), done once here.
        from ingestion.zones import Zones
        from warehouse.warm import warm_dbt

        if warm_dbt(Zones.from_env()):
            imported.append(DBT_PARSED)
    except Exception:  # noqa: BLE001 (the build task reports the real error)
        log.warning("warm workers: could not parse the dbt project", exc_info=True)
    log.warning("warm workers: %d task modules imported%s in %.1f s before the workers fork", modules,
                f", {DBT_PARSED}" if DBT_PARSED in imported else "", time.monotonic() - started)
    return imported
