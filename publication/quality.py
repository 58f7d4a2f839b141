"""The quality gate: hand-written YAML suites under `expectations/`, run by Great Expectations.

A suite file is named for the publication it guards (`expectations/<publication_id>.yml`):

    suite: disdik__jumlah_sekolah_per_kecamatan
    expectations:                      # each entry: one GX expectation, snake_case name -> kwargs
      - expect_column_values_to_not_be_null: {column: kode_kecamatan}
      - expect_column_values_to_be_in_set: {column: kode_kecamatan, value_set_from: reference:kecamatan_kemendagri}
    release_checks:                    # our own checks, evaluated here: GX cannot see the previous release
      - row_count_vs_previous: {min_ratio: 0.5, max_ratio: 2.0}

`value_set_from: reference:<list>[.<column>]` fills `value_set` from a code list in `seeds/reference/`
(by default its code column), so region codes are checked against the same list `dim_wilayah` is
built from instead of a copy in the suite.

Raw suites for the agency boundary (`expectations/raw/<agency>__<dataset>.yml`) use the same format;
`publication.raw_quality` runs them on each landed batch.

Two ways to run a suite: `validate_table` (an in-memory table, GX's pandas engine: published marts of a
few thousand rows) and `validate_parquet` (a Parquet file; by default GX runs every expectation as SQL
on an in-memory DuckDB database reading the file, through `publication.gx_duckdb`, so a 10M-row raw
batch never becomes a pandas frame).

The GX context is EPHEMERAL and built at run time: nothing GX generates (JSON with random ids) is
written to the repository. `great_expectations` is imported only inside functions (it takes ~5 s);
`import_gx_in_background` starts that import on a thread, so a caller can overlap it with other work,
and two modules GX imports but our suites never use (DEFERRED_GX_DEPENDENCIES) load only if touched.
"""

from __future__ import annotations

import csv
import html
import importlib
import importlib.util
import json
import logging
import math
import os
import sys
import threading
import types
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import yaml

from ingestion.catalog import REPO_ROOT
from publication.errors import SuiteError

if TYPE_CHECKING:
    import pandas

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
REFERENCE_DIR = REPO_ROOT / "seeds" / "reference"

# Code lists a suite may take a value set from: name -> (file in seeds/reference/, code column).
REFERENCE_LISTS: dict[str, tuple[str, str]] = {
    "kecamatan_kemendagri": ("paser_kecamatan_kemendagri.csv", "kode_kemendagri"),
    "desa_kemendagri": ("paser_desa_kelurahan_kemendagri.csv", "kode_kemendagri"),
}

# Our own checks (not GX) and the keyword arguments each accepts.
RELEASE_CHECKS: dict[str, set[str]] = {"row_count_vs_previous": {"min_ratio", "max_ratio"}}

SUITE_KEYS = {"suite", "expectations", "release_checks"}
MAX_EXAMPLES = 10
ENGINES = ("duckdb", "pandas")  # how validate_parquet runs GX: SQL on DuckDB, or a pandas frame


def suite_path_for(publication_id: str, expectations_dir: Path | None = None) -> Path:
    """Where the suite of a publication lives."""
    return (expectations_dir or EXPECTATIONS_DIR) / f"{publication_id}.yml"


# --- Suite files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectationSpec:
    """One entry of a suite file: the name and kwargs as written, and the kwargs GX receives."""

    position: int  # 1-based position in the file's `expectations:` list
    name: str
    written: dict[str, Any]
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class ReleaseCheckSpec:
    position: int
    name: str
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    expectations: tuple[ExpectationSpec, ...]
    release_checks: tuple[ReleaseCheckSpec, ...] = ()


def gx_class_name(expectation: str) -> str:
    """`expect_column_values_to_not_be_null` -> `ExpectColumnValuesToNotBeNull`."""
    return "".join(part.capitalize() for part in expectation.split("_"))


