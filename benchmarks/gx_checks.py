"""Ten raw-boundary checks over a 10M-row batch: GX on DuckDB SQL vs GX on pandas vs one DuckDB query.

    python -m benchmarks.gx_checks                     # 10M rows, every method (make bench)
    python -m benchmarks.gx_checks --rows 1000000      # another size
    python -m benchmarks.gx_checks --pandas-rows 1000000   # GX on pandas at a smaller size (memory)

The batch is a Parquet file written by DuckDB (cached in the bench dir): ids as text, region codes,
integers, decimals, dates, categories, with a few deliberate violations so that every method has
failures to find and report. The same ten checks run three ways, each in a FRESH process
(`python -m benchmarks.gx_checks --child '<spec>'`) that imports its modules before the clock starts:

    gx_duckdb                 publication.quality.validate_parquet(engine="duckdb"): GX runs the suite as SQL on DuckDB
    gx_duckdb_values_unique   the same, with uniqueness as expect_column_values_to_be_unique (see UNIQUE_AS_*)
    gx_pandas                 validate_parquet(engine="pandas"): the file is read into pandas, GX's pandas engine
    duckdb_sql                the ten checks as one hand-written DuckDB query (the floor)

Each child reports `seconds` (the validation alone), `import_seconds` (imports, GX's included, and
DuckDB's one-off Parquet reader start-up, ~2 s, for the methods that use DuckDB), its verdict per
check and its peak RSS (VmHWM). The verdicts of every method must agree check by check with the
query's, or the row is marked INVALID. Ratios are taken against the single query of the same size
in the same run; the target (issue 5) is GX <= 3x the query.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import datagen

log = logging.getLogger("benchmarks.gx_checks")

DATA_VERSION = 1  # bump when the generated rows change
METHODS = ("gx_duckdb", "gx_duckdb_values_unique", "gx_pandas", "duckdb_sql")
TARGET_RATIO = 3.0
CHILD_TIMEOUT_SECONDS = 1800
SUITE_NAME = "bench__pembayaran"
# Uniqueness, two ways. GX's SQL for expect_column_values_to_be_unique is a window function over the
# whole column, run twice (count, then examples): ~2/3 of GX's time at 10M rows. The same verdict as
# an aggregate (distinct / non-null = 1) costs what the single query's count(distinct) costs, but
# reports the proportion instead of example duplicates. The main suite uses the aggregate; the
# `gx_duckdb_values_unique` method measures the window form.
UNIQUE_AS_AGGREGATE = "expect_column_proportion_of_unique_values_to_be_between: {column: id_bayar, min_value: 1.0}"
UNIQUE_AS_WINDOW = "expect_column_values_to_be_unique: {column: id_bayar}"
KATEGORI = ("pasar", "parkir", "sampah", "reklame", "terminal")
KODE_DESA_REGEX = r"^64\.01\.[0-9]{2}\.[12][0-9]{3}$"
COLUMNS = ["id_bayar", "kode_desa", "kode_kecamatan", "jumlah", "nilai", "tanggal", "kategori"]

# Deterministic rows (i: the row number); violations every so many rows, so each method has work to report.
_SELECT = f"""
    select
        'TRX' || lpad((case when i % 2000003 = 7 then i - 1 else i end)::varchar, 10, '0') as id_bayar,
        case when i % 1000003 = 5 then null
             when i % 1000033 = 9 then '6401' || lpad((i % 10 + 1)::varchar, 2, '0') || '2001'
             else '64.01.' || lpad((i % 10 + 1)::varchar, 2, '0') || '.' || (2001 + i % 20)::varchar end as kode_desa,
        '64.01.' || lpad((i % 10 + 1)::varchar, 2, '0') as kode_kecamatan,
        case when i % 999983 = 3 then 5000 else (i * 37) % 1000 end::integer as jumlah,
        (((i * 7907) % 100000000) / 100.0)::decimal(14, 2) as nilai,
        date '2020-01-01' + (i % 2000)::integer as tanggal,
        case when i % 1999993 = 11 then 'lainnya'
             else ['{"', '".join(KATEGORI)}'][(i % {len(KATEGORI)}) + 1] end as kategori
    from range(1, {{rows}} + 1) as t(i)
