"""Connector kinds: one small module per `source.kind` in the catalog, and the types they share with the core.

A kind module exposes `pending_sources(entry, zones, ledger: LedgerView) -> Iterator[Pending]`: the
new deliveries it finds, oldest first. A kind only *reads*; `ingestion.extract.extract_load` checks
each delivery against the contract and lands it (`ingestion.contract`, `ingestion.landing`). See
docs/architecture.md, "Connector kinds and the ingestion core".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

from ingestion.errors import IngestionError

if TYPE_CHECKING:
    import duckdb

KINDS: dict[str, str] = {
    "file": "ingestion.kinds.file",
    "postgres": "ingestion.kinds.postgres",
    "mysql": "ingestion.kinds.mysql",
    "sqlite": "ingestion.kinds.sqlite",
    "http_json": "ingestion.kinds.http_json",
    "ckan": "ingestion.kinds.ckan",
}


def _nothing() -> None:
    return None


def _no_rewind(con: duckdb.DuckDBPyConnection) -> None:
    return None


@dataclass(frozen=True)
class LedgerView:
    """What a kind may know of the ledger: committed or refused content, and the saved cursor."""

    is_known: Callable[[str], bool]  # sha256 -> already committed or rejected
    cursor_before: object | None = None  # `cursor_after` of the latest committed batch (None: first run)
    latest: dict | None = None  # the latest committed batch's manifest
    # sha256 -> rejected, or the whole of the latest complete run (a snapshot that has not changed since)
    is_current_snapshot: Callable[[str], bool] = lambda sha256: False  # noqa: ARG005 (the interface)
    # The latest batch's run has ended (it said so, or the kind finished after it): its resume point, if
    # any, is past the end of that run, not a place to go on from.
    run_ended: bool = True


@dataclass(frozen=True)
class Delivery:
    """One delivery as a kind read it, ready for the core to register on its DuckDB connection.

    `relation(con)` registers the delivery and returns a SQL FROM-expression with the delivered
    columns (named as in `columns`), `_source_row` BIGINT (NULL when the source has no row number:
    messages then name the primary key) and, when `flagged`, `_flag` VARCHAR: problems the reader
    found in that row, one per line, each `<delivered column>: <problem>` (a line naming no column
    is reported for the whole row); a flagged row is quarantined. A column with neither header nor
    values is the kind's to drop.

    The core may read the relation more than once (a second pass when rows must be quarantined):
    it calls `rewind(con)` before every pass after the first. A relation that can be scanned again
    as it is (a file, a scanner SELECT) keeps the default, which does nothing; a streamed one
    registers a fresh stream of the same rows under the same name.
    """

    label: str  # names the delivery in every message: "drop/disdik/x.xlsx", "postgres siak: public.penduduk"
    sheet: str | None  # the sheet read (xlsx/xls), else None
    position: str  # the word for what `_source_row` counts in messages: "row", "line", "record"
    header_row: int | None  # 1-based, files only
    columns: dict[str, str]  # delivered column name (as the source spells it) -> DuckDB type
    relation: Callable[[duckdb.DuckDBPyConnection], str]
    decimal_comma: bool = False  # text numbers are written "1.234,56"
    typed: bool = False  # True: `columns` are the source's own types (databases); VARCHAR then feeds only text
    flagged: bool = False  # the relation has a `_flag` column
    # Delivered as VARCHAR, numbers at the source: their exact text (a PostgreSQL `numeric` without precision,
    # which a double would round). Typed like a DECIMAL for the contract check, parsed as text.
    text_numbers: frozenset[str] = frozenset()
    places: dict[str, str] = field(default_factory=dict)  # delivered column -> where it sits ("column K"), for messages
    close: Callable[[], None] = _nothing  # releases temp files / connections after landing
    rewind: Callable[[duckdb.DuckDBPyConnection], None] = _no_rewind  # makes `relation` readable again (see above)


@dataclass(frozen=True)
class Pending:
    """A delivery not yet in the ledger: the manifest's `source` block, and how to read it."""

    source: dict  # kind, identity, sha256 where it has one
    read: Callable[[], Delivery]  # raises RejectedFile when the delivery is refused as a whole
    cursor_after: object | None = None  # resume point the kind knows; else max(<cursor column>) of the loaded rows
    # A run of the source may take several batches (pages of an API, 100,000-row slices of a CKAN resource):
    # this batch is part `run_part` (1-based) of its run, and `run_last` says it completes the run. A snapshot
    # is the batches of one complete run read together (`ingestion.ledger`, "Runs").
    run_part: int = 1
    run_last: bool = True

    @property
    def sha256(self) -> str | None:
        return self.source.get("sha256")


# A server database may be stood in for by an SQLite file with the same tables (the embedded demo,
# `make run`): the connection, not the catalog, says which one is there today.
STAND_IN_KINDS = {"postgres": ("sqlite",), "mysql": ("sqlite",)}


def served_kind(kind: str, connection: str | None) -> str:
    """The kind that reads a dataset: the catalog's, or 'sqlite' when its connection points at an SQLite stand-in."""
    if connection is None or kind not in STAND_IN_KINDS:
        return kind
    from ingestion.connections import get_connection

    conn_type = get_connection(connection).conn_type
    return conn_type if conn_type in STAND_IN_KINDS[kind] else kind


def kind_module(kind: str) -> ModuleType:
    """The module implementing a connector kind."""
    if kind not in KINDS:
        raise IngestionError(f"no connector for source kind '{kind}' (known: {', '.join(sorted(KINDS))})")
    return importlib.import_module(KINDS[kind])
