"""`extract_load`: the one entry point that brings a dataset's new deliveries into the raw zone.

It dispatches on `source.kind` to a connector module under `ingestion/kinds/` (which only reads),
then checks each new delivery against the contract and lands it as a batch (`ingestion.landing`).
The CLI and the Airflow task both call it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow.parquet as pq

from ingestion.catalog import DatasetEntry
from ingestion.errors import RejectedFile
from ingestion.kinds import kind_module, served_kind
from ingestion.landing import QUARANTINE_FILE, clean_stale_tmp, land_delivery
from ingestion.ledger import batch_dir, dataset_dir, ledger_view, record_rejection, record_run_end
from ingestion.zones import Zones

log = logging.getLogger(__name__)

QUARANTINE_LOG_LINES = 20  # per batch; the rest is counted, and all reasons are in quarantine.parquet


def extract_load(entry: DatasetEntry, zones: Zones) -> list[dict]:
    """Land every new delivery of `entry` as a batch; returns the new batches' manifests, oldest first.

    An empty list means nothing new (the same content twice is a no-op; an incremental read that
    found no new rows commits nothing). A delivery refused as a whole is recorded in the ledger
    (`_rejected/<sha256>.json`); after the other deliveries are processed, `RejectedFile` is raised
    naming every refused one, with `.batches` holding the manifests committed in this run.
    """
    source = entry.spec.source
    kind = kind_module(served_kind(source.kind, getattr(source, "connection", None)))
    manifests: list[dict] = []
    refused: list[str] = []
    with _dataset_lock(zones, entry):
        clean_stale_tmp(zones, entry)
        for pending in kind.pending_sources(entry, zones, ledger_view(zones, entry)):
            started_at = dt.datetime.now(dt.UTC)
            try:
                delivery = pending.read()
                try:
                    # Read the ledger again: a batch committed earlier in this run moves the cursor.
                    manifest = land_delivery(zones, entry, pending, delivery, ledger_view(zones, entry),
                                             started_at=started_at)
                finally:
                    delivery.close()
            except RejectedFile as exc:
                record_rejection(zones, entry, pending.source, exc.message)
                log.error("%s: refused: %s", entry.id, exc.message)
                refused.append(exc.message)
                continue
            if manifest is not None:
                _log_batch(zones, entry, manifest)
                manifests.append(manifest)
        # The kind finished: a run whose last batch was full (the page after it empty) ended with it.
        record_run_end(zones, entry)
    if refused:
        raise RejectedFile("\n".join(refused), batches=manifests)
    return manifests


@contextmanager
def _dataset_lock(zones: Zones, entry: DatasetEntry) -> Iterator[None]:
    """One extract_load per dataset at a time (a scheduler run and a CLI run may overlap)."""
    folder = dataset_dir(zones, entry)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _log_batch(zones: Zones, entry: DatasetEntry, manifest: dict) -> None:
    label = manifest["source"].get("path") or manifest["source"].get("label") or manifest["source"].get("kind")
    log.info(
        "%s: batch %s from %s: %d rows in, %d loaded, %d quarantined, %d deduplicated",
        entry.id, manifest["batch_id"], label, manifest["rows_in"],
        manifest["rows_loaded"], manifest["rows_quarantined"], manifest["rows_deduplicated"],
    )
    quarantined = manifest["rows_quarantined"]
    if not quarantined:
        return
    path = batch_dir(zones, entry, manifest["batch_id"]) / QUARANTINE_FILE
    first = next(pq.ParquetFile(path).iter_batches(batch_size=QUARANTINE_LOG_LINES, columns=["_reason"]))
    for reason in first.column("_reason").to_pylist():
        log.warning("%s: quarantined: %s", entry.id, reason)
    if quarantined > QUARANTINE_LOG_LINES:
        log.warning(
            "%s: ... and %d more quarantined rows (see quarantine.parquet of batch %s)",
            entry.id, quarantined - QUARANTINE_LOG_LINES, manifest["batch_id"],
        )