"""

# The ten checks, as a raw suite file would hold them (@SUITE@, @UNIQUE@: filled by suite_file).
SUITE_YAML = f"""suite: @SUITE@
expectations:
  - expect_table_row_count_to_be_between: {{min_value: 1, max_value: 100000000}}
  - expect_table_columns_to_match_set: {{column_set: {json.dumps(COLUMNS)}, exact_match: true}}
  - expect_column_values_to_not_be_null: {{column: id_bayar}}
  - expect_column_values_to_not_be_null: {{column: kode_desa}}
  - @UNIQUE@
  - expect_column_values_to_match_regex: {{column: kode_desa, regex: '{KODE_DESA_REGEX}'}}
  - expect_column_values_to_be_in_set: {{column: kategori, value_set: {json.dumps(list(KATEGORI))}}}
  - expect_column_values_to_be_between: {{column: jumlah, min_value: 0, max_value: 999}}
  - expect_column_values_to_be_between: {{column: nilai, min_value: 0, max_value: 1000000}}
  - expect_column_value_lengths_to_be_between: {{column: kode_kecamatan, min_value: 8, max_value: 8}}
"""

# The same ten checks as one query: each column holds the number of offending rows (0 = pass),
# except rows (the row count) and the column list, which is compared in Python from the result's description.
_ONE_QUERY = f"""
    select
        count(*) as table_row_count,
        count(*) filter (where id_bayar is null) as id_bayar_null,
        count(*) filter (where kode_desa is null) as kode_desa_null,
        count(id_bayar) - count(distinct id_bayar) as id_bayar_duplicate,
        count(*) filter (where not regexp_matches(kode_desa, '{KODE_DESA_REGEX}')) as kode_desa_regex,
        count(*) filter (where kategori not in ({", ".join(f"'{k}'" for k in KATEGORI)})) as kategori_in_set,
        count(*) filter (where jumlah not between 0 and 999) as jumlah_between,
        count(*) filter (where nilai not between 0 and 1000000) as nilai_between,
        count(*) filter (where length(kode_kecamatan) <> 8) as kode_kecamatan_lengths
    from read_parquet(?)
