"""Checks one delivery against its contract and commits it as a batch (docs/architecture.md, "Batches").

    raw/<agency>/<dataset>/_tmp-<batch_id>/   data.parquet, quarantine.parquet, manifest.json (each fsynced)
      -> os.rename -> batch=<batch_id>/        then the parent folder is fsynced

The contract is one DuckDB query over the delivery (`ingestion.contract.compile_checks`). DuckDB's own
Parquet writer (parallel, source order kept) writes its good rows straight to `data.parquet` in one
pass; only when that pass meets a bad row does the query run again, into a temporary table from which
good rows go to `data.parquet` and the others to `quarantine.parquet` (see `_write_checked`). Nothing
holds a whole delivery in Python. DuckDB's memory is bounded (`MEMORY_LIMIT`) and it spills to
`_tmp-<batch_id>/_duckdb/`, removed before the commit.
Then, only when needed, `data.parquet` is rewritten once without duplicate keys and without rows
an incremental read fetched again (see `_drop_repeats`).

A batch exists under its final name only when everything in it is written, so the presence of
`batch=<id>/manifest.json` is the commit, and the cursor (kept in the manifest only) advances
with it. Leftover `_tmp-*` entries are from a crashed run and are removed by `clean_stale_tmp`
(called under the dataset lock, so never while another run writes).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.catalog import DatasetEntry
from ingestion.contract import (
    DECIMAL_PRECISION,
    DECIMAL_SCALE,
    LOCAL_TZ,
    SQL_TYPES,
    CheckQuery,
    compile_checks,
    ident,
    literal,
    locate,
    map_columns,
)
from ingestion.durable import TMP_PREFIX, fsync_dir, fsync_file, sha256_file
from ingestion.errors import RejectedFile
from ingestion.kinds import Delivery, LedgerView, Pending
from ingestion.ledger import MANIFEST, REJECTED_DIR, batch_dir, committed_batches, dataset_dir, run_of, source_sha256
from ingestion.zones import Zones

log = logging.getLogger(__name__)

DATA_FILE = "data.parquet"
QUARANTINE_FILE = "quarantine.parquet"
DUCKDB_TMP = "_duckdb"
MEMORY_LIMIT = "512MB"
THREADS = 2
BATCH_ROWS = 256 * 1024  # rows per Arrow batch when data.parquet is rewritten without repeats
# What DuckDB raises for a delivery it cannot read: bad CSV or UTF-8, a value its reader cannot convert,
# and a value of another type than its column declares (SQLite lets an app store 'dua belas' in an INTEGER
# column, and the sqlite scanner stops there, naming the column and the value).
UNREADABLE = (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.TypeMismatchException)

ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
}


def data_schema(column_types: dict[str, str]) -> pa.Schema:
    """data.parquet: contract columns with their declared types, then the lineage columns."""
    return pa.schema(
        [pa.field(name, ARROW_TYPES[kind]) for name, kind in column_types.items()]
        + [
            pa.field("_batch_id", pa.string(), nullable=False),
            pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("_source_file", pa.string(), nullable=False),
            pa.field("_source_row", pa.int64()),  # NULL for database rows (no row number)
        ]
    )


def quarantine_schema(columns: list[str]) -> pa.Schema:
    """quarantine.parquet: every column as delivered (text), where it came from, and why."""
    return pa.schema(
        [pa.field(name, pa.string()) for name in columns]
        + [
            pa.field("_batch_id", pa.string(), nullable=False),
            pa.field("_source_file", pa.string(), nullable=False),
            pa.field("_source_sheet", pa.string()),
            pa.field("_source_row", pa.int64()),
            pa.field("_column", pa.string(), nullable=False),
            pa.field("_reason", pa.string(), nullable=False),
        ]
    )


def new_batch_id(sha256: str, now: dt.datetime) -> str:
    """`%Y%m%dT%H%M%S%fZ-<first 8 hex of the source sha256>`: sorts by time."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S%f}Z-{sha256[:8]}"


