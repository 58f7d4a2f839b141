"""The task supervisor notices a finished task process at once, not up to 5 s later.

Each task runs in a process watched by Airflow's supervisor (airflow/sdk/execution_time/supervisor.py,
`ActivitySubprocess._monitor_subprocess`), which loops on `select()` over the task's sockets with a
timeout of up to `[workers] min_heartbeat_interval` (5 s) and checks for the process's exit after each
round. When the task process closes its last socket a moment before it has exited (interpreter
shutdown, with DuckDB, dbt or Great Expectations loaded), the check finds it still running, and the
next `select()` has nothing left to watch: it sleeps the whole 5 s before the exit is seen. The worker
slot stays taken meanwhile. In the latency benchmark that was 11 of 75 tasks in one run, each adding
~5 s before the next task of the chain could start (benchmarks/README.md, session 7).

`install()` caps that wait at `EXIT_POLL_SECONDS` while the process has no socket open and no exit
code yet, so its exit is seen within 50 ms. Everything else (heartbeats, log reading) is as Airflow
does it. It acts where supervisors run: in the scheduler, whose LocalExecutor workers fork from it,
and in a Celery worker (`airflow celery worker`); if the supervisor no longer has that shape it
changes nothing and says so.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from orchestration.airflow_env import airflow_command

log = logging.getLogger(__name__)

EXIT_POLL_SECONDS = 0.05
SUPERVISING_COMMANDS = ("scheduler", "celery")  # LocalExecutor workers fork from the scheduler

_installed = False


def install(argv: list[str] | None = None) -> bool:
    """Where supervisors run: poll for a task process's exit once its sockets are closed; returns whether it did."""
    global _installed
    if _installed:
        return True
    if airflow_command(sys.argv if argv is None else argv) not in SUPERVISING_COMMANDS:
        return False
    from airflow.sdk.execution_time import supervisor

    watched = getattr(supervisor, "WatchedSubprocess", None)
    original = getattr(watched, "_service_subprocess", None)
    if watched is None or original is None or "_open_sockets" not in getattr(watched, "__annotations__", {}):
        log.warning("supervisor exit check not installed: this Airflow's WatchedSubprocess is not the one it was written for")
        return False

    def _service_subprocess(self: Any, max_wait_time: float, *args: Any, **kwargs: Any) -> int | None:
        if self._exit_code is None and not self._open_sockets:
            # Nothing left to wake select(): look for the exit every EXIT_POLL_SECONDS instead.
            max_wait_time = min(max_wait_time, EXIT_POLL_SECONDS)
        return original(self, max_wait_time, *args, **kwargs)

    watched._service_subprocess = _service_subprocess
    _installed = True
    return True