"""


def batch_file(rows: int, folder: Path) -> Path:
    """The cached Parquet batch of `rows` rows (written by DuckDB once per size and DATA_VERSION)."""
    path = folder / f"gx_batch_{rows}_v{DATA_VERSION}.parquet"
    if not path.is_file():
        import duckdb

        tmp = path.with_name(f".tmp-{path.name}")
        started = time.perf_counter()
        with duckdb.connect() as con:
            con.execute(f"copy ({_SELECT.format(rows=rows)}) to '{tmp}' (format parquet, row_group_size 1000000)")
        os.replace(tmp, path)
        log.info("wrote %s (%d rows) in %.1f s", path.name, rows, time.perf_counter() - started)
    return path


def suite_file(folder: Path, *, unique_as_window: bool = False) -> Path:
    """The ten checks as a suite file (its name must match the file's)."""
    name = f"{SUITE_NAME}_values_unique" if unique_as_window else SUITE_NAME
    path = folder / f"{name}.yml"
    unique = UNIQUE_AS_WINDOW if unique_as_window else UNIQUE_AS_AGGREGATE
    path.write_text(SUITE_YAML.replace("@SUITE@", name).replace("@UNIQUE@", unique), encoding="utf-8")
    return path


# --- one measurement (child process) ----------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set size since exec (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _warm_duckdb(path: str) -> None:
    """The first read_parquet of a process costs ~2 s (DuckDB loads its Parquet reader lazily): paid before the clock."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("select count(*) from read_parquet(?)", [path]).fetchall()


def _measure_gx(spec: dict) -> dict:
    started = time.perf_counter()
    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # before the import: its INFO flood
    from publication.quality import _import_gx_expectations, validate_parquet

    _import_gx_expectations()
    import great_expectations  # noqa: F401  # the whole package, as a validation needs it

    if spec["method"] != "gx_pandas":
        import sqlalchemy  # noqa: F401

        from publication import gx_duckdb

        gx_duckdb.enable()
        _warm_duckdb(spec["input"])
    import_seconds = time.perf_counter() - started
    engine = "pandas" if spec["method"] == "gx_pandas" else "duckdb"
    started = time.perf_counter()
    report = validate_parquet(Path(spec["input"]), Path(spec["suite"]), engine=engine)
    seconds = time.perf_counter() - started
    verdicts = [o.success for o in report.results]
    exceptions = [o.describe() for o in report.results if o.exception]
    return {"seconds": seconds, "import_seconds": import_seconds, "rows": report.rows, "verdicts": verdicts,
            "failed_checks": [o.describe()[:160] for o in report.failures()], "exceptions": exceptions}


def _measure_query(spec: dict) -> dict:
    started = time.perf_counter()
    import duckdb

    _warm_duckdb(spec["input"])
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with duckdb.connect() as con:
        cursor = con.execute(_ONE_QUERY, [spec["input"]])
        (row,) = cursor.fetchall()
        names = [d[0] for d in cursor.description]
        columns = [d[0] for d in con.execute("select * from read_parquet(?) limit 0", [spec["input"]]).description]
    seconds = time.perf_counter() - started
    counts = dict(zip(names, row, strict=True))
    rows = counts.pop("table_row_count")
    # In the order of SUITE_YAML: row count, columns, then the eight counted checks.
    verdicts = [1 <= rows <= 100_000_000, sorted(columns) == sorted(COLUMNS), *(n == 0 for n in counts.values())]
    return {"seconds": seconds, "import_seconds": import_seconds, "rows": rows, "verdicts": verdicts,
            "failed_checks": [f"{name}: {n}" for name, n in counts.items() if n], "exceptions": []}


def child(spec: dict) -> dict:
    result = _measure_query(spec) if spec["method"] == "duckdb_sql" else _measure_gx(spec)
    return {**result, "peak_rss_mb": round(peak_rss_mb(), 1)}


def run_child(spec: dict) -> dict:
    """One measurement in a fresh interpreter; a crash or timeout is a `failed` result."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.gx_checks", "--child", json.dumps(spec)],
            capture_output=True, text=True, cwd=datagen.REPO_ROOT, timeout=CHILD_TIMEOUT_SECONDS, check=False,
            env={**os.environ, "GX_ANALYTICS_ENABLED": "false"},
        )
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out after {CHILD_TIMEOUT_SECONDS} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return {"failed": f"exit code {proc.returncode}: {tail[:400]}"}
    return json.loads(lines[-1])


# --- the benchmark (parent) ------------------------------------------------------------------------


def measure(method: str, rows: int, work: Path, runs: int) -> dict:
    """Best of `runs` fresh-process runs (peak RSS: the highest)."""
    data = batch_file(rows, work)
    suite = suite_file(work, unique_as_window=method == "gx_duckdb_values_unique")
    results = [run_child({"method": method, "input": str(data), "suite": str(suite)}) for _ in range(runs)]
    failed = [r for r in results if "failed" in r]
    if failed:
        return {"method": method, "rows": rows, "status": f"FAILED: {failed[0]['failed']}"}
    best = min(results, key=lambda r: r["seconds"])
    status = "ok" if not best["exceptions"] else f"INVALID: GX raised {best['exceptions'][0]}"
    return {"method": method, "rows": rows, "status": status, **best,
            "runs": [round(r["seconds"], 3) for r in results], "peak_rss_mb": max(r["peak_rss_mb"] for r in results)}


