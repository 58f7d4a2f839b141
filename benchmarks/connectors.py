"""Speed and memory of our connectors against the raw tools and dlt, on the same generated data in one run.

    uv run --group bench python -m benchmarks.connectors            # everything (make bench)
    uv run --group bench python -m benchmarks.connectors --quick    # 1M-row sizes only
    uv run --group bench python -m benchmarks.connectors --cases csv,xlsx --runs 1

Each measurement is a fresh `python -m benchmarks.loads` process (imports and peak RSS are per tool:
the child's own VmHWM);
each is run `--runs` times and the fastest run is kept (peak RSS: the highest of the runs). A run
whose Parquet output does not hold every generated row is reported INVALID and gets no ratio.
Prints a table and writes the results as JSON (`--json`, default `<bench dir>/results.json`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks import datagen
from benchmarks.bench_catalog import MYSQL_CONNECTION, PG_CONNECTION
from benchmarks.loads import DLT_CSV_READER, DLT_SQL_BACKEND

log = logging.getLogger("benchmarks.connectors")

CASES = ("csv", "pg", "mysql", "xlsx")
SIZES = {"csv": (1_000_000, 10_000_000), "pg": (1_000_000, 10_000_000), "mysql": (1_000_000,), "xlsx": (100_000,)}
QUICK_MAX_ROWS = 1_000_000
RAW_TOOLS = {"csv": ("duckdb",), "pg": ("duckdb", "connectorx"), "mysql": ("connectorx",), "xlsx": ("fastexcel",)}
TARGET_VS_RAW = 0.8  # ours at least 0.8x the raw tool's speed
TARGET_VS_DLT = 2.0  # ours at least 2x dlt's speed, unless that would beat the raw tool (then the raw ratio rules)
RSS_LIMIT_MB = 1024  # peak RSS for the 10M-row cases
RSS_CHECK_ROWS = 10_000_000
CHILD_TIMEOUT_SECONDS = 1800
TOOL_LABELS = {
    "duckdb": {"csv": "DuckDB COPY read_csv -> parquet", "pg": "DuckDB postgres_scanner COPY"},
    "connectorx": "connectorx read_sql -> pyarrow.parquet",
    "fastexcel": "fastexcel load_sheet -> pyarrow.parquet",
    "dlt": {
        "csv": f"dlt: {DLT_CSV_READER} CSV batches -> filesystem parquet",
        "xlsx": "dlt: fastexcel Arrow -> filesystem parquet",
        "pg": f"dlt: sql_table(backend={DLT_SQL_BACKEND}) -> filesystem parquet",
        "mysql": f"dlt: sql_table(backend={DLT_SQL_BACKEND}) -> filesystem parquet",
    },
    "ours": "ours: ingestion.extract.extract_load",
}


@dataclass
class Measurement:
    case: str
    rows: int
    tool: str
    label: str
    seconds: float | None = None  # best run
    runs: list[float] = field(default_factory=list)
    import_seconds: float | None = None
    peak_rss_mb: float | None = None  # highest of the runs, whole child process (VmHWM)
    rows_out: int | None = None
    status: str = "ok"  # ok, not available: ..., FAILED: ..., INVALID: ...
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.seconds is not None

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.ok and self.seconds else None


@dataclass
class Verdict:
    case: str
    rows: int
    raw_tool: str | None
    vs_raw: float | None  # raw_seconds / our_seconds
    vs_dlt: float | None  # dlt_seconds / our_seconds
    dlt_target_waived: bool
    rss_ok: bool | None
    met: bool | None  # None: ours (or the raw tool) has no number
    reason: str


def tool_label(tool: str, case: str) -> str:
    label = TOOL_LABELS[tool]
    return label[case] if isinstance(label, dict) else label


def run_child(spec: dict, env: dict[str, str], timeout: float = CHILD_TIMEOUT_SECONDS) -> dict:
    """Run one `benchmarks.loads` process and return its JSON result (a timeout or a crash is a `failed` result)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.loads", json.dumps(spec)],
            capture_output=True, text=True, env=env, cwd=datagen.REPO_ROOT, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return {"failed": f"exit code {proc.returncode}: {tail[:400]}"}
    return json.loads(lines[-1])


