"""Read a relational kind's delivery the way the core does: one DuckDB query over `relation(con)`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from ingestion.catalog import DatasetEntry
from ingestion.kinds import LedgerView, kind_module


@dataclass
class Read:
    source: dict
    columns: dict[str, str]
    rows: list[dict]


def read_once(entry: DatasetEntry, cursor_before: object | None = None, parquet: Path | None = None) -> Read:
    """pending_sources -> read() -> relation(con) -> rows (and a Parquet file when asked)."""
    ledger = LedgerView(lambda sha256: False, cursor_before)
    pendings = list(kind_module(entry.spec.source.kind).pending_sources(entry, None, ledger))
    assert len(pendings) == 1, "a relational dataset yields exactly one pending delivery per run"
    delivery = pendings[0].read()
    con = duckdb.connect()
    try:
        relation = delivery.relation(con)
        cursor = con.execute(f"SELECT * FROM {relation}")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if parquet is not None:
            delivery.rewind(con)  # a second pass, as the core does before one
            con.execute(f"COPY (SELECT * FROM {relation}) TO '{parquet}' (FORMAT parquet)")
    finally:
        delivery.close()
        con.close()
    return Read(pendings[0].source, delivery.columns, rows)


def parquet_types(path: Path) -> dict[str, str]:
    return {field.name: str(field.type) for field in pq.read_schema(path)}