LABELS = {
    "gx_duckdb": "GX 1.x, SQL on DuckDB (validate_parquet engine=duckdb)",
    "gx_duckdb_values_unique": "GX 1.x, SQL on DuckDB, unique as values_to_be_unique",
    "gx_pandas": "GX 1.x, pandas (validate_parquet engine=pandas)",
    "duckdb_sql": "one DuckDB query (the same ten checks)",
}


def judge(measured: list[dict]) -> list[dict]:
    """Ratios against the single query of the same size; verdicts must agree with it check by check."""
    floor = {m["rows"]: m for m in measured if m["method"] == "duckdb_sql" and m["status"] == "ok"}
    for m in measured:
        query = floor.get(m["rows"])
        if m["status"] != "ok" or query is None:
            continue
        if m["verdicts"] != query["verdicts"]:
            m["status"] = f"INVALID: verdicts {m['verdicts']} differ from the query's {query['verdicts']}"
            continue
        m["ratio"] = m["seconds"] / query["seconds"]
        m["ratio_with_import"] = (m["seconds"] + m["import_seconds"]) / query["seconds"]
    return measured


def format_table(measured: list[dict]) -> str:
    header = (f"{'rows':>11}  {'method':<55} {'seconds':>8} {'import s':>8} {'RSS MB':>7} "
              f"{'x query':>8} {'x query+imp':>11}  target <= {TARGET_RATIO:.0f}x")
    lines = [header, "-" * len(header)]
    for m in measured:
        label = LABELS[m["method"]]
        if m["status"] != "ok":
            lines.append(f"{m['rows']:>11,}  {label:<55} {m['status']}")
            continue
        line = f"{m['rows']:>11,}  {label:<55} {m['seconds']:>8.2f} {m['import_seconds']:>8.2f} {m['peak_rss_mb']:>7.0f}"
        if "ratio" in m:
            met = "yes" if m["ratio"] <= TARGET_RATIO else "NO"
            line += f" {m['ratio']:>7.2f}x {m['ratio_with_import']:>10.2f}x  {met if m['method'] != 'duckdb_sql' else ''}"
        lines.append(line)
    return "\n".join(lines)


def run_benchmark(rows: int, pandas_rows: int, runs: int, methods: list[str], work: Path) -> dict:
    plan = [(method, rows) for method in methods if method != "gx_pandas"]
    if "gx_pandas" in methods:
        plan.append(("gx_pandas", pandas_rows))
        if pandas_rows != rows and "duckdb_sql" in methods:
            plan.append(("duckdb_sql", pandas_rows))  # its own floor for the ratio at that size
    measured = []
    for method, size in plan:
        log.info("%s at %d rows ...", method, size)
        measured.append(measure(method, size, work, runs))
    judge(measured)
    from benchmarks.connectors import machine

    return {
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs_per_method": runs,
        "machine": machine(),
        "target_ratio": TARGET_RATIO,
        "measurements": measured,
        "table": format_table(measured),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gx_checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the batch (default 10M)")
    parser.add_argument("--pandas-rows", type=int, default=None, help="rows for GX on pandas (default: --rows)")
    parser.add_argument("--runs", type=int, default=2, help="fresh-process runs per method; the fastest is kept")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {','.join(METHODS)}")
    parser.add_argument("--json", type=Path, default=None, help="results file (default <bench dir>/gx_checks.json)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if unknown := sorted(set(args.methods) - set(METHODS)):
        parser.error(f"unknown method(s) {', '.join(unknown)}")
    args.pandas_rows = args.pandas_rows or args.rows
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        sys.stdout.write(json.dumps(child(json.loads(args.child))) + "\n")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    work = datagen.bench_dir()
    results = run_benchmark(args.rows, args.pandas_rows, args.runs, args.methods, work)
    target = args.json or work / "gx_checks.json"
    target.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    sys.stdout.write(results["table"] + "\n")
    sys.stdout.write(f"\nresults: {target}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
