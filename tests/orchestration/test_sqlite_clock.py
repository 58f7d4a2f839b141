"""The scheduler's now() on SQLite has sub-second precision, so a due DAG run starts without waiting for the next second."""

from __future__ import annotations

import json
import subprocess
import sys

from ingestion.catalog import REPO_ROOT

# In a fresh interpreter: the compile rule is process-wide. Prints one JSON line.
PROBE = """
import json, sys, time
from datetime import datetime, timedelta, timezone
import sqlalchemy as sa
from orchestration.sqlite_clock import install
installed = install(sys.argv[1:])
engine = sa.create_engine("sqlite://")
with engine.connect() as connection:
    # A third of a second past a whole second S (SQLite's own clock), ask whether S.000001 (as Airflow
    # stores times) is due: it is, but CURRENT_TIMESTAMP says 'S', which sorts before it.
    time.sleep((1.3 - (time.time() % 1)) % 1)
    second = connection.execute(sa.text("select strftime('%Y-%m-%d %H:%M:%S', 'now')")).scalar()
    earlier = f"{second}.000001"
    due = connection.execute(sa.select(sa.literal(earlier) <= sa.func.now())).scalar()
    later = (datetime.now(timezone.utc) + timedelta(seconds=0.3)).strftime("%Y-%m-%d %H:%M:%S.%f")
    early = connection.execute(sa.select(sa.literal(later) <= sa.func.now())).scalar()
    sql = str(sa.select(sa.func.now()).compile(engine))
print(json.dumps({"installed": installed, "due": bool(due), "early": bool(early), "sql": sql}))
"""


def _probe(*argv: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60,
                         cwd=REPO_ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_in_the_scheduler_a_run_due_a_fraction_of_a_second_ago_is_due() -> None:
    result = _probe("airflow", "scheduler", "--skip-serve-logs")
    assert result["installed"] is True
    assert "strftime" in result["sql"]
    assert result["due"] is True  # ~0.3 s ago, within this second: CURRENT_TIMESTAMP says not yet
    assert result["early"] is False  # and nothing in the future is due


def test_other_processes_keep_sqlalchemy_s_now() -> None:
    result = _probe("airflow", "api-server")
    assert result["installed"] is False
    assert "CURRENT_TIMESTAMP" in result["sql"]
    assert result["due"] is False  # the whole-second clock the scheduler no longer uses
