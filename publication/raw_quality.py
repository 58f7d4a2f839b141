"""The agency boundary: every committed raw batch is checked with its dataset's raw suite before it is built from.

    expectations/raw/<agency>__<dataset>.yml                the raw suite (the format of `publication.quality`;
                                                            `release_checks` optional)
    raw/<agency>/<dataset>/_validation/<batch_id>.json      the verdict on one batch (written atomically)

The contract (`ingestion.contract`) already refuses bad ROWS while landing (empty keys, patterns, code
lists, duplicates); a raw suite judges the BATCH as a whole: is it plausibly complete, does it cover
every kecamatan, are free-text coordinates in Paser, did it shrink against the previous batch.

GX runs the suite as SQL on DuckDB over the batch's data.parquet (`publication.quality.validate_parquet`),
so a 10M-row batch is never loaded into pandas. A batch whose suite fails keeps its place in the ledger
(its source is never loaded again) but `ingestion.ledger.buildable_batches` leaves it out of warehouse
builds. A dataset without a raw suite passes with a logged warning.

A snapshot delivered as a run of several batches (`ingestion.ledger`, "Runs") is judged as the whole
list it is: the run's final batch is validated over every batch of the run, and its verdict stands for
the run (a failed one keeps the whole run out of builds); the batches before it are recorded as passed,
"judged with the run". `row_count_vs_previous` compares the run's rows with the previous run's.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.catalog import DatasetEntry
from ingestion.durable import write_file_atomic
from ingestion.ledger import (
    batch_dir,
    committed_batches,
    complete_runs,
    run_ends,
    run_of,
    validation_path,
    validation_record,
)
from ingestion.zones import Zones
from publication.quality import EXPECTATIONS_DIR, ValidationReport, validate_parquet

log = logging.getLogger(__name__)

RAW_EXPECTATIONS_DIR = EXPECTATIONS_DIR / "raw"
DATA_FILE = "data.parquet"
FAILURES_SHOWN = 10  # failing checks named per batch in a RawSuiteFailed message


class RawSuiteFailed(RuntimeError):
    """One or more batches failed their raw suite; they are recorded as failed and not built from."""

    def __init__(self, message: str, *, failed: list[BatchValidation]):
        super().__init__(message)
        self.failed = failed


@dataclass
class BatchValidation:
    """The verdict on one batch: `suite` is None when the dataset has no raw suite (a pass)."""

    dataset: str
    batch_id: str
    success: bool
    suite: str | None = None
    record_path: Path | None = None
    report: ValidationReport | None = None
    failures: list[str] = field(default_factory=list)  # one line per failing check

    def describe(self) -> str:
        if self.success:
            return f"{self.dataset} batch {self.batch_id}: passed" + (f" raw suite {self.suite}" if self.suite else "")
        stats = self.report.statistics if self.report else {}
        head = (
            f"{self.dataset} batch {self.batch_id}: raw suite {self.suite} failed "
            f"{stats.get('unsuccessful_expectations', '?')} of {stats.get('evaluated_expectations', '?')} checks"
        )
        lines = self.failures[:FAILURES_SHOWN]
        if len(self.failures) > FAILURES_SHOWN:
            lines.append(f"... and {len(self.failures) - FAILURES_SHOWN} more in {self.record_path}")
        return head + "".join(f"\n    {line}" for line in lines)


def raw_suite_path(entry: DatasetEntry, expectations_dir: Path | None = None) -> Path:
    """expectations/raw/<agency>__<dataset>.yml"""
    return (expectations_dir or RAW_EXPECTATIONS_DIR) / f"{entry.id}.yml"


def _previous_rows(zones: Zones, entry: DatasetEntry, batch_id: str) -> int | None:
    """Rows of the newest earlier batch that did not fail its suite, for `row_count_vs_previous`; for a
    snapshot dataset, of the newest earlier complete run none of whose batches failed."""
    manifests = committed_batches(zones, entry)
    if entry.spec.cursor is None:
        run_id = next((run_of(m)["id"] for m in manifests if m["batch_id"] == batch_id), batch_id)
        for run in reversed(complete_runs(manifests, run_ends(zones, entry))):
            if run_of(run[0])["id"] >= run_id or any(_failed(zones, entry, m["batch_id"]) for m in run):
                continue
            return sum(int(m["rows_loaded"]) for m in run)
        return None
    for manifest in reversed(manifests):
        if manifest["batch_id"] >= batch_id:
            continue
        if _failed(zones, entry, manifest["batch_id"]):
            continue
        return int(manifest["rows_loaded"])
    return None


def _failed(zones: Zones, entry: DatasetEntry, batch_id: str) -> bool:
    record = validation_record(zones, entry, batch_id)
    return record is not None and not record.get("success", False)


def _judged_files(zones: Zones, entry: DatasetEntry, manifest: dict) -> list[Path] | None:
    """The data.parquet files a batch's suite runs over: its own; for a snapshot run of several batches,
    every batch of the run when this is its final batch, None (judged with the run) otherwise."""
    own = [batch_dir(zones, entry, manifest["batch_id"]) / DATA_FILE]
    run = run_of(manifest)
    if entry.spec.cursor is not None or (run["part"] == 1 and run["last"]):
        return own
    for batches in complete_runs(committed_batches(zones, entry), run_ends(zones, entry)):
        if run_of(batches[0])["id"] == run["id"]:
            if batches[-1]["batch_id"] != manifest["batch_id"]:
                return None
            return [batch_dir(zones, entry, m["batch_id"]) / DATA_FILE for m in batches]
    return None  # the run is not complete: not built from, judged once its final batch is committed


def _write_record(path: Path, record: dict) -> None:
    write_file_atomic(path, json.dumps(record, ensure_ascii=False, indent=2, default=str).encode("utf-8") + b"\n")


def validate_batch(
    zones: Zones, entry: DatasetEntry, manifest: dict, *, expectations_dir: Path | None = None
) -> BatchValidation:
    """Validate one committed batch's data.parquet with the dataset's raw suite and record the verdict.

    Writes raw/<agency>/<dataset>/_validation/<batch_id>.json (replacing an earlier record), also for a
    dataset without a raw suite (a pass, marked unchecked). A broken suite file raises `SuiteError` and
    records nothing: the batch is not at fault.
    """
    batch_id = manifest["batch_id"]
    suite_path = raw_suite_path(entry, expectations_dir)
    path = validation_path(zones, entry, batch_id)
    if not suite_path.is_file():
        log.warning("%s has no raw suite (%s): batch %s passes unchecked", entry.id, suite_path, batch_id)
        # Recorded too, so the batch is not taken up again on every run; the record says it was unchecked.
        _write_record(path, {"dataset": entry.id, "batch_id": batch_id, "success": True, "suite": None,
                             "note": f"no raw suite expectations/raw/{suite_path.name}: passed unchecked"})
        return BatchValidation(entry.id, batch_id, True, record_path=path)

    data = _judged_files(zones, entry, manifest)
    if data is None:
        _write_record(path, {"dataset": entry.id, "batch_id": batch_id, "success": True,
                             "suite_file": f"expectations/raw/{suite_path.name}",
                             "note": f"part {run_of(manifest)['part']} of run {run_of(manifest)['id']}: judged with the run"})
        return BatchValidation(entry.id, batch_id, True, record_path=path)
    report = validate_parquet(data, suite_path, previous_rows=_previous_rows(zones, entry, batch_id))
    failures = [outcome.describe() for outcome in report.failures()]
    record = {
        "dataset": entry.id,
        "batch_id": batch_id,
        "success": report.success,
        "suite_file": f"expectations/raw/{suite_path.name}",
        "suite_sha256": hashlib.sha256(suite_path.read_bytes()).hexdigest(),
        "data_sha256": manifest.get("files", {}).get(DATA_FILE, {}).get("sha256"),
        "failures": failures,
        **report.to_dict(),
    }
    _write_record(path, record)
    verdict = BatchValidation(entry.id, batch_id, report.success, report.suite, path, report, failures)
    (log.info if verdict.success else log.error)("%s", verdict.describe())
    return verdict


def validate_new_batches(
    zones: Zones, entry: DatasetEntry, batch_ids: Iterable[str] = (), *, expectations_dir: Path | None = None
) -> list[BatchValidation]:
    """Validate the given batches and every other committed batch without a verdict (a crash may leave one).

    Works from the ledger, not from the ids alone (an id that is not committed is ignored with a
    warning). Raises `RawSuiteFailed` naming dataset, batch and failing checks when any batch failed,
    after every batch got its record.
    """
    wanted = set(batch_ids)
    manifests = committed_batches(zones, entry)
    known = {manifest["batch_id"] for manifest in manifests}
    for missing in sorted(wanted - known):
        log.warning("%s: batch %s is not committed; nothing to validate", entry.id, missing)
    verdicts = [
        validate_batch(zones, entry, manifest, expectations_dir=expectations_dir)
        for manifest in manifests
        if manifest["batch_id"] in wanted or validation_record(zones, entry, manifest["batch_id"]) is None
    ]
    failed = [verdict for verdict in verdicts if not verdict.success]
    if failed:
        message = f"{entry.id}: {len(failed)} batch(es) failed the raw suite and will not be built from\n  " + (
            "\n  ".join(verdict.describe() for verdict in failed)
        )
        raise RawSuiteFailed(message, failed=failed)
    return verdicts
