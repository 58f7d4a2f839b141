"""The benchmark harness at 1,000 rows, so `make bench` does not rot between runs.

Real inputs (a CSV, an XLSX, a PostgreSQL and a MariaDB table the harness creates and drops), real
child processes. Tools of the bench group (connectorx, dlt) are measured when installed
(`uv sync --group bench`); otherwise their rows must say "not available", never show a number.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from pathlib import Path

import pytest

from benchmarks import connectors, datagen

ROWS = 1_000


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("bench")
    sizes = {case: (ROWS,) for case in connectors.CASES}
    # dlt costs ~5 s a process: measured on the CSV case only; each raw tool once, to keep this test short.
    everything = connectors.run_benchmark(["csv"], sizes, runs=1, work=work)
    pg = connectors.run_benchmark(["pg"], sizes, runs=1, work=work, tools=["duckdb", "ours"])
    others = connectors.run_benchmark(["xlsx", "mysql"], sizes, runs=1, work=work, tools=["connectorx", "fastexcel", "ours"])
    parts = (everything, pg, others)
    return {
        "measurements": [m for part in parts for m in part["measurements"]],
        "verdicts": [v for part in parts for v in part["verdicts"]],
        "table": "\n".join(part["table"] for part in parts),
        "work": work,
    }


def test_every_measured_tool_wrote_every_row(results: dict) -> None:
    measured = {(m["case"], m["tool"]): m for m in results["measurements"]}
    expected = {
        ("csv", "duckdb"), ("csv", "dlt"), ("csv", "ours"), ("xlsx", "fastexcel"), ("xlsx", "ours"),
        ("pg", "duckdb"), ("pg", "ours"), ("mysql", "connectorx"), ("mysql", "ours"),
    }
    assert set(measured) == expected
    for (case, tool), m in measured.items():
        optional = (tool == "dlt" and not _installed("dlt")) or (tool == "connectorx" and not _installed("connectorx"))
        if optional:
            assert m["status"].startswith("not available") and m["seconds"] is None, m
            continue
        assert m["status"] == "ok", f"{case}/{tool}: {m['status']}"
        assert m["rows_out"] == ROWS
        assert m["seconds"] > 0 and m["peak_rss_mb"] > 10
        assert m["runs"] == [round(m["seconds"], 3)]


def test_ratios_are_numbers_where_a_raw_tool_ran(results: dict) -> None:
    verdicts = {v["case"]: v for v in results["verdicts"]}
    for case in ("csv", "xlsx", "pg"):  # their raw tools (DuckDB, fastexcel) are main dependencies
        vs_raw = verdicts[case]["vs_raw"]
        assert isinstance(vs_raw, float) and math.isfinite(vs_raw) and vs_raw > 0, verdicts[case]
        assert verdicts[case]["met"] in (True, False, None)
    if _installed("dlt"):
        assert math.isfinite(verdicts["csv"]["vs_dlt"]) and verdicts["csv"]["vs_dlt"] > 0
    if _installed("connectorx"):
        assert math.isfinite(verdicts["mysql"]["vs_raw"])


def test_table_lists_every_measurement_and_no_table_is_left_behind(results: dict) -> None:
    lines = results["table"].splitlines()
    for m in results["measurements"]:
        assert any(m["label"] in line and m["case"] in line for line in lines), m["label"]
    # the scratch folders are removed; only the cached inputs stay
    assert sorted(p.name for p in Path(results["work"]).iterdir()) == ["inputs"]
    assert json.dumps(results["measurements"])  # JSON-ready
    assert not _pg_table_exists(datagen.table_name(ROWS, str(os.getpid())))  # the harness tags tables with its pid


def _pg_table_exists(table: str) -> bool:
    import duckdb
    from duckdb_extensions import import_extension

    with duckdb.connect() as con:
        import_extension("postgres_scanner", con=con)
        con.execute(f"attach '{datagen.PG_DSN}' as remote (type postgres, read_only)")
        found = con.execute("select count(*) from remote.information_schema.tables where table_name = ?", [table]).fetchone()
    return bool(found and found[0])