@cache
def reference_values(spec: str) -> tuple[str, ...]:
    """The values of a reference code list: `kecamatan_kemendagri` or `kecamatan_kemendagri.nama_kecamatan`."""
    name, _, column = spec.partition(".")
    if name not in REFERENCE_LISTS:
        raise KeyError(f"unknown reference list '{name}' (known: {', '.join(sorted(REFERENCE_LISTS))})")
    file_name, code_column = REFERENCE_LISTS[name]
    column = column or code_column
    path = REFERENCE_DIR / file_name
    # csv, not pandas: codes such as '64.01.01' must stay text.
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if column not in (reader.fieldnames or []):
            raise KeyError(f"{path.name} has no column '{column}' (columns: {', '.join(reader.fieldnames or [])})")
        values = [row[column].strip() for row in reader if row[column] and row[column].strip()]
    if not values:
        raise KeyError(f"{path.name}: column '{column}' is empty")
    return tuple(values)


def _resolve_value_set(written: dict[str, Any], where: str) -> dict[str, Any]:
    kwargs = dict(written)
    source = kwargs.pop("value_set_from", None)
    if source is None:
        return kwargs
    if "value_set" in kwargs:
        raise SuiteError(f"{where}: give either 'value_set' or 'value_set_from', not both")
    if not isinstance(source, str) or not source.startswith("reference:"):
        raise SuiteError(f"{where}: 'value_set_from' must look like 'reference:<list>[.<column>]', got {source!r}")
    try:
        kwargs["value_set"] = list(reference_values(source.removeprefix("reference:")))
    except (KeyError, OSError) as exc:
        raise SuiteError(f"{where}: value_set_from {source!r}: {exc}") from None
    return kwargs