def measure_tool(case: str, rows: int, tool: str, source: str, scratch: Path, runs: int, env: dict[str, str]) -> Measurement:
    result = Measurement(case, rows, tool, tool_label(tool, case))
    peaks: list[float] = []
    for attempt in range(1, runs + 1):
        out = scratch / f"{case}_{rows}_{tool}_{attempt}"
        spec = {"case": case, "tool": tool, "rows": rows, "input": source, "out": str(out)}
        try:
            outcome = run_child(spec, env)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        if "unavailable" in outcome:
            result.status = f"not available: {outcome['unavailable']}"
            return result
        if "failed" in outcome:
            result.status = f"FAILED: {outcome['failed']}"
            return result
        if outcome["rows_out"] != rows:
            result.status = f"INVALID: the output holds {outcome['rows_out']} rows, not {rows}"
            result.rows_out = outcome["rows_out"]
            return result
        peaks.append(outcome["peak_rss_mb"])
        result.runs.append(round(outcome["seconds"], 3))
        if result.seconds is None or outcome["seconds"] < result.seconds:
            result.seconds = outcome["seconds"]
            result.import_seconds = outcome["import_seconds"]
        result.rows_out = outcome["rows_out"]
        result.note = outcome.get("note", "")
        log.info(
            "%s %d %s run %d: %.2f s, peak RSS %.0f MB", case, rows, tool, attempt, outcome["seconds"], outcome["peak_rss_mb"],
        )
    result.peak_rss_mb = max(peaks)
    return result


def judge(case: str, rows: int, measured: list[Measurement]) -> Verdict:
    """Ratios of ours to the fastest raw tool and to dlt, and whether the targets are met."""
    by_tool = {m.tool: m for m in measured}
    raws = [m for m in measured if m.tool in RAW_TOOLS[case] and m.ok]
    raw = min(raws, key=lambda m: m.seconds or 0) if raws else None
    ours, dlt = by_tool.get("ours"), by_tool.get("dlt")
    if ours is None or not ours.ok or raw is None:
        why = "ours has no number" if ours is None or not ours.ok else "no raw tool number"
        return Verdict(case, rows, raw.tool if raw else None, None, None, False, None, None, why)
    assert ours.seconds and raw.seconds
    vs_raw = raw.seconds / ours.seconds
    vs_dlt = dlt.seconds / ours.seconds if dlt is not None and dlt.ok and dlt.seconds else None
    # 2x dlt would mean beating the raw tool when dlt is within 2x of it: then the raw ratio rules.
    waived = dlt is not None and dlt.ok and (dlt.seconds or 0) < TARGET_VS_DLT * raw.seconds
    rss_ok = None if rows < RSS_CHECK_ROWS else (ours.peak_rss_mb or 0) < RSS_LIMIT_MB
    misses, notes = [], []
    if vs_raw < TARGET_VS_RAW:
        misses.append(f"{vs_raw:.2f}x {raw.tool} < {TARGET_VS_RAW}x")
    if waived:
        notes.append("dlt target waived: dlt is within 2x of the raw tool")
    elif vs_dlt is None:
        notes.append("no dlt number, dlt target not judged")
    elif vs_dlt < TARGET_VS_DLT:
        misses.append(f"{vs_dlt:.2f}x dlt < {TARGET_VS_DLT}x")
    if rss_ok is False:
        misses.append(f"peak RSS {ours.peak_rss_mb:.0f} MB >= {RSS_LIMIT_MB} MB")
    met = False if misses else (None if vs_dlt is None and not waived else True)
    return Verdict(case, rows, raw.tool, vs_raw, vs_dlt, waived, rss_ok, met, "; ".join(misses + notes))


def format_table(measurements: list[Measurement], verdicts: list[Verdict]) -> str:
    header = (
        f"{'case':<6} {'rows':>10}  {'tool':<55} {'seconds':>8} {'rows/s':>10} {'RSS MB':>7}  {'vs raw':>7} {'vs dlt':>7}  target"
    )
    lines = [header, "-" * len(header)]
    verdict_of = {(v.case, v.rows): v for v in verdicts}
    for m in measurements:
        numbers = (
            f"{m.seconds:>8.2f} {m.rows_per_second:>10,.0f} {m.peak_rss_mb:>7.0f}" if m.ok else f"{m.status}"
        )
        line = f"{m.case:<6} {m.rows:>10,}  {m.label:<55} {numbers}"
        v = verdict_of.get((m.case, m.rows))
        if m.tool == "ours" and v is not None:
            if v.vs_raw is None:
                line += f"  {'-':>7} {'-':>7}  n/a ({v.reason})" if m.ok else ""
            else:
                dlt_text = f"{v.vs_dlt:.2f}x" if v.vs_dlt is not None else "-"
                verdict = {True: "yes", False: "NO", None: "n/a"}[v.met]
                line += f"  {v.vs_raw:>6.2f}x {dlt_text:>7}  {verdict}" + (f" ({v.reason})" if v.reason else "")
        lines.append(line)
    return "\n".join(lines)


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    versions = {}
    for package in ("duckdb", "connectorx", "dlt", "fastexcel", "pyarrow"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = "not installed"
    return {"nproc": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1), "cpu": cpu,
            "python": platform.python_version(), "versions": versions}


