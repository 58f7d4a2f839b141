"""Make Great Expectations 1.24 run expectations as SQL on DuckDB (through duckdb-engine).

GX's SqlAlchemyExecutionEngine does not know DuckDB. Two things go wrong out of the box:

1. Every metric fails ("list index out of range"): GX returns a query's cursor after closing its
   connection, and duckdb-engine drops unfetched results on close. GX already keeps one persisted
   connection for SQLite, SQL Server, BigQuery and Databricks (`_PERSISTED_CONNECTION_DIALECTS`);
   DuckDB is added to that tuple.
2. Regex expectations raise "Regex is not supported for dialect duckdb": GX builds the regex clause
   in `expectations.metrics.util.get_dialect_regex_expression`, a chain of per-dialect branches
   that returns None for dialects it does not know, and six metric modules import that function by
   name. It is wrapped, in `util` and in each of those modules, so DuckDB gets `regexp_matches`.
   `regexp_matches` is a search (like pandas' `str.contains` and PostgreSQL's `~`, which GX uses on
   those engines), not a full match: DuckDB's `~` operator is a full match and would differ.
   DuckDB uses RE2 syntax; suites keep to the common subset (anchors, classes, counts).

`enable()` applies both, once per process, and checks that the GX internals it relies on are still
there, so an upgrade that moves them fails loudly instead of validating wrongly.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

DIALECT = "duckdb"

# The metric modules that do `from ...metrics.util import get_dialect_regex_expression`.
_REGEX_MODULES = (
    "great_expectations.expectations.metrics.util",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_not_match_regex",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex_list",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_not_match_regex_list",
    "great_expectations.expectations.metrics.column_aggregate_metrics.column_values_match_regex_values",
    "great_expectations.expectations.metrics.column_aggregate_metrics.column_values_not_match_regex_values",
)

_lock = threading.Lock()
_enabled = False


class _DuckDBDialectName(str):
    """GX compares dialect names with `==` and reads `.value` (its dialect names are a str Enum)."""

    value = DIALECT


def _is_duckdb(dialect: Any) -> bool:
    # GX passes the dialect module, class or instance; each has (or wraps one with) a `name`.
    return getattr(getattr(dialect, "dialect", dialect), "name", None) == DIALECT


def _with_duckdb_regex(original: Any) -> Any:
    import sqlalchemy as sa

    def get_dialect_regex_expression(column: Any, regex: str, dialect: Any, positive: bool = True) -> Any:
        if _is_duckdb(dialect):
            matches = sa.func.regexp_matches(column, sa.literal(regex))
            return matches if positive else sa.not_(matches)
        return original(column, regex, dialect, positive)

    get_dialect_regex_expression.satudata_duckdb = True  # type: ignore[attr-defined]  # marks the wrapper
    get_dialect_regex_expression.__wrapped__ = original  # type: ignore[attr-defined]
    return get_dialect_regex_expression


def enable() -> None:
    """Teach the imported GX to validate on DuckDB (idempotent, thread-safe)."""
    global _enabled
    with _lock:
        if _enabled:
            return
        import great_expectations.execution_engine.sqlalchemy_execution_engine as engine_module

        persisted = getattr(engine_module, "_PERSISTED_CONNECTION_DIALECTS", None)
        if not isinstance(persisted, tuple):
            raise RuntimeError("great_expectations changed: no _PERSISTED_CONNECTION_DIALECTS tuple to add DuckDB to")
        if DIALECT not in persisted:
            engine_module._PERSISTED_CONNECTION_DIALECTS = (*persisted, _DuckDBDialectName(DIALECT))

        for name in _REGEX_MODULES:
            module = importlib.import_module(name)
            original = getattr(module, "get_dialect_regex_expression", None)
            if original is None:
                raise RuntimeError(f"great_expectations changed: {name} has no get_dialect_regex_expression")
            if not getattr(original, "satudata_duckdb", False):
                module.get_dialect_regex_expression = _with_duckdb_regex(original)  # type: ignore[attr-defined]
        _enabled = True