def _single_entry(item: Any, where: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(item, dict) or len(item) != 1:
        raise SuiteError(f"{where}: each entry must be a mapping with one key (the check name) -> its arguments")
    name, kwargs = next(iter(item.items()))
    kwargs = {} if kwargs is None else kwargs
    if not isinstance(name, str) or not isinstance(kwargs, dict):
        raise SuiteError(f"{where}: '{name}' must map to a mapping of arguments")
    return name, kwargs


def load_suite(path: Path) -> Suite:
    """Read and validate a suite file: unknown expectations or arguments are errors naming file and entry.

    Validation builds each GX expectation once, so this imports great_expectations.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(
            f"{path}: no expectation suite (every publication needs expectations/<publication_id>.yml)"
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise SuiteError(f"{path}: cannot read suite: {exc}") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{path.name}: a suite must be a mapping with 'suite' and 'expectations'")
    unknown = set(raw) - SUITE_KEYS
    if unknown:
        raise SuiteError(f"{path.name}: unknown key(s) {sorted(unknown)} (allowed: {sorted(SUITE_KEYS)})")
    if raw.get("suite") != path.stem:
        raise SuiteError(f"{path.name}: key 'suite' is {raw.get('suite')!r} but the file is named for '{path.stem}'")
    entries = raw.get("expectations")
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{path.name}: 'expectations' must be a non-empty list")

    gxe = _import_gx_expectations()
    expectations = []
    for position, item in enumerate(entries, start=1):
        where = f"{path.name}: expectations[{position}]"
        name, written = _single_entry(item, where)
        where = f"{where} '{name}'"
        cls = getattr(gxe, gx_class_name(name), None)
        if not name.startswith("expect_") or cls is None:
            raise SuiteError(f"{where}: unknown expectation (no great_expectations.expectations.{gx_class_name(name)})")
        kwargs = _resolve_value_set(written, where)
        try:
            cls(**kwargs)
        except Exception as exc:  # GX raises pydantic v1 errors; say which entry they belong to
            raise SuiteError(f"{where}: invalid arguments: {exc}".replace("\n", " ")) from None
        expectations.append(ExpectationSpec(position, name, dict(written), kwargs))

    checks = []
    for position, item in enumerate(raw.get("release_checks") or [], start=1):
        where = f"{path.name}: release_checks[{position}]"
        name, kwargs = _single_entry(item, where)
        if name not in RELEASE_CHECKS:
            raise SuiteError(f"{where}: unknown release check '{name}' (known: {', '.join(sorted(RELEASE_CHECKS))})")
        extra = set(kwargs) - RELEASE_CHECKS[name]
        if extra:
            raise SuiteError(f"{where} '{name}': unknown argument(s) {sorted(extra)}")
        checks.append(ReleaseCheckSpec(position, name, dict(kwargs)))
    _check_ratio_bounds(checks, path)
    return Suite(path.stem, path, tuple(expectations), tuple(checks))


def _check_ratio_bounds(checks: list[ReleaseCheckSpec], path: Path) -> None:
    for check in checks:
        low, high = check.kwargs.get("min_ratio"), check.kwargs.get("max_ratio")
        for key, value in (("min_ratio", low), ("max_ratio", high)):
            if value is not None and (not isinstance(value, int | float) or value <= 0):
                raise SuiteError(
                    f"{path.name}: release_checks[{check.position}] '{check.name}': {key} must be a positive number"
                )
        if low is not None and high is not None and low > high:
            raise SuiteError(f"{path.name}: release_checks[{check.position}] '{check.name}': min_ratio > max_ratio")


# --- Validation -----------------------------------------------------------------------------------


@dataclass
class ExpectationOutcome:
    """The result of one check, from GX (`checked_by` 'great_expectations') or our own code ('satudata')."""

    expectation_type: str
    kwargs: dict[str, Any]
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    element_count: int | None = None
    unexpected_examples: list[Any] = field(default_factory=list)
    exception: str | None = None
    checked_by: str = "great_expectations"

    def describe(self) -> str:
        """One line for error messages: the check, its column(s) and what was observed."""
        target = self.kwargs.get("column") or self.kwargs.get("column_list") or self.kwargs.get("column_set")
        head = self.expectation_type + (f"({target})" if target else "")
        if self.exception:
            return f"{head}: raised {self.exception}"
        if self.unexpected_count is not None:
            of = f" of {self.element_count}" if self.element_count is not None else ""
            return f"{head}: {self.unexpected_count}{of} row(s) unexpected, e.g. {self.unexpected_examples}"
        return f"{head}: observed {self.observed!r}"


@dataclass
class ValidationReport:
    suite: str
    success: bool
    statistics: dict[str, Any]
    results: list[ExpectationOutcome]
    rows: int
    validated_at: str
    seconds: float
    engine: str = "pandas"  # GX's execution engine: pandas (in-memory tables) or duckdb (SQL on Parquet)

    def failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)


# --- Importing GX ----------------------------------------------------------------------------------

# Imported by GX at top level (the KL-divergence expectation) but used only inside its functions:
# charts and scipy's statistics, together about a third of GX's import. None of our suites uses them.
DEFERRED_GX_DEPENDENCIES = ("scipy.stats", "altair")

_gx_import_lock = threading.Lock()
_gx_import: Future[Any] | None = None


class _DeferredModule(types.ModuleType):
    """Stands in for a module until an attribute is read; then imports the real one and forwards to it.

    `from scipy import stats` binds this object; `stats.entropy` imports scipy.stats at that moment.
    """

    def __getattr__(self, attribute: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            sys.modules.pop(name, None)
        real = importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        if parent and getattr(sys.modules.get(parent), child, None) is self:
            setattr(sys.modules[parent], child, real)
        return getattr(real, attribute)


def _defer_unused_gx_dependencies() -> None:
    """Stand-ins for DEFERRED_GX_DEPENDENCIES, before GX is imported (after, they are loaded already)."""
    if "great_expectations" not in sys.modules:
        defer_modules(DEFERRED_GX_DEPENDENCIES)


def defer_modules(names: tuple[str, ...]) -> None:
    """Put a `_DeferredModule` in sys.modules for each module not imported yet (and installed)."""
    for name in names:
        if name in sys.modules or importlib.util.find_spec(name.partition(".")[0]) is None:
            continue
        parent, _, child = name.rpartition(".")
        stand_in = _DeferredModule(name)
        if parent:
            # `from scipy import stats` looks up the attribute on the (real, cheap) parent package first
            setattr(importlib.import_module(parent), child, stand_in)
        # inspect.getmodule() (dbt calls it through inspect.stack() when it makes an adapter) asks every
        # module in sys.modules for __file__: answered here, that no longer imports the real module (~1 s).
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            stand_in.__file__ = spec.origin
        sys.modules[name] = stand_in


def _quiet_gx_logging() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # GX logs hundreds of INFO lines on import; quiet it first.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def import_gx_now() -> Any:
    """Import great_expectations.expectations here and now, quieted and without its unused dependencies."""
    _quiet_gx_logging()
    _defer_unused_gx_dependencies()
    import great_expectations.expectations as gxe

    # base.py pins its own logger to INFO and logs a line per ephemeral context
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    return gxe


def import_gx_in_background() -> None:
    """Start importing great_expectations on a thread, so the import overlaps the caller's other work.

    The import is seconds of Python; the release's file writing and privacy scan meanwhile run mostly
    in pyarrow, which releases the GIL. The first validation waits for it (`_import_gx_expectations`).
    Logging is quieted here, before the thread starts. Does nothing when GX is imported or importing.
    """
    global _gx_import
    with _gx_import_lock:
        if _gx_import is not None or "great_expectations.expectations" in sys.modules:
            return
        _quiet_gx_logging()
        _defer_unused_gx_dependencies()
        future: Future[Any] = Future()

        def run() -> None:
            try:
                future.set_result(import_gx_now())
            except BaseException as exc:  # handed to the thread that validates, which raises it
                future.set_exception(exc)

        # not a daemon: an interpreter that exits mid-import waits for it rather than killing it
        threading.Thread(target=run, name="import-great-expectations").start()
        _gx_import = future


def _import_gx_expectations() -> Any:
    """great_expectations.expectations, waiting for a background import if one was started."""
    global _gx_import
    with _gx_import_lock:
        future = _gx_import
    if future is None:
        return import_gx_now()
    try:
        return future.result()
    except Exception as exc:
        with _gx_import_lock:
            if _gx_import is future:
                _gx_import = None  # the next call imports in the foreground and raises the error itself
        raise ImportError(f"importing great_expectations (started in the background) failed: {exc}") from exc


def _json_safe(value: Any) -> Any:
    """GX results hold numpy scalars and NaN for nulls; make them plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _exception_message(info: Any) -> str | None:
    # exception_info is one dict, or a dict of dicts keyed by metric for multi-metric failures.
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    messages = [m for m in (_exception_message(v) for v in info.values()) if m]
    return "; ".join(messages) or None


def _row_count_vs_previous(check: ReleaseCheckSpec, rows: int, previous_rows: int | None) -> ExpectationOutcome:
    kwargs = dict(check.kwargs)
    if not previous_rows:
        return ExpectationOutcome(
            check.name, kwargs, True, observed={"rows": rows, "previous_rows": None}, checked_by="satudata"
        )
    ratio = rows / previous_rows
    low, high = kwargs.get("min_ratio"), kwargs.get("max_ratio")
    ok = (low is None or ratio >= low) and (high is None or ratio <= high)
    return ExpectationOutcome(
        check.name,
        kwargs,
        ok,
        observed={"rows": rows, "previous_rows": previous_rows, "ratio": round(ratio, 4)},
        checked_by="satudata",
    )


def _outcome(spec: ExpectationSpec, item: Any) -> ExpectationOutcome:
    details = item.result or {}
    return ExpectationOutcome(
        expectation_type=spec.name,
        # the kwargs as written (value_set_from, not the expanded codes), for people reading the report
        kwargs=_json_safe(spec.written),
        success=bool(item.success),
        observed=_json_safe(details.get("observed_value")),
        unexpected_count=details.get("unexpected_count"),
        element_count=details.get("element_count"),
        unexpected_examples=_json_safe(details.get("partial_unexpected_list") or [])[:MAX_EXAMPLES],
        exception=_exception_message(item.exception_info),
    )


def _gx_context() -> tuple[Any, Any, Any]:
    """(great_expectations, its expectations module, an ephemeral context without progress bars)."""
    gxe = _import_gx_expectations()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, gxe, context


def _run_suite(
    suite: Suite, context: Any, gx: Any, gxe: Any, batch: Any, *, rows: int, previous_rows: int | None
) -> list[ExpectationOutcome]:
    """Validate a GX batch against the suite; outcomes in the order of the suite file, then our own checks."""
    built = [getattr(gxe, gx_class_name(spec.name))(**spec.kwargs) for spec in suite.expectations]
    # One add with every expectation: the store gives each its id. (suite.add_expectation one by one
    # re-reads and re-writes the whole stored suite per expectation, value sets and all: quadratic.)
    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name, expectations=built))
    by_id = {str(expectation.id): spec for expectation, spec in zip(built, suite.expectations, strict=True)}
    if len(by_id) != len(built) or "None" in by_id:
        raise RuntimeError(f"great_expectations did not give every expectation of {suite.name} its own id")

    result = batch.validate(
        gx_suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}
    )
    positioned: list[tuple[int, ExpectationOutcome]] = []
    for item in result.results:
        config = item.expectation_config
        assert config is not None  # GX fills it for every expectation of a validated suite
        spec = by_id[str(config.id)]
        positioned.append((spec.position, _outcome(spec, item)))
    # keep the order of the suite file, whatever order GX returns
    outcomes = [outcome for _, outcome in sorted(positioned, key=lambda pair: pair[0])]
    for check in suite.release_checks:
        outcomes.append(_row_count_vs_previous(check, rows, previous_rows))
    return outcomes