def prepare_source(case: str, rows: int, work: Path, tag: str) -> str:
    """The input of a case: a cached file's path, or a freshly created table's name."""
    if case == "csv":
        return str(datagen.csv_file(rows, work))
    if case == "xlsx":
        return str(datagen.xlsx_file(rows, work))
    table = datagen.table_name(rows, tag)
    return datagen.create_pg_table(rows, table) if case == "pg" else datagen.create_mysql_table(rows, table)


def run_benchmark(
    cases: list[str], sizes: dict[str, tuple[int, ...]], runs: int, work: Path, tools: list[str] | None = None,
) -> dict:
    """Measure every case and size; returns the results as a JSON-ready dict."""
    env = {
        **os.environ,
        f"AIRFLOW_CONN_{PG_CONNECTION.upper()}": datagen.PG_URI,
        f"AIRFLOW_CONN_{MYSQL_CONNECTION.upper()}": datagen.MYSQL_URI,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    tag = f"{os.getpid()}"
    measurements: list[Measurement] = []
    verdicts: list[Verdict] = []
    scratch = Path(tempfile.mkdtemp(prefix="runs-", dir=work))
    try:
        for case in cases:
            for rows in sizes[case]:
                wanted = [tool for tool in (*RAW_TOOLS[case], "dlt", "ours") if tools is None or tool in tools]
                started = time.perf_counter()
                try:
                    source = prepare_source(case, rows, work, tag)
                except ImportError as exc:  # psycopg2/pymysql come with the bench group
                    why = f"not available: cannot generate the input ({exc}); install the bench group"
                    measurements.extend(Measurement(case, rows, t, tool_label(t, case), status=why) for t in wanted)
                    continue
                log.info("%s %d rows: input ready in %.1f s (%s)", case, rows, time.perf_counter() - started, source)
                try:
                    found = [measure_tool(case, rows, tool, source, scratch, runs, env) for tool in wanted]
                finally:
                    if case in ("pg", "mysql"):
                        datagen.drop_table(case, source)
                measurements.extend(found)
                verdicts.append(judge(case, rows, found))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs_per_tool": runs,
        "machine": machine(),
        "targets": {"vs_raw": TARGET_VS_RAW, "vs_dlt": TARGET_VS_DLT, "rss_limit_mb_at_10m": RSS_LIMIT_MB},
        "measurements": [asdict(m) | {"rows_per_second": m.rows_per_second} for m in measurements],
        "verdicts": [asdict(v) for v in verdicts],
        "table": format_table(measurements, verdicts),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.connectors",
        description=(
            "Measure our connectors (ingestion.extract.extract_load) against the raw tools (DuckDB COPY, DuckDB "
            "postgres_scanner, connectorx, fastexcel) and dlt, on the same generated data. Each tool runs in a fresh "
            "process; the fastest of --runs runs is kept. Needs the bench group (uv sync --group bench), PostgreSQL on "
            "127.0.0.1:5432 (user postgres, database test) and MariaDB on 127.0.0.1:3306 (root, database test)."
        ),
        epilog=f"Targets: ours >= {TARGET_VS_RAW}x the raw tool and >= {TARGET_VS_DLT}x dlt (waived where that would beat "
        f"the raw tool), peak RSS < {RSS_LIMIT_MB} MB at 10M rows. Inputs are cached in ${datagen.BENCH_DIR_ENV} "
        "(default <repo>/data/bench).",
    )
    parser.add_argument("--quick", action="store_true", help="1M-row sizes only (skip the 10M-row CSV and PostgreSQL cases)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)} (default: all)")
    parser.add_argument("--tools", default=None, help="comma-separated subset of duckdb,connectorx,fastexcel,dlt,ours")
    parser.add_argument("--runs", type=int, default=2, help="runs per tool; the fastest is kept (default 2)")
    parser.add_argument("--rows", type=int, default=None, help="run every case at this one size (e.g. 1000: a smoke test)")
    parser.add_argument("--json", type=Path, default=None, help="where to write the results (default <bench dir>/results.json)")
    args = parser.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if args.tools:
        args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args.rows:
        sizes = {case: (args.rows,) for case in CASES}
    else:
        sizes = {case: tuple(n for n in SIZES[case] if not args.quick or n <= QUICK_MAX_ROWS) for case in CASES}
    work = datagen.bench_dir()
    results = run_benchmark(args.cases, sizes, args.runs, work, args.tools)
    target = args.json or work / "results.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(results["table"] + "\n")
    sys.stdout.write(f"\nresults: {target}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
