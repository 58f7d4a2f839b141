"""The ledger: committed batch manifests and rejected files of one dataset in the raw zone.

    raw/<agency>/<dataset>/batch=<batch_id>/manifest.json    a committed batch (the ledger entry)
    raw/<agency>/<dataset>/_tmp-<batch_id>/                  a batch being written (never read)
    raw/<agency>/<dataset>/_rejected/<sha256>.json           a delivered file refused as a whole
    raw/<agency>/<dataset>/_validation/<batch_id>.json       the raw suite's verdict on a committed batch
    raw/<agency>/<dataset>/_runs/<run id>.json               a run of several batches ended (see "Runs")

Downstream work reads this ledger, never an event payload. A source whose sha256 is committed or
rejected is never loaded again; delete its `_rejected/<sha256>.json` to have it read once more.
A batch whose validation record says it failed stays committed (its source and cursor are known)
but is not built from: `buildable_batches`. Delete the record to have the batch validated again.

Runs. A kind may deliver one run of its source in several batches (`Pending.run_part`, `run_last`);
the manifest's `run` says which: `{"id": <batch_id of part 1>, "part": n, "last": true|false}`
(a manifest without it is a run of its own). Part n > 1 of a run is committed as
`<run id>.<n:04d>`, so the batch ids of a run share its id before the dot and sort together, after
the runs before it: staging reads a snapshot as every batch whose id before the dot is the highest.
A snapshot dataset (no `cursor`) builds only from complete runs (parts 1..n, none failed, and part
n the last: its manifest says so, or `_runs/<run id>.json` does, written by `extract_load` when the
kind finished after a batch that could not know it was the last, e.g. a full page then an empty one):
a run cut short by a crash waits for its resume, and the build reads the run before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from pathlib import Path

from ingestion.catalog import DatasetEntry
from ingestion.durable import write_file_atomic
from ingestion.kinds import LedgerView
from ingestion.zones import Zones

log = logging.getLogger(__name__)

BATCH_PREFIX = "batch="
REJECTED_DIR = "_rejected"
VALIDATION_DIR = "_validation"
RUNS_DIR = "_runs"
MANIFEST = "manifest.json"


def dataset_dir(zones: Zones, entry: DatasetEntry) -> Path:
    """raw/<agency>/<dataset>/"""
    return zones.raw(entry.agency.code, entry.name)


def batch_dir(zones: Zones, entry: DatasetEntry, batch_id: str) -> Path:
    """raw/<agency>/<dataset>/batch=<batch_id>/ (the committed name)."""
    return dataset_dir(zones, entry) / f"{BATCH_PREFIX}{batch_id}"


def committed_batches(zones: Zones, entry: DatasetEntry) -> list[dict]:
    """Manifests of the committed batches, oldest first (sorted by batch_id)."""
    folder = dataset_dir(zones, entry)
    if not folder.is_dir():
        return []
    manifests = []
    for child in folder.iterdir():
        if not child.name.startswith(BATCH_PREFIX) or not child.is_dir():
            continue
        path = child / MANIFEST
        if not path.is_file():
            # Cannot happen through landing (the manifest is written before the rename); say so loudly.
            log.warning("%s: no %s, so not a committed batch; ignored", child, MANIFEST)
            continue
        manifests.append(json.loads(path.read_text(encoding="utf-8")))
    return sorted(manifests, key=lambda manifest: manifest["batch_id"])


def latest_batch(zones: Zones, entry: DatasetEntry) -> dict | None:
    """The newest committed batch's manifest, or None when nothing was ever loaded."""
    batches = committed_batches(zones, entry)
    return batches[-1] if batches else None


def validation_path(zones: Zones, entry: DatasetEntry, batch_id: str) -> Path:
    """raw/<agency>/<dataset>/_validation/<batch_id>.json (written by the raw boundary check)."""
    return dataset_dir(zones, entry) / VALIDATION_DIR / f"{batch_id}.json"