def _report(suite: Suite, outcomes: list[ExpectationOutcome], rows: int, started: datetime, engine: str) -> ValidationReport:
    passed = sum(o.success for o in outcomes)
    statistics = {
        "evaluated_expectations": len(outcomes),
        "successful_expectations": passed,
        "unsuccessful_expectations": len(outcomes) - passed,
        "success_percent": round(100.0 * passed / len(outcomes), 2) if outcomes else 100.0,
    }
    seconds = (datetime.now(UTC) - started).total_seconds()
    report = ValidationReport(
        suite.name,
        passed == len(outcomes),
        statistics,
        outcomes,
        rows,
        started.isoformat(timespec="seconds"),
        round(seconds, 3),
        engine,
    )
    log.info(
        "suite %s (%s): %s (%d/%d checks passed, %d rows, %.2f s)",
        suite.name,
        engine,
        "passed" if report.success else "FAILED",
        passed,
        len(outcomes),
        rows,
        seconds,
    )
    return report


def validate_table(
    table: pa.Table | pandas.DataFrame, suite_path: Path, *, previous_rows: int | None = None
) -> ValidationReport:
    """Validate an in-memory table against a suite file in an ephemeral GX context (GX's pandas engine).

    `previous_rows`: the row count of this publication in the current release, for `row_count_vs_previous`.
    Meant for small tables (published marts); a Parquet file of any size goes to `validate_parquet`.
    """
    started = datetime.now(UTC)
    suite = load_suite(suite_path)
    gx, gxe, context = _gx_context()
    frame = table.to_pandas() if isinstance(table, pa.Table) else table
    batch = (
        context.data_sources.add_pandas("publication")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    outcomes = _run_suite(suite, context, gx, gxe, batch, rows=len(frame), previous_rows=previous_rows)
    return _report(suite, outcomes, len(frame), started, "pandas")


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def validate_parquet(
    path: Path | list[Path], suite_path: Path, *, engine: str = "duckdb", previous_rows: int | None = None
) -> ValidationReport:
    """Validate a Parquet file (or several read as one table: the batches of one run) against a suite file.

    `engine="duckdb"` (the default): GX runs every expectation as SQL through its SQLAlchemy engine on an
    in-memory DuckDB database reading the file (duckdb-engine, made to work by `publication.gx_duckdb`),
    so the data never becomes a pandas frame: memory stays flat and 10M rows take seconds.
    `engine="pandas"`: the file is read into pandas first (GX's pandas engine), for comparison.
    """
    import pyarrow.parquet as pq

    paths = [Path(one) for one in path] if isinstance(path, list) else [Path(path)]
    if engine not in ENGINES:
        raise ValueError(f"unknown validation engine {engine!r} (known: {', '.join(ENGINES)})")
    if engine == "pandas":
        import pyarrow as pa

        table = pa.concat_tables([pq.read_table(one) for one in paths], promote_options="default")
        return validate_table(table, suite_path, previous_rows=previous_rows)

    started = datetime.now(UTC)
    suite = load_suite(suite_path)
    rows = sum(pq.read_metadata(one).num_rows for one in paths)
    gx, gxe, context = _gx_context()
    from publication import gx_duckdb

    gx_duckdb.enable()
    # One in-memory database per validation; a query asset (not a table asset) because GX would
    # reflect a table through SQLAlchemy's PostgreSQL inspector, which DuckDB does not fully serve.
    source = context.data_sources.add_sql(
        "parquet", connection_string="duckdb:///:memory:", create_temp_table=False
    )
    files = ", ".join(_sql_string(str(one.resolve())) for one in paths)
    query = f"select * from read_parquet([{files}], union_by_name = true)"
    batch = source.add_query_asset(suite.name, query=query).add_batch_definition_whole_table("whole").get_batch()
    try:
        outcomes = _run_suite(suite, context, gx, gxe, batch, rows=rows, previous_rows=previous_rows)
    finally:
        _close_sql_source(source)
    return _report(suite, outcomes, rows, started, "duckdb")


def _close_sql_source(source: Any) -> None:
    """Free the DuckDB database now rather than whenever the context is collected (long-lived workers)."""
    execution_engine = source.get_execution_engine()
    connection = getattr(execution_engine, "_connection", None)  # the persisted one (gx_duckdb)
    if connection is not None:
        connection.close()
    execution_engine.engine.dispose()


# --- Offline HTML report ----------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:80rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}.pass{color:#176b1f;font-weight:bold}.fail{color:#a61b1b;font-weight:bold}
code{font-size:.85rem;word-break:break-all}.muted{color:#666}
"""


def _cell(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return '<span class="muted">-</span>'
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return f"<code>{html.escape(text)}</code>"


def _status(success: bool) -> str:
    return '<span class="pass">LULUS</span>' if success else '<span class="fail">GAGAL</span>'


def render_quality_report(reports: list[ValidationReport], *, title: str = "Laporan kualitas data") -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external links) summarising the reports."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="id"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<table><tr><th>Suite</th><th>Status</th><th>Baris</th><th>Pemeriksaan lulus</th><th>Waktu</th></tr>",
    ]
    for report in reports:
        stats = report.statistics
        parts.append(
            f'<tr><td><a href="#{html.escape(report.suite)}">{html.escape(report.suite)}</a></td>'
            f"<td>{_status(report.success)}</td><td>{report.rows}</td>"
            f"<td>{stats['successful_expectations']} / {stats['evaluated_expectations']}</td>"
            f"<td>{html.escape(report.validated_at)}</td></tr>"
        )
    parts.append("</table>")
    for report in reports:
        parts.append(f'<h2 id="{html.escape(report.suite)}">{html.escape(report.suite)} {_status(report.success)}</h2>')
        parts.append(
            "<table><tr><th>Pemeriksaan</th><th>Argumen</th><th>Status</th><th>Teramati</th>"
            "<th>Baris tidak sesuai</th><th>Contoh</th><th>Diperiksa oleh</th></tr>"
        )
        for outcome in report.results:
            observed = outcome.exception or outcome.observed
            unexpected = (
                f"{outcome.unexpected_count} / {outcome.element_count}"
                if outcome.unexpected_count is not None
                else None
            )
            parts.append(
                f"<tr><td>{html.escape(outcome.expectation_type)}</td><td>{_cell(outcome.kwargs)}</td>"
                f"<td>{_status(outcome.success)}</td><td>{_cell(observed)}</td><td>{_cell(unexpected)}</td>"
                f"<td>{_cell(outcome.unexpected_examples)}</td><td>{html.escape(outcome.checked_by)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
