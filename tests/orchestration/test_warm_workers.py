"""The scheduler pre-imports the task stacks; every other Airflow process is left alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestration.warm_workers import SWITCH_ENV, TASK_MODULES, is_local_scheduler, warm


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


def test_a_scheduler_process_ends_up_with_every_task_module_loaded() -> None:
    # A fresh interpreter, so the modules are not already imported by this test session.
    code = (
        "import sys; from orchestration.warm_workers import warm, TASK_MODULES; "
        "done = warm(['airflow', 'scheduler'], {}); "
        "from publication.quality import _DeferredModule as Deferred; "
        "print(len(done), all(name in sys.modules for name in [*TASK_MODULES, 'great_expectations.expectations']), "
        "isinstance(sys.modules.get('altair'), Deferred))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    # Great Expectations too, as the audit imports it: altair (unused by every suite) stays deferred.
    assert out.stdout.split() == [str(len(TASK_MODULES) + 1), "True", "True"]
