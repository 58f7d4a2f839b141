"""A sub-second `now()` for the scheduler on the embedded SQLite metadata DB.

The scheduler starts a queued DAG run only once `run_after <= now()`, and creates a scheduled run only
once `next_dagrun_create_after <= now()` (airflow/models/dagrun.py, dag.py). On SQLite SQLAlchemy's
`func.now()` is CURRENT_TIMESTAMP, which has whole seconds, while the stored times have microseconds:
a run queued at 12:53:21.6 waited until 12:53:22 to start, on average half a second per DAG run and
so up to ~1.5 s for one change going through ingest, build and publish (benchmarks/README.md).

`install()` compiles `now()` for SQLite as `strftime('%Y-%m-%d %H:%M:%f', 'now')` (UTC, milliseconds),
which compares as text the way the stored 'YYYY-MM-DD HH:MM:SS.ffffff' values do. It acts only in the
scheduler, the process whose queries those are; no other process (nor a migration's DDL) is changed.
PostgreSQL's now() has microseconds already and is left alone.
"""

from __future__ import annotations

import sys

SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"

_installed = False


def install(argv: list[str] | None = None) -> bool:
    """Compile `func.now()` with milliseconds on SQLite, in the scheduler; returns whether it did."""
    global _installed
    if _installed:
        return True
    from orchestration.airflow_env import airflow_command

    if airflow_command(sys.argv if argv is None else argv) != "scheduler":
        return False
    from sqlalchemy.ext.compiler import compiles
    from sqlalchemy.sql import functions

    @compiles(functions.now, "sqlite")
    def _now_with_milliseconds(element: functions.now, compiler: object, **kw: object) -> str:
        return SQLITE_NOW

    _installed = True
    return True
