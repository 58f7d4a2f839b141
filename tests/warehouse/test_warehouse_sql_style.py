"""The dbt SQL follows the house style (STYLE.md rule 15), checked by sqlfluff with .sqlfluff."""

from __future__ import annotations

import json
import subprocess
import sys

from ingestion.catalog import REPO_ROOT

SQL_DIRS = ["models", "analyses", "tests/warehouse/dbt"]


def test_dbt_sql_passes_sqlfluff() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", *SQL_DIRS, "--format", "json", "--disable-progress-bar"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    files = json.loads(completed.stdout)
    assert len(files) >= 5, f"sqlfluff found too few SQL files: {completed.stderr}"
    problems = [
        f"{entry['filepath']}:{violation['start_line_no']}: {violation['code']} {violation['description']}"
        for entry in files
        for violation in entry["violations"]
    ]
    assert not problems, "sqlfluff (fix with `sqlfluff fix models`):\n" + "\n".join(problems)