def _batch_of_run(entry: DatasetEntry, pending: Pending, ledger: LedgerView, fresh_id: str) -> tuple[str, dict]:
    """The batch id and the manifest's `run` (`ingestion.ledger`, "Runs"): part 1 is a batch like any other;
    part n continues the run of the latest batch when that is part n-1 and not the last."""
    if pending.run_part > 1:
        previous = run_of(ledger.latest) if ledger.latest is not None else None
        if previous is not None and previous["part"] == pending.run_part - 1 and not previous["last"]:
            run = {"id": previous["id"], "part": pending.run_part, "last": pending.run_last}
            return f"{previous['id']}.{pending.run_part:04d}", run
        # Part n-1 was refused (or brought nothing new): this run is never complete. Only a snapshot minds.
        if entry.spec.cursor is None:
            log.warning("%s: %s is part %d of a run whose part %d is not the latest batch; the run stays incomplete",
                        entry.id, pending.source.get("label", "the batch"), pending.run_part, pending.run_part - 1)
    return fresh_id, {"id": fresh_id, "part": pending.run_part, "last": pending.run_last}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@contextmanager
def duckdb_connection(spill_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with bounded memory, spilling to `spill_dir`, timestamps in UTC."""
    spill_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={
        "memory_limit": MEMORY_LIMIT,
        "threads": THREADS,
        "temp_directory": str(spill_dir),
        # Keeps source order for a delivery that fits one batch; a large streamed one may interleave
        # (rows keep `_source_row`). Measured at no cost for the streamed pass.
        "preserve_insertion_order": True,
    })
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


@dataclass
class Landed:
    """What the checked pass and the repeat removal wrote."""

    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_deduplicated: int = 0
    cursor_after: object | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def land_delivery(
    zones: Zones, entry: DatasetEntry, pending: Pending, delivery: Delivery, ledger: LedgerView,
    *, started_at: dt.datetime,
) -> dict | None:
    """Check and commit one delivery; returns its manifest, or None when an incremental read brought nothing new.

    Raises `RejectedFile` (nothing written) when the delivery is refused whole.
    """
    columns = map_columns(entry, delivery, ledger.latest)
    loaded_at = dt.datetime.now(dt.UTC)
    incremental = entry.spec.cursor is not None
    cursor_before = ledger.cursor_before if incremental or pending.cursor_after is not None else None
    batch_id, run = _batch_of_run(entry, pending, ledger, new_batch_id(source_sha256(pending.source, cursor_before), loaded_at))
    tmp = dataset_dir(zones, entry) / f"{TMP_PREFIX}{batch_id}"
    tmp.mkdir(parents=True)
    try:
        with duckdb_connection(tmp / DUCKDB_TMP) as con:
            clock = time.monotonic()
            try:
                relation = delivery.relation(con)
            except UNREADABLE as exc:
                raise RejectedFile(_unreadable(delivery, exc)) from None
            query = compile_checks(entry, delivery, columns, relation)
            read_seconds = time.monotonic() - clock
            landed = _write_checked(con, tmp, entry, delivery, query, batch_id, loaded_at)
            landed.seconds["read"] = round(read_seconds, 3)
            if landed.rows_in == 0 and not incremental:
                # A snapshot with no rows would empty the published list; an agency never means that.
                where = locate(delivery.label, delivery.sheet, delivery.header_row, delivery.position)
                raise RejectedFile(f"{where}: no data rows below the header" if delivery.header_row
                                   else f"{where}: no rows")
            clock = time.monotonic()
            _drop_repeats(con, tmp, entry, delivery, query, ledger, zones, landed)
            landed.cursor_after = (pending.cursor_after if pending.cursor_after is not None
                                   else _max_cursor(con, tmp, entry, cursor_before))
            landed.seconds["deduplicate"] = round(time.monotonic() - clock, 3)
    except RejectedFile:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp / DUCKDB_TMP, ignore_errors=True)
    if incremental and landed.rows_loaded + landed.rows_quarantined == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        log.info("%s: %s brought no new rows (%d read again); no batch", entry.id, delivery.label, landed.rows_in)
        return None
    if landed.rows_in != landed.rows_loaded + landed.rows_quarantined + landed.rows_deduplicated:
        raise RuntimeError(f"{delivery.label}: rows do not add up ({landed.rows_in} in, {landed.rows_loaded} loaded, "
                           f"{landed.rows_quarantined} quarantined, {landed.rows_deduplicated} deduplicated)")

    files = {}
    for name in (DATA_FILE, QUARANTINE_FILE):
        fsync_file(tmp / name)
        files[name] = {"sha256": sha256_file(tmp / name), "rows": pq.ParquetFile(tmp / name).metadata.num_rows}
    finished_at = dt.datetime.now(dt.UTC)
    manifest = {
        "batch_id": batch_id,
        "dataset": entry.id,
        "source": {**pending.source, "sheet": delivery.sheet},
        "run": run,
        "cursor_before": _json_value(cursor_before) if incremental or pending.cursor_after is not None else None,
        "cursor_after": _json_value(landed.cursor_after) if incremental or pending.cursor_after is not None else None,
        "rows_in": landed.rows_in,
        "rows_loaded": landed.rows_loaded,
        "rows_quarantined": landed.rows_quarantined,
        "rows_deduplicated": landed.rows_deduplicated,
        "header_row": delivery.header_row,
        "files": files,
        "columns": dict(query.column_types),
        "contract_columns": list(columns.contract),
        "source_columns": dict(delivery.columns),
        "started_at": _iso(started_at),
        "finished_at": _iso(finished_at),
        "seconds": round((finished_at - started_at).total_seconds(), 3),
        "timings": landed.seconds,
    }
    with (tmp / MANIFEST).open("w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(tmp)
    final = batch_dir(zones, entry, batch_id)
    os.rename(tmp, final)
    fsync_dir(final.parent)
    return manifest


def _constants(batch_id: str, loaded_at: dt.datetime, delivery: Delivery) -> dict[str, str]:
    """The lineage values every row of the batch shares: output column -> SQL."""
    return {
        "_batch_id": _shared_text(batch_id),
        "_loaded_at": f"TIMESTAMPTZ {literal(loaded_at.isoformat())}",
        "_source_file": _shared_text(delivery.label),
        "_source_sheet": literal(delivery.sheet) if delivery.sheet is not None else "NULL::VARCHAR",
    }


def _shared_text(value: str) -> str:
    """SQL for a text every row shares, as a one-value ENUM: the Parquet column is the same string column,
    and DuckDB's writer skips hashing every row's copy (~0.03 s of CPU per 1M rows and column)."""
    return f"CAST({literal(value)} AS ENUM({literal(value)}))"


QUARANTINE_NEEDED = "satudata: the delivery has rows to quarantine"


def _write_checked(
    con: duckdb.DuckDBPyConnection, tmp: Path, entry: DatasetEntry, delivery: Delivery, query: CheckQuery,
    batch_id: str, loaded_at: dt.datetime,
) -> Landed:
    """Run the compiled contract and let DuckDB write good rows to data.parquet, the others to quarantine.parquet.

    Most deliveries have no bad row, so the first try is one pass: the checks without messages
    (`first_pass_sql`) stream straight into data.parquet and stop at the first bad row (an `error()`
    with `QUARANTINE_NEEDED`). Only then the checked query runs again into a temporary table that both
    files are copied from (after `delivery.rewind`, for a relation that streams).
    """
    landed = Landed()
    clock = time.monotonic()
    constants = _constants(batch_id, loaded_at, delivery)
    good = [f"CAST({ident(n)} AS {SQL_TYPES[kind]}) AS {ident(n)}" for n, kind in query.column_types.items()]
    good += [f"{constants['_batch_id']} AS _batch_id", f"{constants['_loaded_at']} AS _loaded_at",
             f"{constants['_source_file']} AS _source_file", "_source_row"]
    bad = [f"{ident(query.text_of.get(n, n))} AS {ident(n)}" for n in query.column_types]
    bad += [f"{constants[name]} AS {name}" for name in ("_batch_id", "_source_file", "_source_sheet")]
    bad += ["_source_row", "_columns AS _column", "_reasons AS _reason"]
    try:
        try:
            stop_if_bad = f"NOT _bad OR error({literal(QUARANTINE_NEEDED)})"
            first_pass = f"SELECT {', '.join(good)} FROM ({query.first_pass_sql}) WHERE {stop_if_bad}"
            landed.rows_in = _copy(con, first_pass, tmp / DATA_FILE)
            delivery.rewind(con)
            _copy(con, f"SELECT {', '.join(bad)} FROM ({query.sql}) LIMIT 0", tmp / QUARANTINE_FILE)
        except duckdb.InvalidInputException as exc:
            if QUARANTINE_NEEDED not in str(exc):
                raise
            delivery.rewind(con)
            landed.rows_in, landed.rows_quarantined = _write_with_quarantine(con, tmp, query, good, bad)
    except UNREADABLE as exc:
        raise RejectedFile(_unreadable(delivery, exc)) from None
    landed.rows_loaded = landed.rows_in - landed.rows_quarantined
    landed.seconds["check_write"] = round(time.monotonic() - clock, 3)
    return landed


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The one row of an aggregate (or COPY) query; DuckDB types fetchone() as possibly None."""
    row = con.execute(sql).fetchone()
    assert row is not None, sql
    return row


def _write_with_quarantine(
    con: duckdb.DuckDBPyConnection, tmp: Path, query: CheckQuery, good: list[str], bad: list[str],
) -> tuple[int, int]:
    """The checked query into a temporary table, then good and bad rows from it; (rows in, rows quarantined)."""
    checked = f"checked_{uuid.uuid4().hex[:12]}"
    con.execute(f"CREATE TEMP TABLE {checked} AS {query.sql}")
    try:
        rows_in, quarantined = _one(con, f"SELECT count(*), count(_reasons) FROM {checked}")
        _copy(con, f"SELECT {', '.join(good)} FROM {checked} WHERE _reasons IS NULL", tmp / DATA_FILE)
        _copy(con, f"SELECT {', '.join(bad)} FROM {checked} WHERE _reasons IS NOT NULL", tmp / QUARANTINE_FILE)
    finally:
        con.execute(f"DROP TABLE {checked}")
    return rows_in, quarantined


def _copy(con: duckdb.DuckDBPyConnection, select: str, path: Path) -> int:
    """Write a query's rows to a Parquet file (DuckDB's own writer: parallel, order kept); returns how many."""
    return _one(con, f"COPY ({select}) TO {literal(str(path))} (FORMAT parquet, COMPRESSION snappy)")[0]


def _unreadable(delivery: Delivery, exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    first = lines[0].removeprefix("Invalid Input Error: ")
    unicode = next((line for line in lines if "unicode" in line.casefold()), None)
    if unicode:
        return f"{delivery.label}: not UTF-8 text ({first}: {unicode}); save the file as CSV UTF-8 or declare its encoding"
    if "state machine reached an invalid state" in first:  # DuckDB's hint (strict_mode=false) would load it wrong
        return (f"{delivery.label}: cannot read the file as CSV: a quoted value is not closed, or its lines end in "
                "more than one way (CRLF and LF mixed); open it in a spreadsheet and save it again as CSV UTF-8")
    detail = next((line for line in lines[1:] if not line.startswith(("file =", "delimiter =", "quote ="))), "")
    return f"{delivery.label}: cannot read the delivery ({first}{': ' + detail if detail else ''})"


def _drop_repeats(
    con: duckdb.DuckDBPyConnection, tmp: Path, entry: DatasetEntry, delivery: Delivery, query: CheckQuery,
    ledger: LedgerView, zones: Zones, landed: Landed,
) -> None:
    """Remove primary-key repeats from data.parquet, rewriting it once and only when there are any.

    Within the delivery, the first row of each key stays; a later row identical to it is counted in
    `rows_deduplicated`, one with other values is quarantined. For an incremental dataset, a row whose
    (key, cursor) a batch committed at the saved cursor value (`_batches_at_saved_cursor`) was read again
    by `>=`: it is dropped and counted in `rows_deduplicated`.
    """
    data = literal(str(tmp / DATA_FILE))
    keys = [ident(name) for name in entry.spec.primary_key]
    key_list = ", ".join(keys)
    values = [ident(name) for name in query.column_types]
    # Grouped by the key's hash, not its text: about half the time at 10M rows, where text groups spill.
    # A hash collision only sends the batch through the exact rewrite below, which then finds no repeat.
    repeated = _one(
        con, f"SELECT count(*) FROM (SELECT 1 FROM read_parquet({data}) GROUP BY hash({key_list}) HAVING count(*) > 1)"
    )[0]
    committed = ""
    again = 0
    cursor = entry.spec.cursor
    olds = _batches_at_saved_cursor(zones, entry, ledger) if cursor else []
    if cursor and olds:
        old = "[" + ", ".join(literal(str(path)) for path in olds) + "]"
        boundary = f"(SELECT max({ident(cursor)}) FROM read_parquet({old}))"
        committed = (f"SELECT {key_list}, {ident(cursor)} FROM read_parquet({old}) "
                     f"WHERE {ident(cursor)} = {boundary}")
        again = _one(
            con, f"SELECT count(*) FROM read_parquet({data}) SEMI JOIN ({committed}) AS committed "
            f"USING ({key_list}, {ident(cursor)})"
        )[0]
    if not repeated and not again:
        return

    source = f"read_parquet({data})"
    if again:
        assert cursor is not None  # `again` is only counted with a cursor
        source = f"(SELECT * FROM {source} ANTI JOIN ({committed}) AS committed USING ({key_list}, {ident(cursor)}))"
    conflicts = 0
    if repeated:
        same = " AND ".join(f"later.{v} IS NOT DISTINCT FROM first.{v}" for v in values)
        key_match = " AND ".join(f"later.{k} IS NOT DISTINCT FROM first.{k}" for k in keys)
        # The copy that stays: with a cursor, the newest version (a late correction wins over the record
        # it corrects, whatever order the source listed them in); else the first in the delivery.
        order = f"{ident(cursor)} DESC NULLS LAST, _source_row" if cursor else "_source_row"
        ranked = f"(SELECT *, row_number() OVER (PARTITION BY {key_list} ORDER BY {order}) AS _n FROM {source})"
        con.execute(f"""
            CREATE TEMP TABLE repeats AS
            WITH ranked AS (SELECT * FROM {ranked} WHERE ({key_list}) IN (
                    SELECT ({key_list}) FROM {source} GROUP BY {key_list} HAVING count(*) > 1))
            SELECT later.*, {same} AS _same, first._source_row AS _first_row
            FROM ranked AS later JOIN ranked AS first ON {key_match} AND first._n = 1
            WHERE later._n > 1
        """)
        conflicts = _quarantine_conflicts(con, tmp, entry, delivery, query)
        identical = _one(con, "SELECT count(*) FROM repeats WHERE _same")[0]
        source = f"(SELECT * EXCLUDE (_n) FROM {ranked} WHERE _n = 1 ORDER BY _source_row)"
        landed.rows_deduplicated += identical
        landed.rows_quarantined += conflicts
    landed.rows_deduplicated += again
    rewritten = tmp / f"{TMP_PREFIX}{DATA_FILE}"
    schema = data_schema(query.column_types)
    with pq.ParquetWriter(rewritten, schema) as out:
        for batch in con.execute(f"SELECT {', '.join(ident(n) for n in schema.names)} FROM {source}").to_arrow_reader(BATCH_ROWS):
            out.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
    os.replace(rewritten, tmp / DATA_FILE)
    landed.rows_loaded = pq.ParquetFile(tmp / DATA_FILE).metadata.num_rows


def _batches_at_saved_cursor(zones: Zones, entry: DatasetEntry, ledger: LedgerView) -> list[Path]:
    """data.parquet of every committed batch that may hold rows at the saved cursor value: the latest batch
    and the ones before it with the same `cursor_after`.

    A batch that loaded nothing new (its new rows were all quarantined) or only new rows at that same value
    leaves the cursor where it was, so the rows `>=` reads again at it were committed by an earlier batch.
    """
    if ledger.latest is None:
        return []
    saved = ledger.latest.get("cursor_after")
    files: list[Path] = []
    for manifest in reversed(committed_batches(zones, entry)):
        if manifest.get("cursor_after") != saved:
            break
        path = batch_dir(zones, entry, manifest["batch_id"]) / DATA_FILE
        if path.is_file():
            files.append(path)
    return files


def _quarantine_conflicts(
    con: duckdb.DuckDBPyConnection, tmp: Path, entry: DatasetEntry, delivery: Delivery, query: CheckQuery,
) -> int:
    """Append the rows that repeat a key with other values to quarantine.parquet; returns how many."""
    first_key = entry.spec.primary_key[0]
    # With a cursor the newest version is kept (see `_drop_repeats`): the others are older versions.
    kept = f"newest by {entry.spec.cursor} (kept)" if entry.spec.cursor else "first"
    shown = " || ', ' || ".join(f"{literal(k + ' ')} || '''' || CAST({ident(k)} AS VARCHAR) || ''''"
                                for k in entry.spec.primary_key)
    where = literal(locate(delivery.label, delivery.sheet) + ", ")
    position = literal(delivery.position + " ")
    reason = (
        f"{where} || CASE WHEN _source_row IS NULL THEN 'key ' || {shown} ELSE {position} || _source_row END "
        f"|| {literal(f', column {first_key!r} ({query.headers.get(first_key, first_key)}): duplicate ')} || {shown} "
        f"|| CASE WHEN _first_row IS NULL THEN ' with other values than the {kept}' "
        f"ELSE ', first seen at ' || {position} || _first_row || ' with other values' END"
    )
    names = list(query.column_types)
    texts = ", ".join(f"CAST({ident(n)} AS VARCHAR) AS {ident(n)}" for n in names)
    rows = con.execute(
        f"SELECT {texts}, _batch_id, _source_file, {literal(delivery.sheet) if delivery.sheet else 'NULL::VARCHAR'} "
        f"AS _source_sheet, _source_row, {literal(first_key)} AS _column, {reason} AS _reason "
        f"FROM repeats WHERE NOT _same ORDER BY _source_row"
    ).to_arrow_table()
    if rows.num_rows == 0:
        return 0
    schema = quarantine_schema(names)
    earlier = pq.read_table(tmp / QUARANTINE_FILE, schema=schema)
    combined = pa.concat_tables([earlier, pa.Table.from_arrays(rows.columns, schema=schema)])
    pq.write_table(combined, tmp / f"{TMP_PREFIX}{QUARANTINE_FILE}")
    os.replace(tmp / f"{TMP_PREFIX}{QUARANTINE_FILE}", tmp / QUARANTINE_FILE)
    return rows.num_rows


def _max_cursor(con: duckdb.DuckDBPyConnection, tmp: Path, entry: DatasetEntry, cursor_before: object) -> object:
    """The highest cursor value over the loaded rows (the saved cursor when none loaded)."""
    cursor = entry.spec.cursor
    if cursor is None:
        return None
    highest = _one(con, f"SELECT max({ident(cursor)}) FROM read_parquet({literal(str(tmp / DATA_FILE))})")[0]
    return cursor_before if highest is None else highest


def _json_value(value: object) -> object:
    """A cursor value as the manifest keeps it: numbers and text as is, decimals as text, times in WITA (ISO 8601)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(ZoneInfo(LOCAL_TZ)).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def clean_stale_tmp(zones: Zones, entry: DatasetEntry) -> list[Path]:
    """Remove `_tmp-*` batch folders and rejection files a crashed run left; returns what was removed."""
    removed = []
    folder = dataset_dir(zones, entry)
    for parent in (folder, folder / REJECTED_DIR):
        if not parent.is_dir():
            continue
        for child in parent.glob(f"{TMP_PREFIX}*"):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
            removed.append(child)
            log.warning("%s: removed, left by an interrupted run", child)
    return removed