def validation_record(zones: Zones, entry: DatasetEntry, batch_id: str) -> dict | None:
    """The raw suite's verdict on a batch, or None when the batch was not validated (yet)."""
    try:
        return json.loads(validation_path(zones, entry, batch_id).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def run_of(manifest: dict) -> dict:
    """The manifest's `run` (see "Runs" above); a batch from before runs is a run of one batch."""
    return manifest.get("run") or {"id": manifest["batch_id"], "part": 1, "last": True}


def run_ends(zones: Zones, entry: DatasetEntry) -> dict[str, int]:
    """{run id: its number of parts} from the `_runs/` records (runs whose last batch could not say so)."""
    folder = dataset_dir(zones, entry) / RUNS_DIR
    if not folder.is_dir():
        return {}
    records = [json.loads(path.read_text(encoding="utf-8")) for path in folder.glob("*.json")]
    return {record["run"]: record["parts"] for record in records}


def record_run_end(zones: Zones, entry: DatasetEntry) -> Path | None:
    """After a kind finished without error: when the latest batch's run is not marked as ended, it ended there."""
    latest = latest_batch(zones, entry)
    if latest is None or run_of(latest)["last"]:
        return None
    run = run_of(latest)
    path = dataset_dir(zones, entry) / RUNS_DIR / f"{run['id']}.json"
    write_file_atomic(path, json.dumps({"run": run["id"], "parts": run["part"]}).encode("utf-8") + b"\n")
    return path


def complete_runs(manifests: list[dict], ended: dict[str, int]) -> list[list[dict]]:
    """The runs whose parts 1..n are all here, part n the last (or `ended` says n), oldest first."""
    runs: dict[str, list[dict]] = {}
    for manifest in manifests:
        runs.setdefault(run_of(manifest)["id"], []).append(manifest)
    complete = []
    for run_id in sorted(runs):
        parts = [run_of(manifest) for manifest in runs[run_id]]
        if [part["part"] for part in parts] != list(range(1, len(parts) + 1)):
            continue
        if parts[-1]["last"] or ended.get(run_id) == len(parts):
            complete.append(runs[run_id])
    return complete


def buildable_batches(zones: Zones, entry: DatasetEntry) -> list[dict]:
    """Committed batches a warehouse build reads: all but those whose raw validation failed, and for a
    snapshot dataset (no `cursor`), only batches of complete runs none of whose batches failed.

    A batch without a record counts (it may be built before a validator runs, or for a dataset
    without a raw suite); a failed one stays in the ledger so its source is never loaded again.
    """
    buildable, failed_runs = [], set()
    for manifest in committed_batches(zones, entry):
        record = validation_record(zones, entry, manifest["batch_id"])
        if record is not None and not record.get("success", False):
            log.info("%s batch %s failed its raw suite: not built from", entry.id, manifest["batch_id"])
            failed_runs.add(run_of(manifest)["id"])
            continue
        buildable.append(manifest)
    if entry.spec.cursor is not None:
        return buildable
    # A snapshot is the whole of one run: part of a run would publish part of the list.
    runs = complete_runs(buildable, run_ends(zones, entry))
    whole = [manifest for run in runs if run_of(run[0])["id"] not in failed_runs for manifest in run]
    for manifest in buildable:
        if manifest not in whole:
            log.info("%s batch %s is part of a run not complete (or with a failed batch): not built from",
                     entry.id, manifest["batch_id"])
    return whole


def rejections(zones: Zones, entry: DatasetEntry) -> list[dict]:
    """Every recorded rejection of this dataset, oldest first."""
    folder = dataset_dir(zones, entry) / REJECTED_DIR
    if not folder.is_dir():
        return []
    records = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")]
    return sorted(records, key=lambda record: record["rejected_at"])


def is_known_source(zones: Zones, entry: DatasetEntry, sha256: str) -> bool:
    """True when a source with this content was already committed or rejected."""
    if (dataset_dir(zones, entry) / REJECTED_DIR / f"{sha256}.json").is_file():
        return True
    return any(manifest["source"].get("sha256") == sha256 for manifest in committed_batches(zones, entry))


def is_current_snapshot(zones: Zones, entry: DatasetEntry, sha256: str) -> bool:
    """True when a source with this content was rejected, or is the whole latest complete run: a snapshot
    returning to an older content (A, then B, then A) is new again, only the latest one is compared."""
    if (dataset_dir(zones, entry) / REJECTED_DIR / f"{sha256}.json").is_file():
        return True
    runs = complete_runs(committed_batches(zones, entry), run_ends(zones, entry))
    return bool(runs) and len(runs[-1]) == 1 and runs[-1][0]["source"].get("sha256") == sha256


def ledger_view(zones: Zones, entry: DatasetEntry) -> LedgerView:
    """What a connector kind may know of this dataset's ledger (read now; `is_known` reads it live)."""
    latest = latest_batch(zones, entry)
    run = run_of(latest) if latest else None
    return LedgerView(
        is_known=lambda sha256: is_known_source(zones, entry, sha256),
        cursor_before=latest.get("cursor_after") if latest else None,
        latest=latest,
        is_current_snapshot=lambda sha256: is_current_snapshot(zones, entry, sha256),
        run_ended=run is None or run["last"] or run_ends(zones, entry).get(run["id"]) == run["part"],
    )


def source_sha256(source: dict, cursor_before: object = None) -> str:
    """The source's content sha256; for sources without one (databases, APIs), a digest of its identity and cursor."""
    if source.get("sha256"):
        return source["sha256"]
    identity = json.dumps({"source": source, "cursor_before": cursor_before}, sort_keys=True, default=str)
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def record_rejection(zones: Zones, entry: DatasetEntry, source_info: dict, message: str) -> Path:
    """Write raw/<agency>/<dataset>/_rejected/<sha256>.json atomically; returns its path."""
    record = {
        "dataset": entry.id,
        "source": source_info,
        "message": message,
        "rejected_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
    }
    path = dataset_dir(zones, entry) / REJECTED_DIR / f"{source_sha256(source_info)}.json"
    write_file_atomic(path, json.dumps(record, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")
    return path
