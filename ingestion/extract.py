"""`extract_load`: the one entry point that brings a dataset's new deliveries into the raw zone.

It dispatches on `source.kind` to a connector module under `ingestion/kinds/`, checks each new
delivery against the contract, and lands it as a batch. The CLI and the Airflow task both call it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from ingestion.catalog import DatasetEntry
from ingestion.contract import CheckedDelivery, check_delivery
from ingestion.errors import RejectedFile
from ingestion.kinds import kind_module
from ingestion.landing import clean_stale_tmp, land_batch
from ingestion.ledger import dataset_dir, is_known_source, record_rejection
from ingestion.zones import Zones

log = logging.getLogger(__name__)

QUARANTINE_LOG_LINES = 20  # per batch; the rest is counted, and all reasons are in quarantine.parquet


def extract_load(entry: DatasetEntry, zones: Zones) -> list[dict]:
    """Land every new delivery of `entry` as a batch; returns the new batches' manifests, oldest first.

    An empty list means nothing new (the same content twice is a no-op). A file changed less than a
    second ago is waited for once (see `ingestion.kinds.file`). A delivery refused as a
    whole is recorded in the ledger (`_rejected/<sha256>.json`); after the other deliveries are
    processed, `RejectedFile` is raised naming every refused file, with `.batches` holding the
    manifests that were committed in this run.
    """
    kind = kind_module(entry.spec.source.kind)
    manifests: list[dict] = []
    refused: list[str] = []
    with _dataset_lock(zones, entry):
        clean_stale_tmp(zones, entry)
        for pending in kind.pending_sources(entry, zones, lambda sha256: is_known_source(zones, entry, sha256)):
            started_at = dt.datetime.now(dt.UTC)
            try:
                delivery = pending.read()
                checked = check_delivery(delivery, entry)
            except RejectedFile as exc:
                record_rejection(zones, entry, pending.source, exc.message)
                log.error("%s: file refused: %s", entry.id, exc.message)
                refused.append(exc.message)
                continue
            source = {**pending.source, "sheet": delivery.sheet}  # the sheet actually read
            manifest = land_batch(zones, entry, checked, source, started_at=started_at)
            _log_batch(entry, manifest, checked)
            manifests.append(manifest)
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


def _log_batch(entry: DatasetEntry, manifest: dict, checked: CheckedDelivery) -> None:
    log.info(
        "%s: batch %s from %s: %d rows in, %d loaded, %d quarantined, %d deduplicated",
        entry.id, manifest["batch_id"], manifest["source"]["path"], manifest["rows_in"],
        manifest["rows_loaded"], manifest["rows_quarantined"], manifest["rows_deduplicated"],
    )
    for row in checked.quarantined[:QUARANTINE_LOG_LINES]:
        log.warning("%s: quarantined: %s", entry.id, "; ".join(row.reasons))
    if len(checked.quarantined) > QUARANTINE_LOG_LINES:
        log.warning(
            "%s: ... and %d more quarantined rows (see quarantine.parquet of batch %s)",
            entry.id, len(checked.quarantined) - QUARANTINE_LOG_LINES, manifest["batch_id"],
        )
