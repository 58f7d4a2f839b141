"""The warehouse at scale: full dbt build vs the same SQL run straight in DuckDB, incremental rebuilds, gates.

    uv run python -m benchmarks.warehouse                  # scale 1 and 10 (make bench)
    uv run python -m benchmarks.warehouse --scales 1       # one scale

Per scale, in a scratch data root:
  1. prepare   the five demo agency systems (`agency_systems.demo`), then every dataset ingested
               (`extract_load`, in this process; timed as "ingest")
  2. dbt       a fresh process runs `build_warehouse` (dbt build: seeds, models, tests), and another
               runs the same build without tests (dbt seed + run): wall time and peak RSS (VmHWM).
               Each starts as the platform's build task does: dbt imported and the project loaded
               once before the clock (`warehouse.warm.warm_dbt`; `--cold-dbt` leaves that out)
  3. raw       a fresh process runs the SQL dbt compiled (manifest.json: seeds loaded with read_csv,
               then every model's compiled SQL in dependency order, views as views, tables as
               CREATE TABLE AS, external marts as COPY ... TO parquet) in plain DuckDB, same threads
  4. change    1% of the registry changes (births, deaths, moves), it is ingested and a fresh process
               builds again: the incremental build's time as a fraction of the full build. Then the
               same for a 1% change in each other agency's largest polled or dropped dataset, one after
               another (Dinkes growth measurements, Disdik schools, DPMD Dana Desa): what a change
               rebuilds depends on how much of the project reads that agency's data
  5. gates     a fresh process audits the release candidate (GX suites, privacy, metadata gates), twice:
               with Great Expectations imported before the clock, as every process that audits in the
               platform has it (the Airflow workers fork from a scheduler that imported it; `make run`
               imported it at the raw boundary of the first ingest), and cold, its import included

The ratio dbt / raw is computed on the runs without tests (the transformation SQL is the same);
dbt build with its tests is reported beside it. Prints a table and writes JSON results.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("benchmarks.warehouse")

CHILD_TIMEOUT_SECONDS = 3600
CHANGE_FRACTION = 0.01
TARGET_E2E_SECONDS = 60  # scale 1: ingest + build + gate
TARGET_DBT_OVER_RAW = 1.3
TARGET_INCREMENTAL = 0.10
RSS_LIMIT_MB = 2048  # at scale 10
COLD_DBT_ENV = "SATUDATA_BENCH_COLD_DBT"  # set by --cold-dbt for the child processes


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# --- measurements, each in its own process --------------------------------------------------------

def _start_like_a_worker(root: Path) -> None:
    """Start as the platform's build task starts: dbt imported and the project loaded once, before the clock.

    The Airflow workers fork from a scheduler that did both (`orchestration.warm_workers`, with
    `warehouse.warm.warm_dbt`), as the raw run has DuckDB imported; the builds measured here are what
    each costs then. `--cold-dbt` leaves out the project load (dbt's one-time work in a process).
    """
    import dbt.cli.main  # noqa: F401

    if os.environ.get(COLD_DBT_ENV) != "1":
        from ingestion.zones import Zones
        from warehouse.warm import warm_dbt

        warm_dbt(Zones(root))


def _measure_build(root: Path, with_tests: bool) -> dict:
    from ingestion.catalog import load_catalog
    from ingestion.zones import Zones
    from warehouse import build as warehouse_build

    zones = Zones(root)
    catalog = load_catalog()
    _start_like_a_worker(root)
    if not with_tests:
        # The same build, minus dbt's data and unit tests: the transformation only.
        original = warehouse_build.run_dbt

        def without_tests(command: list[str], **kwargs: object) -> object:
            return original([*command, "--exclude-resource-type", "test", "unit_test"], **kwargs)

        warehouse_build.run_dbt = without_tests  # type: ignore[assignment]
    started = time.perf_counter()
    build = warehouse_build.build_warehouse(zones, catalog, force=True)
    seconds = time.perf_counter() - started
    assert build is not None
    return {"seconds": seconds, "build_id": build["build_id"], "mode": build["mode"], "models": len(build["models"]),
            "tests": build["tests"], "dbt_seconds": build["seconds"]}


def _measure_incremental(root: Path) -> dict:
    from ingestion.catalog import load_catalog
    from ingestion.zones import Zones
    from warehouse.build import build_warehouse

    _start_like_a_worker(root)
    started = time.perf_counter()
    build = build_warehouse(Zones(root), load_catalog())
    seconds = time.perf_counter() - started
    assert build is not None
    return {"seconds": seconds, "mode": build["mode"], "models": len(build["models"]), "tests": build["tests"],
            "rebuilt_from": build["rebuilt_from"]}


def _seed_sql(node: dict, project_dir: Path) -> str:
    types = node["config"].get("column_types") or {}
    path = project_dir / node["original_file_path"]
    columns = ", ".join(f"'{name}': '{dtype}'" for name, dtype in types.items())
    options = f", columns = {{{columns}}}" if columns else ""
    return f"create table {node['relation_name']} as select * from read_csv('{path}', header = true{options})"


def _ordered_nodes(manifest: dict) -> list[dict]:
    """Seeds and models in dependency order (what dbt runs), ignoring tests."""
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] in ("seed", "model")}
    done: set[str] = set()
    order: list[dict] = []

    def visit(uid: str) -> None:
        if uid in done or uid not in nodes:
            return
        done.add(uid)
        for parent in nodes[uid]["depends_on"].get("nodes", []):
            visit(parent)
        order.append(nodes[uid])

    for uid in sorted(nodes):
        visit(uid)
    return order


def _measure_raw(root: Path, build_dir: Path) -> dict:
    """Run the build's compiled SQL in plain DuckDB, into a fresh database named like dbt's (warehouse)."""
    import duckdb

    from ingestion.zones import Zones
    from warehouse.build import PROJECT_DIR, building_path
    from warehouse.pseudonym import load_key, macro_statements

    manifest = json.loads((build_dir / "target" / "manifest.json").read_text())
    nodes = _ordered_nodes(manifest)
    compiled_dir = build_dir / "target" / "compiled"
    scratch = Path(tempfile.mkdtemp(prefix="raw-", dir=root))
    marts = scratch / "marts"
    marts.mkdir()
    building = str(building_path(Zones(root).warehouse))
    started = time.perf_counter()
    con = duckdb.connect(str(scratch / "warehouse.duckdb"), config={"threads": 2})
    for statement in macro_statements(load_key()):
        con.execute(statement)
    schemas = {n["schema"] for n in nodes}
    for schema in sorted(schemas):
        con.execute(f'create schema if not exists "{schema}"')
    statements = 0
    for node in nodes:
        if node["resource_type"] == "seed":
            con.execute(_seed_sql(node, PROJECT_DIR))
            statements += 1
            continue
        compiled_path = compiled_dir / manifest["metadata"]["project_name"] / node["original_file_path"]
        sql = node.get("compiled_code") or compiled_path.read_text()
        # dbt compiled against the build in progress (warehouse/_building); the finished build is build_dir.
        sql = sql.replace(f"{building}/", f"{build_dir}/")
        materialized = node["config"]["materialized"]
        relation = node["relation_name"]
        if materialized == "view":
            con.execute(f"create view {relation} as {sql}")
        elif materialized == "external":
            target = marts / f"{node['name']}.parquet"
            con.execute(f"copy ({sql}) to '{target}' (format parquet)")
            con.execute(f"create view {relation} as select * from read_parquet('{target}')")
        else:
            con.execute(f"create table {relation} as {sql}")
        statements += 1
    con.close()
    return {"seconds": time.perf_counter() - started, "statements": statements}


def _measure_gates(root: Path, *, gx_imported: bool) -> dict:
    from ingestion.catalog import load_catalog
    from ingestion.zones import Zones
    from publication.errors import GateFailed
    from publication.release import audit_candidate

    if gx_imported:
        from publication.quality import import_gx_now

        import_gx_now()
    started = time.perf_counter()
    try:
        candidate = audit_candidate(Zones(root), load_catalog())
    except GateFailed as exc:
        # Every gate still ran; at scale 10 the suites' plausibility bounds (set for Paser as it is) block it.
        return {"seconds": time.perf_counter() - started, "passed": False,
                "blocked_by": [str(failure) for failure in exc.failures]}
    seconds = time.perf_counter() - started
    if candidate:
        # Measured, never published: the next audit would wait for it as another publish run's candidate.
        shutil.rmtree(candidate["path"])
    return {"seconds": seconds, "passed": bool(candidate and candidate.get("passed"))}


def child_main(what: str, root: str, extra: str | None) -> None:
    logging.basicConfig(level=logging.WARNING)
    data_root = Path(root)
    os.environ["SATUDATA_DATA_DIR"] = str(data_root)
    if what == "build":
        result = _measure_build(data_root, with_tests=True)
    elif what == "build-no-tests":
        result = _measure_build(data_root, with_tests=False)
    elif what == "incremental":
        result = _measure_incremental(data_root)
    elif what == "raw":
        result = _measure_raw(data_root, Path(extra or ""))
    elif what == "gates":
        result = _measure_gates(data_root, gx_imported=True)
    elif what == "gates-cold":
        result = _measure_gates(data_root, gx_imported=False)
    else:
        raise SystemExit(f"unknown measurement {what}")
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    sys.stdout.write(json.dumps(result) + "\n")


def _child(what: str, root: Path, extra: str | None = None) -> dict:
    command = [sys.executable, "-m", "benchmarks.warehouse", "--child", what, str(root), *([extra] if extra else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_SECONDS,
                          env={**os.environ, "SATUDATA_DATA_DIR": str(root)})
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- one scale ------------------------------------------------------------------------------------

def _ingest_everything(zones, catalog) -> tuple[float, int]:
    from ingestion.extract import extract_load

    started = time.perf_counter()
    rows = 0
    for entry in catalog.datasets:
        for manifest in extract_load(entry, zones):
            rows += manifest["rows_loaded"]
    return time.perf_counter() - started, rows


def run_scale(scale: float, scratch: Path) -> dict:
    from agency_systems import disdukcapil
    from agency_systems.demo import demo_systems
    from ingestion.catalog import load_catalog
    from ingestion.extract import extract_load
    from ingestion.zones import Zones

    root = scratch / f"scale-{scale:g}"
    root.mkdir(parents=True)
    zones = Zones(root)
    os.environ["SATUDATA_DATA_DIR"] = str(root)
    catalog = load_catalog()
    result: dict = {"scale": scale}
    started = time.perf_counter()
    with demo_systems(zones, scale=scale, port=0) as env:
        result["prepare_seconds"] = time.perf_counter() - started
        result["ingest_seconds"], result["rows_ingested"] = _ingest_everything(zones, catalog)
        log.info("scale %g: %d rows ingested in %.1f s", scale, result["rows_ingested"], result["ingest_seconds"])
        result["dbt_build"] = _child("build", root)
        build_dir = (zones.warehouse / "current").resolve()
        result["dbt_no_tests"] = _child("build-no-tests", root)
        result["raw_duckdb"] = _child("raw", root, str(build_dir))
        # Back to a build with tests as `current`, then the gates on it.
        result["dbt_build_again"] = _child("build", root)
        result["gates"] = _child("gates", root)
        result["gates_cold"] = _child("gates-cold", root)
        # 1% of the registry changes; only Disdukcapil's dataset is re-ingested.
        residents = result["rows_ingested_registry"] = _registry_rows(zones)
        changes = max(3, int(residents * CHANGE_FRACTION))
        disdukcapil.apply_changes(env["AIRFLOW_CONN_DISDUKCAPIL_SIAK"], births=changes // 3, deaths=changes // 3,
                                  moves=changes - 2 * (changes // 3), seed=7, at=_later())
        entry = catalog.dataset("disdukcapil__penduduk")
        ingest_started = time.perf_counter()
        changed_rows = sum(m["rows_loaded"] for m in extract_load(entry, zones))
        result["change"] = {"rows": changed_rows, "rows_changed": changes,
                            "ingest_seconds": time.perf_counter() - ingest_started}
        result["incremental"] = _child("incremental", root)
        result["incremental_by_agency"] = {"disdukcapil__penduduk": {**result["change"], **result["incremental"]}}
        for dataset, change in _other_agency_changes(zones, env).items():
            rows = change()
            ingest_started = time.perf_counter()
            loaded = sum(m["rows_loaded"] for m in extract_load(catalog.dataset(dataset), zones))
            ingest_seconds = time.perf_counter() - ingest_started
            result["incremental_by_agency"][dataset] = {"rows": loaded, "rows_changed": rows,
                                                        "ingest_seconds": ingest_seconds,
                                                        **_child("incremental", root)}
    return result


def _other_agency_changes(zones, env: dict[str, str]) -> dict:
    """dataset id -> a function that changes 1% of its rows at the agency (returns how many)."""
    import sqlite3

    from agency_systems import dinkes, disdik, dpmd

    def measurements() -> int:
        con = sqlite3.connect(dinkes.store_path(zones))
        try:
            (count,) = con.execute("select count(*) from pengukuran").fetchone()
        finally:
            con.close()
        return len(dinkes.late_corrections(zones, count=max(1, int(count * CHANGE_FRACTION)), at=_later(), seed=7))

    def schools() -> int:
        rows = disdik.load_sekolah_reference()
        changed = rows[:: int(1 / CHANGE_FRACTION)]
        for row in changed:
            row["alamat_jalan"] = f"{row.get('alamat_jalan') or ''} (perubahan)"
        disdik.write_sekolah_workbook(zones.drop("disdik") / "sekolah_2019.xlsx", rows)
        return len(changed)

    def dana_desa() -> int:
        # A village moves Rp 1,000 from stage 1 to stage 3 of its report: values change, totals do not.
        # sqlite3 itself: DuckDB's SQLite scanner cannot bind the TIMESTAMP column in an UPDATE.
        uri = env[dpmd.CONNECTION_ENV]
        assert uri.startswith("sqlite:///"), f"the benchmark changes the embedded DPMD system, not {uri}"
        con = sqlite3.connect(uri.removeprefix("sqlite:///"))
        try:
            with con:
                cursor = con.execute(
                    f"update {dpmd.TABLE} set realisasi_tahap_1 = realisasi_tahap_1 - 1000, "
                    "realisasi_tahap_3 = realisasi_tahap_3 + 1000, updated_at = ? "
                    f"where id % {int(1 / CHANGE_FRACTION)} = 0 and realisasi_tahap_1 >= 1000",
                    (f"{_later():%Y-%m-%d %H:%M:%S}",))
            return cursor.rowcount
        finally:
            con.close()

    return {"dinkes__pengukuran": measurements, "disdik__sekolah": schools, "dpmd__dana_desa": dana_desa}


def _registry_rows(zones) -> int:
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(p).num_rows for p in zones.raw("disdukcapil", "penduduk").glob("batch=*/data.parquet"))


def _later():
    import datetime as dt

    return dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)


def report(results: list[dict]) -> str:
    lines = [
        "| scale | rows ingested | ingest s | dbt build s (tests) | dbt seed+run s | raw DuckDB s | dbt/raw | "
        "incremental s (1% change) | incr/full | gates s | gates/build | gates s, GX import included | e2e s | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        full = r["dbt_build"]["seconds"]
        ratio = r["dbt_no_tests"]["seconds"] / r["raw_duckdb"]["seconds"]
        incr = r["incremental"]["seconds"] / full
        gates = r["gates"]["seconds"] / full
        e2e = r["ingest_seconds"] + full + r["gates_cold"]["seconds"]  # GX's import is paid once in a run
        blocked = "" if r["gates"]["passed"] else " (blocked)"
        rss = max(m["peak_rss_mb"] for k, m in r.items() if isinstance(m, dict) and "peak_rss_mb" in m)
        lines.append(
            f"| {r['scale']:g} | {r['rows_ingested']:,} | {r['ingest_seconds']:.1f} | {full:.1f} | "
            f"{r['dbt_no_tests']['seconds']:.1f} | {r['raw_duckdb']['seconds']:.1f} | {ratio:.2f}x | "
            f"{r['incremental']['seconds']:.1f} ({r['incremental']['mode']}) | {incr:.0%} | "
            f"{r['gates']['seconds']:.1f}{blocked} | {gates:.0%} | {r['gates_cold']['seconds']:.1f} | {e2e:.1f} | "
            f"{rss:,.0f} |"
        )
    lines.append("")
    lines += ["Incremental builds, 1% change in one agency's dataset (each after the one before):", "",
              "| scale | dataset | rows changed | models rebuilt | tests run | seconds | of the full build |",
              "|---:|---|---:|---:|---:|---:|---:|"]
    for r in results:
        for dataset, incremental in (r.get("incremental_by_agency") or {}).items():
            tests = sum((incremental.get("tests") or {}).values())
            lines.append(f"| {r['scale']:g} | {dataset} | {incremental.get('rows_changed', incremental['rows']):,} | "
                         f"{incremental['models']} | {tests} | {incremental['seconds']:.1f} | "
                         f"{incremental['seconds'] / r['dbt_build']['seconds']:.0%} |")
    lines.append("")
    lines.append(f"Targets: scale 1 end to end (ingest + build + gates) < {TARGET_E2E_SECONDS} s; dbt (seed+run) <= "
                 f"{TARGET_DBT_OVER_RAW}x raw DuckDB; incremental <= {TARGET_INCREMENTAL:.0%} of full; peak RSS < "
                 f"{RSS_LIMIT_MB} MB at scale 10; gates <= 20% of the build (GX imported, as in the platform's workers).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.warehouse", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10", help="comma-separated scale factors (default 1,10)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here (default: <scratch>/warehouse.json)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch data roots")
    parser.add_argument("--cold-dbt", action="store_true",
                        help="builds start with dbt imported only, not with the project loaded as the platform's workers do")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold_dbt:
        os.environ[COLD_DBT_ENV] = "1"  # inherited by the child processes
    if args.child:
        child_main(args.child[0], args.child[1], args.child[2] if len(args.child) > 2 else None)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("great_expectations", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    scratch = Path(tempfile.mkdtemp(prefix="satudata-bench-warehouse-"))
    results = []
    for scale in (float(s) for s in args.scales.split(",")):
        results.append(run_scale(scale, scratch))
        sys.stdout.write(report(results) + "\n")
    out = args.json or scratch / "warehouse.json"
    out.write_text(json.dumps(results, indent=2))
    sys.stdout.write(f"\nresults: {out}\n")
    if not args.keep:
        import shutil

        for root in scratch.glob("scale-*"):
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
