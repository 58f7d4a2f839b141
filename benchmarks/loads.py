"""One measured load, run in a fresh process: `python -m benchmarks.loads '<spec as JSON>'`.

The spec names the case (csv, pg, mysql, xlsx), the tool (duckdb, connectorx, fastexcel, dlt, ours),
the rows expected, the input (a file or a table) and a scratch folder for the output. The process
imports the tool's modules, then times the load alone (input -> Parquet on disk), then counts the
rows in the Parquet it wrote, and prints one JSON line:

    {"seconds": ..., "import_seconds": ..., "rows_out": ..., "note": ...}
or  {"unavailable": "<why>"}  /  {"failed": "<error>"}

`peak_rss_mb` is the process's own high-water mark (VmHWM), so it covers the imports too.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

# What each tool needs imported before the clock starts, per case.
_MODULES: dict[str, list[str]] = {
    "duckdb": ["duckdb"],
    "connectorx": ["connectorx", "pyarrow.parquet"],
    "fastexcel": ["fastexcel", "pyarrow.parquet"],
    "dlt": ["dlt", "pyarrow.parquet"],
    "ours": ["ingestion.extract", "ingestion.catalog", "pyarrow.parquet"],
}

_OURS_KIND = {"csv": "file", "xlsx": "file", "pg": "postgres", "mysql": "mysql"}
_KIND_MODULE = {"file": "ingestion.kinds.file", "postgres": "ingestion.kinds.postgres", "mysql": "ingestion.kinds.mysql"}

PG_DSN = "dbname=test host=127.0.0.1 port=5432 user=postgres"
DLT_PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
DLT_MYSQL_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
XLSX_TEXT_COLUMNS = {"kode_transaksi": "string", "nik": "string", "waktu_catat": "string", "lunas": "string"}
# dlt's fastest paths here (see benchmarks/README.md); the variables let the alternatives be re-measured.
DLT_SQL_BACKEND = os.environ.get("SATUDATA_BENCH_DLT_SQL_BACKEND", "connectorx")  # or pyarrow, sqlalchemy
DLT_CSV_READER = os.environ.get("SATUDATA_BENCH_DLT_CSV_READER", "duckdb")  # or pyarrow (pyarrow.csv.open_csv)
DLT_CHUNK_ROWS = 100_000


# Where each tool's output lands under the scratch folder (dlt also keeps load packages elsewhere in it).
_RESULT_DIR = {"dlt": "dlt_out", "ours": "data/raw"}


_DLT_SQL_MODULES = ["dlt.sources.sql_database", "sqlalchemy", *(["connectorx"] if DLT_SQL_BACKEND == "connectorx" else [])]
_DLT_CASE_MODULES = {"pg": [*_DLT_SQL_MODULES, "psycopg2"], "mysql": [*_DLT_SQL_MODULES, "pymysql"]}


class Unavailable(Exception):
    """The tool or our connector kind is not installed / not implemented yet."""


# --- Raw tools ------------------------------------------------------------------------------------

def duckdb_copy(spec: dict, out: Path) -> Callable[[], None]:
    import duckdb

    con = duckdb.connect()
    target = out / "data.parquet"
    if spec["case"] == "csv":
        query = f"from read_csv('{spec['input']}')"
    elif spec["case"] == "pg":
        from duckdb_extensions import import_extension

        import_extension("postgres_scanner", con=con)
        con.execute(f"attach '{PG_DSN}' as pg (type postgres, read_only)")
        query = f"from pg.public.{spec['input']}"
    else:
        raise Unavailable(f"no DuckDB path measured for case {spec['case']}")
    return lambda: con.execute(f"copy ({query}) to '{target}' (format parquet)") and None


def connectorx_read(spec: dict, out: Path) -> Callable[[], None]:
    import connectorx
    import pyarrow.parquet as pq

    uri = {"pg": "postgresql://postgres@127.0.0.1:5432/test", "mysql": "mysql://root@127.0.0.1:3306/test"}[spec["case"]]

    def load() -> None:
        table = connectorx.read_sql(uri, f"select * from {spec['input']}", return_type="arrow")
        pq.write_table(table, out / "data.parquet")

    return load


def fastexcel_read(spec: dict, out: Path) -> Callable[[], None]:
    import fastexcel
    import pyarrow as pa
    import pyarrow.parquet as pq

    def load() -> None:
        sheet = fastexcel.read_excel(spec["input"]).load_sheet("Transaksi", dtypes=XLSX_TEXT_COLUMNS)
        batch = sheet.to_arrow()  # a RecordBatch in fastexcel 0.21, a Table in later versions
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        pq.write_table(table, out / "data.parquet")

    return load


# --- dlt ------------------------------------------------------------------------------------------

def dlt_pipeline_run(spec: dict, out: Path) -> Callable[[], None]:
    """dlt to the filesystem destination as Parquet, with the resource dlt users would pick for the case."""
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["DLT_DATA_DIR"] = str(out / "dlt_home")
    import dlt

    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{spec['case']}",
        pipelines_dir=str(out / "dlt_pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(out / "dlt_out").as_uri()),
        dataset_name="bench",
    )
    case = spec["case"]
    if case in ("pg", "mysql"):
        from dlt.sources.sql_database import sql_table

        resource = sql_table(
            credentials=DLT_PG_URL if case == "pg" else DLT_MYSQL_URL,
            table=spec["input"],
            backend=DLT_SQL_BACKEND,
            chunk_size=DLT_CHUNK_ROWS,
            reflection_level="full_with_precision",
        )
    elif case == "csv":
        resource = _dlt_csv_resource(dlt, Path(spec["input"]))
    else:
        resource = _dlt_xlsx_resource(dlt, Path(spec["input"]))
    return lambda: pipeline.run(resource, table_name="transaksi", loader_file_format="parquet") and None


def _dlt_csv_resource(dlt, path: Path):
    """CSV as Arrow record batches, read by pyarrow's streaming reader or by DuckDB's `read_csv`.

    dlt 1.31's own `dlt.sources.filesystem.read_csv_duckdb` fails to import here
    (No module named 'dlt._workspace.cli.echo'), so the DuckDB variant is a plain resource.
    """
    if DLT_CSV_READER == "duckdb":
        import duckdb

        @dlt.resource(name="transaksi")
        def duckdb_batches():
            with duckdb.connect() as con:
                reader = con.execute(f"from read_csv('{path}')").to_arrow_reader(DLT_CHUNK_ROWS * 5)
                yield from reader

        return duckdb_batches()
    import pyarrow.csv as pcsv

    @dlt.resource(name="transaksi")
    def batches():
        reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=16 << 20))
        yield from reader

    return batches()


def _dlt_xlsx_resource(dlt, path: Path):
    import fastexcel

    @dlt.resource(name="transaksi")
    def sheet():
        yield fastexcel.read_excel(str(path)).load_sheet("Transaksi", dtypes=XLSX_TEXT_COLUMNS).to_arrow()

    return sheet()


# --- Ours -----------------------------------------------------------------------------------------

def ours_extract_load(spec: dict, out: Path) -> Callable[[], None]:
    from benchmarks.bench_catalog import AGENCY, dataset_name, file_source, relational_source, write_catalog
    from ingestion.catalog import load_catalog
    from ingestion.extract import extract_load
    from ingestion.kinds import KINDS
    from ingestion.zones import Zones

    kind = _OURS_KIND[spec["case"]]
    if kind not in KINDS:
        raise Unavailable(f"connector kind '{kind}' is not in ingestion.kinds.KINDS yet")
    try:
        importlib.import_module(KINDS[kind])
    except ImportError as exc:
        raise Unavailable(f"connector kind '{kind}' does not import: {exc}") from exc
    zones = Zones(out / "data")
    name = dataset_name(spec["case"], spec["rows"])
    if kind == "file":
        source_path = Path(spec["input"])
        drop = zones.drop(AGENCY)
        drop.mkdir(parents=True, exist_ok=True)
        _link_or_copy(source_path, drop / source_path.name)
        source = file_source(source_path.name, spec["case"])
    else:
        source = relational_source(kind, spec["input"])
    entry = load_catalog(write_catalog(out / "catalog", {name: source})).dataset(f"{AGENCY}__{name}")

    def load() -> None:
        manifests = extract_load(entry, zones)
        quarantined = sum(m["rows_quarantined"] for m in manifests)
        if quarantined:
            raise RuntimeError(f"{quarantined} rows quarantined; the benchmark rows must all load")
        spec["note"] = f"{len(manifests)} batch(es), {sum(m['rows_loaded'] for m in manifests)} rows loaded"

    return load


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        import shutil

        shutil.copyfile(source, target)


TOOLS: dict[str, Callable[[dict, Path], Callable[[], None]]] = {
    "duckdb": duckdb_copy,
    "connectorx": connectorx_read,
    "fastexcel": fastexcel_read,
    "dlt": dlt_pipeline_run,
    "ours": ours_extract_load,
}


def count_parquet_rows(folder: Path) -> int:
    """Rows in every Parquet file under `folder`, quarantine files left out."""
    import pyarrow.parquet as pq

    return sum(
        pq.ParquetFile(path).metadata.num_rows
        for path in folder.rglob("*.parquet")
        if "quarantine" not in path.name
    )


def measure(spec: dict) -> dict:
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    modules = _MODULES[spec["tool"]] + (_DLT_CASE_MODULES.get(spec["case"], []) if spec["tool"] == "dlt" else [])
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            if module.startswith("ingestion"):
                return {"unavailable": f"our connector does not import yet: {module}: {exc}"}
            return {"unavailable": f"cannot import {module} ({exc}); install the bench group: uv sync --group bench"}
    if spec["tool"] == "ours":  # a kind still missing is reported by ours_extract_load
        try:
            importlib.import_module(_KIND_MODULE[_OURS_KIND[spec["case"]]])
        except ImportError:
            pass
    import_seconds = time.perf_counter() - started
    try:
        load = TOOLS[spec["tool"]](spec, out)
        started = time.perf_counter()
        load()
        seconds = time.perf_counter() - started
    except Unavailable as exc:
        return {"unavailable": str(exc)}
    except Exception as exc:  # reported, never hidden: the row says FAILED with the error
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return {"failed": f"{type(exc).__name__}: {first_line[:300]}"}
    return {
        "seconds": seconds,
        "import_seconds": import_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rows_out": count_parquet_rows(out / _RESULT_DIR.get(spec["tool"], "")),
        "note": spec.get("note", ""),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set size since exec (VmHWM), in MB.

    Not `ru_maxrss`: on Linux it carries over the parent's high-water mark through fork and exec,
    so a child would report at least its parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    result = measure(json.loads(sys.argv[1]))
    sys.stdout.write(json.dumps(result) + "\n")
