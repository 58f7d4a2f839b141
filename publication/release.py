"""Write-audit-publish: turn the current warehouse build into a versioned, atomic open-data release.

    audit_candidate()    warehouse/current -> releases/_tmp-<release_id>/ (files, gates, manifest.json);
                         a failed gate moves the candidate to releases/_rejected/<release_id>/ and raises
    publish_candidate()  rename _tmp-<release_id> -> <release_id>, then swap releases/current (os.replace)
    rollback()           re-point releases/current at an earlier release, in one step

`releases/current` changes only through `os.replace` of a fresh symlink, so a failed gate or a crash at
any moment leaves it pointing at the previous release. Only one publisher runs at a time (a lock file), and
a candidate audited by one publish run is that run's until it publishes it: an audit by another run (a manual
`satudata run` during a scheduled one) waits for it, at most PENDING_LEASE_S after its audit (then the
candidate counts as a crashed run's leftover), so two runs never interleave their audit and publish steps.

CSV files are UTF-8 with a header; text cells stay quoted text (codes such as '64.01.01' keep their
form). A text cell that begins with = + - @ tab or CR gets a leading single quote (') so spreadsheet
programs show it instead of running it as a formula (OWASP "CSV injection"). Numbers are not touched,
and the Parquet file keeps the original values.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingestion.catalog import REPO_ROOT, Catalog, PublicationEntry
from ingestion.durable import fsync_dir, fsync_file, fsync_tree, json_bytes, sha256_file, swap_symlink, write_durably
from ingestion.zones import Zones
from publication.catalogs import write_json, write_release_catalogs
from publication.errors import GateFailed, ReleaseError, SuiteError
from publication.metadata import build_metadata, check_metadata, distribution_entry
from publication.portal import render_portal
from publication.privacy import (
    SUPPRESSED_COLUMN,
    SUPPRESSED_COLUMN_DOC,
    keys_from_manifest,
    read_csv_as_text,
    read_json_as_text,
    scan,
    suppress,
)
from publication.quality import (
    ValidationReport,
    import_gx_in_background,
    render_quality_report,
    suite_path_for,
    validate_table,
)

log = logging.getLogger(__name__)

KEEP_RELEASES = 10
# How long an audited candidate is another run's, waiting for its publish step (seconds): an audit meanwhile
# waits for it; after that it counts as a crashed run's leftover. The publish DAG's two tasks run seconds apart.
PENDING_LEASE_S = 300.0
PENDING_POLL_S = 0.2
RELEASE_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
TMP_PREFIX = "_tmp-"
REJECTED = "_rejected"
CURRENT = "current"
FORMULA_START = r"^[=+\-@\t\r]"


# --- Small filesystem helpers -----------------------------------------------------------------------


def _write_json(path: Path, data: Any) -> None:
    write_durably(path, json_bytes(data))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


@contextmanager
def _publisher_lock(zones: Zones) -> Iterator[None]:
    """One publisher at a time: audit, publish and rollback all change `releases/`."""
    zones.releases.mkdir(parents=True, exist_ok=True)
    with (zones.releases / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- CSV --------------------------------------------------------------------------------------------


def formula_safe(table: pa.Table) -> pa.Table:
    """Prefix text cells that start with = + - @ tab or CR with a single quote (CSV injection guard)."""
    for index, field in enumerate(table.schema):
        data_type = field.type
        if pa.types.is_dictionary(data_type):
            data_type = data_type.value_type
        if not (
            pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type)
        ):
            continue
        column = table.column(index).cast(pa.string())
        risky = pc.match_substring_regex(column, FORMULA_START)
        escaped = pc.if_else(risky, pc.binary_join_element_wise(pa.scalar("'"), column, pa.scalar("")), column)
        table = table.set_column(index, field.name, escaped)
    return table


def write_csv(table: pa.Table, path: Path) -> None:
    """UTF-8 CSV with a header; every text value quoted, formula-like text made safe."""
    with path.open("wb") as handle:
        pacsv.write_csv(formula_safe(table), handle, pacsv.WriteOptions(include_header=True))
        handle.flush()
        os.fsync(handle.fileno())


# --- Reading the zones ------------------------------------------------------------------------------


def _current_build(zones: Zones) -> tuple[Path, dict[str, Any]] | None:
    link = zones.warehouse / "current"
    if not link.exists():
        return None
    build_dir = link.resolve()
    build = _read_json(build_dir / "build.json")
    if build is None or "build_id" not in build:
        raise ReleaseError(f"{build_dir}/build.json is missing or has no build_id: the warehouse build is incomplete")
    return build_dir, build


def _release_dirs(zones: Zones) -> list[Path]:
    if not zones.releases.is_dir():
        return []
    return sorted(
        p for p in zones.releases.iterdir() if p.is_dir() and not p.is_symlink() and RELEASE_ID_RE.match(p.name)
    )


def _current_id(zones: Zones) -> str | None:
    link = zones.releases / CURRENT
    return os.readlink(link) if link.is_symlink() else None


def current_release(zones: Zones) -> dict[str, Any] | None:
    """The manifest of the release the public sees, or None before the first release."""
    release_id = _current_id(zones)
    return _read_json(zones.releases / release_id / "manifest.json") if release_id else None


def list_releases(zones: Zones) -> list[dict[str, Any]]:
    """Manifests of all published releases, oldest first, each with `current: true|false`."""
    current = _current_id(zones)
    releases = []
    for path in _release_dirs(zones):
        manifest = _read_json(path / "manifest.json")
        if manifest is not None:
            releases.append({**manifest, "current": path.name == current})
    return releases


def _code_version() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5, check=True
        )
        return done.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _now() -> datetime:
    return datetime.now(UTC)


def _release_id(build_id: str, now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{hashlib.sha256(build_id.encode()).hexdigest()[:8]}"


# --- Audit ------------------------------------------------------------------------------------------


def _file_entry(path: Path, rows: int | None) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "rows": rows, "bytes": path.stat().st_size}


# --- Privacy gate (publication/privacy.py) ----------------------------------------------------------


def _suppress_small_cells(
    entry: PublicationEntry, table: pa.Table, previous: dict[str, Any] | None, record: dict[str, Any]
) -> tuple[PublicationEntry, pa.Table]:
    """Suppress small cells when the publication counts people; fills `record` (manifest.json's privacy).

    The returned entry explains the added `disembunyikan` column, so the metadata carries its penjelasan.
    """
    rules = entry.spec.small_cells
    record.update(failures=[], suppressed=None, suppression=None)
    if rules is None:
        return entry, table
    before = keys_from_manifest((((previous or {}).get("privacy") or {}).get("suppressed") or {}).get(entry.id))
    try:
        result = suppress(table, rules, before)
    except ValueError as exc:
        record["failures"].append(f"{entry.id}: privacy: {exc}")
        return entry, table
    record["suppressed"] = result.keys_for_manifest()
    record["suppression"] = {"primary": result.primary, "complementary": result.complementary, "cells": len(result.suppressed)}
    columns = {**entry.spec.columns, SUPPRESSED_COLUMN: entry.spec.columns.get(SUPPRESSED_COLUMN, SUPPRESSED_COLUMN_DOC)}
    return dataclasses.replace(entry, spec=entry.spec.model_copy(update={"columns": columns})), result.table


def _privacy_scan(
    entry: PublicationEntry, table: pa.Table, parquet_path: Path, text_paths: list[Path], record: dict[str, Any]
) -> None:
    """Scan exactly what is published: the table, and the written CSV and JSON re-read as text (to be sure)."""
    findings = scan(table, parquet_path.name, entry.spec.small_cells)
    seen = {(finding.column, finding.row, finding.kind) for finding in findings}
    for path in text_paths:
        as_text = read_csv_as_text(path) if path.suffix == ".csv" else read_json_as_text(path)
        found = [f for f in scan(as_text, path.name, None) if (f.column, f.row, f.kind) not in seen]
        seen |= {(f.column, f.row, f.kind) for f in found}
        findings += found
    record["failures"] += [f"{entry.id}: privacy: {finding.describe()}" for finding in findings]


def _stage_publication(
    entry: PublicationEntry,
    build_dir: Path,
    build: dict[str, Any],
    candidate: Path,
    previous: dict[str, Any] | None,
    release_id: str,
    privacy: dict[str, Any],
) -> tuple[list[str], list[str], pa.Table | None]:
    """Write one publication's files into the candidate and run its privacy and metadata gates.

    Returns (quality failures, metadata failures, the published table); each failure is one line for
    GateFailed. The table is None when the mart is missing or altered (a quality failure says which);
    otherwise `_quality_gate` validates it. `privacy` is filled with the privacy gate's failures and
    suppressed cells (empty when the mart is missing).
    """
    pid = entry.id
    mart = build_dir / "marts" / f"{entry.spec.model}.parquet"
    if not mart.is_file():
        return [f"{pid}: quality: mart marts/{entry.spec.model}.parquet is missing from build {build['build_id']}"], [], None
    expected = (build.get("marts") or {}).get(entry.spec.model, {}).get("sha256")
    if expected and sha256_file(mart) != expected:
        return [f"{pid}: quality: marts/{entry.spec.model}.parquet does not match the sha256 in build.json"], [], None

    table = pq.read_table(mart)
    parquet_path, csv_path = candidate / f"{pid}.parquet", candidate / f"{pid}.csv"
    entry, table = _suppress_small_cells(entry, table, previous, privacy)
    if privacy["suppressed"] is None:  # nothing was suppressed: publish the mart byte for byte
        shutil.copyfile(mart, parquet_path)
    else:
        pq.write_table(table, parquet_path)
    fsync_file(parquet_path)
    write_csv(table, csv_path)
    json_path = candidate / f"{pid}.json"
    write_json(table, json_path)
    _privacy_scan(entry, table, parquet_path, [csv_path, json_path], privacy)

    problems = [f"{pid}: metadata: {problem}" for problem in check_metadata(entry, table.column_names)]
    distribution = [distribution_entry(path, table.num_rows) for path in (csv_path, json_path, parquet_path)]
    _write_json(
        candidate / f"{pid}.metadata.json",
        build_metadata(entry, table, distribution=distribution, release_id=release_id, build_id=build["build_id"]),
    )
    return [], problems, table


def _quality_gate(
    entry: PublicationEntry, table: pa.Table, candidate: Path, previous: dict[str, Any] | None
) -> tuple[list[str], ValidationReport | None]:
    """Validate the published table against its GX suite; (quality failures, GX report or None)."""
    pid = entry.id
    previous_rows = ((previous or {}).get("files") or {}).get(f"{pid}.parquet", {}).get("rows")
    try:
        report = validate_table(table, suite_path_for(pid), previous_rows=previous_rows)
    except SuiteError as exc:
        return [f"{pid}: quality: {exc}"], None
    _write_json(candidate / "validation" / f"{pid}.json", report.to_dict())
    return [f"{pid}: quality: {outcome.describe()}" for outcome in report.failures()], report


def _releasable(catalog: Catalog, build_dir: Path, build: dict[str, Any]) -> tuple[list[PublicationEntry], list]:
    """The publications this build can release, and (entry, reason) for those still waiting for data.

    A publication whose mart is absent because the build left out one of its source datasets (no
    batch yet: an agency that has not delivered) waits; a mart absent while its sources were built
    is a broken build, and its gate fails in `_stage_publication`.
    """
    excluded = set(build.get("excluded_datasets") or [])
    ready, waiting = [], []
    for entry in catalog.publications:
        mart = build_dir / "marts" / f"{entry.spec.model}.parquet"
        missing = sorted(excluded & set(entry.source_ids))
        if not mart.is_file() and missing:
            waiting.append((entry, f"no batch yet for {', '.join(missing)}, so mart {entry.spec.model} was not built"))
        else:
            ready.append(entry)
    return ready, waiting


def _reject(zones: Zones, candidate: Path, release_id: str) -> Path:
    rejected = zones.releases / REJECTED / release_id
    rejected.parent.mkdir(parents=True, exist_ok=True)
    if rejected.exists():  # the same build audited twice within one second
        shutil.rmtree(rejected)
    os.rename(candidate, rejected)
    fsync_dir(rejected.parent)
    _prune(zones.releases / REJECTED, keep=KEEP_RELEASES, protect=None)
    return rejected


def _pending_candidate(zones: Zones) -> tuple[str, float] | None:
    """An audited candidate another publish run has not published yet: (name, age in seconds), or None.

    Only a passing candidate younger than PENDING_LEASE_S counts: its run is between its audit and its
    publish (the publish DAG runs them as two tasks, two processes). An older one, or one without a passing
    manifest (a crash during its audit), is a leftover that the next audit removes.
    """
    for path in sorted(zones.releases.glob(f"{TMP_PREFIX}*")):
        manifest = path / "manifest.json"
        try:
            age = time.time() - manifest.stat().st_mtime
        except FileNotFoundError:
            continue
        if age < PENDING_LEASE_S and (_read_json(manifest) or {}).get("passed") is True:
            return path.name, age
    return None


def audit_candidate(zones: Zones, catalog: Catalog) -> dict[str, Any] | None:
    """Stage the current warehouse build as a candidate release and run every gate on it.

    Returns None when there is nothing new: no build yet, no publications, or this build was already
    released. On success returns {"release_id", "build_id", "path", "passed": True, "publications"};
    the candidate waits at releases/_tmp-<release_id>/ for publish_candidate(). Raises GateFailed
    (candidate moved to releases/_rejected/<release_id>/) when a gate fails.

    While another run's audited candidate waits for its publish (a scheduled run and a manual one
    overlapping), this waits for it to be published, at most PENDING_LEASE_S after its audit; then it
    takes the candidate for a crashed run's leftover and removes it.
    """
    waited_for = None
    started = time.monotonic()
    while True:
        with _publisher_lock(zones):
            pending = _pending_candidate(zones)
            if pending is None:
                if waited_for is not None:
                    log.info("waited %.1f s for candidate %s of another publish run", time.monotonic() - started, waited_for)
                return _audit_locked(zones, catalog)
        if pending[0] != waited_for:
            waited_for = pending[0]
            log.warning(
                "another publish run audited candidate %s %.0f s ago and has not published it yet: waiting for it "
                "(at most %.0f s more, then it is taken for a crashed run's leftover)",
                pending[0], pending[1], PENDING_LEASE_S - pending[1],
            )  # fmt: skip
        time.sleep(PENDING_POLL_S)


def _audit_locked(zones: Zones, catalog: Catalog) -> dict[str, Any] | None:
    """audit_candidate under the publisher lock, with no other run's candidate pending."""
    found = _current_build(zones)
    if found is None:
        log.info("no warehouse build at %s: nothing to release", zones.warehouse / "current")
        return None
    build_dir, build = found
    build_id = build["build_id"]
    for released in list_releases(zones):
        if released.get("build_id") == build_id:
            state = "current" if released["current"] else "not current; use rollback to re-point"
            log.info("build %s is already release %s (%s): nothing new", build_id, released["release_id"], state)
            return None
    publications, waiting = _releasable(catalog, build_dir, build)
    for entry, reason in waiting:
        log.warning("%s is not in this release: %s", entry.id, reason)
    if not publications:
        log.warning("no publication can be released from build %s: nothing to release", build_id)
        return None

    # Leftover candidates were never published (a crash, or audit without publish; see _pending_candidate).
    for stale in zones.releases.glob(f"{TMP_PREFIX}*"):
        log.warning("removing unpublished candidate %s", stale.name)
        shutil.rmtree(stale)
    created = _now()
    release_id = _release_id(build_id, created)
    candidate = zones.releases / f"{TMP_PREFIX}{release_id}"
    (candidate / "validation").mkdir(parents=True)
    previous = current_release(zones)

    failures: list[str] = []
    gates: dict[str, dict[str, str]] = {"quality": {}, "metadata": {}, "privacy": {}}
    privacy_manifest: dict[str, dict[str, Any]] = {"suppressed": {}, "suppression": {}}
    reports = []
    rows: dict[str, int] = {}
    # GX's import (seconds) runs on a thread while every publication's files are written and
    # scanned; the GX suites run after, on the staged tables (published marts: small aggregates).
    import_gx_in_background()
    staged = []
    for entry in publications:
        privacy: dict[str, Any] = {}
        quality, metadata, table = _stage_publication(entry, build_dir, build, candidate, previous, release_id, privacy)
        staged.append((entry, privacy, quality, metadata, table))
    for entry, privacy, quality, metadata, table in staged:
        report = None
        if table is not None:
            suite_failures, report = _quality_gate(entry, table, candidate, previous)
            quality += suite_failures
            rows[f"{entry.id}.csv"] = rows[f"{entry.id}.json"] = rows[f"{entry.id}.parquet"] = table.num_rows
        gates["quality"][entry.id] = "fail" if quality else "pass"
        gates["metadata"][entry.id] = "fail" if metadata else "pass"
        gates["privacy"][entry.id] = "not run" if not privacy else "fail" if privacy["failures"] else "pass"
        if privacy.get("suppressed") is not None:
            privacy_manifest["suppressed"][entry.id] = privacy["suppressed"]
            privacy_manifest["suppression"][entry.id] = privacy["suppression"]
        failures += quality + metadata + privacy.get("failures", [])
        if report is not None:
            reports.append(report)
    write_durably(
        candidate / "validation" / "index.html",
        render_quality_report(reports, title=f"Laporan kualitas data, rilis {release_id}").encode("utf-8"),
    )

    files = {}
    for path in sorted(p for p in candidate.rglob("*") if p.is_file()):
        name = path.relative_to(candidate).as_posix()
        files[name] = _file_entry(path, rows.get(name))
    manifest = {
        "release_id": release_id,
        "build_id": build_id,
        "created_at": created.isoformat(timespec="seconds"),
        "source_batches": build.get("inputs", {}),
        "code_version": _code_version(),
        "publications": [entry.id for entry in publications],
        "files": files,
        "gates": gates,
        "privacy": privacy_manifest,
        "failures": failures,
        "passed": not failures,
    }
    if not failures:
        # The catalogs and the portal describe exactly these files; written before manifest.json,
        # so its sha256 list covers them and they move with the release in its one rename.
        manifest["files"].update(write_release_catalogs(candidate, manifest, catalog))
        render_portal(candidate, manifest, catalog)
        for path in sorted((candidate / "portal").rglob("*")):
            if path.is_file():
                manifest["files"][path.relative_to(candidate).as_posix()] = _file_entry(path, None)
        manifest["files"] = dict(sorted(manifest["files"].items()))
    _write_json(candidate / "manifest.json", manifest)
    fsync_tree(candidate)

    if failures:
        rejected = _reject(zones, candidate, release_id)
        log.error("release %s rejected: %d failed check(s)", release_id, len(failures))
        raise GateFailed(release_id, failures, rejected)
    log.info("release candidate %s passed every gate (%d publication(s))", release_id, len(publications))
    return {
        "release_id": release_id,
        "build_id": build_id,
        "path": str(candidate),
        "passed": True,
        "publications": manifest["publications"],
    }


# --- Publish, rollback ------------------------------------------------------------------------------


def _point_current(zones: Zones, release_id: str) -> None:
    """Swap releases/current to <release_id> in one step: a new symlink, then os.replace over the old."""
    swap_symlink(zones.releases / CURRENT, release_id)

def _verify(release_dir: Path, manifest: dict[str, Any]) -> None:
    for name, info in manifest.get("files", {}).items():
        path = release_dir / name
        if not path.is_file() or sha256_file(path) != info["sha256"]:
            raise ReleaseError(f"{release_dir.name}: {name} is missing or does not match its sha256 in manifest.json")


def _prune(folder: Path, *, keep: int, protect: str | None) -> None:
    if not folder.is_dir():
        return
    dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and RELEASE_ID_RE.match(p.name))
    for old in dirs[:-keep] if len(dirs) > keep else []:
        if old.name != protect:
            log.info("pruning old release %s", old)
            shutil.rmtree(old)


def publish_candidate(zones: Zones, release_id: str) -> dict[str, Any]:
    """Commit an audited candidate as releases/<release_id>/ and make it current; returns its manifest.

    Safe to call again after a crash between the rename and the swap. Keeps the newest
    KEEP_RELEASES releases (never the current one).
    """
    if not RELEASE_ID_RE.match(release_id):
        raise ReleaseError(f"'{release_id}' is not a release id (expected %Y%m%dT%H%M%SZ-<8 hex>)")
    with _publisher_lock(zones):
        candidate = zones.releases / f"{TMP_PREFIX}{release_id}"
        final = zones.releases / release_id
        if candidate.is_dir():
            manifest = _read_json(candidate / "manifest.json")
            if not manifest or manifest.get("passed") is not True:
                raise ReleaseError(
                    f"{candidate}: the candidate has no passing manifest.json; run audit_candidate first"
                )
            if final.exists():
                raise ReleaseError(f"{final} already exists: release ids are never reused")
            _verify(candidate, manifest)
            fsync_tree(candidate)
            os.rename(candidate, final)
            fsync_dir(zones.releases)
        elif final.is_dir():
            log.warning("release %s was committed but not made current (an earlier crash): finishing", release_id)
            manifest = _read_json(final / "manifest.json") or {}
            _verify(final, manifest)
        else:
            raise ReleaseError(f"no candidate {candidate.name} under {zones.releases}: run audit_candidate first")
        _point_current(zones, release_id)
        _prune(zones.releases, keep=KEEP_RELEASES, protect=release_id)
        log.info("published release %s (build %s)", release_id, manifest.get("build_id"))
        return manifest


def _check_published(zones: Zones, release_id: str) -> None:
    known = [path.name for path in _release_dirs(zones)]
    if release_id not in known:
        raise ReleaseError(f"unknown release '{release_id}' (published: {', '.join(known) or 'none'})")


def rollback(zones: Zones, release_id: str) -> dict[str, Any]:
    """Point releases/current at an earlier published release, in one step; returns its manifest."""
    _check_published(zones, release_id)  # before the lock: an unknown id leaves no releases/.lock behind
    with _publisher_lock(zones):
        _check_published(zones, release_id)  # again: a publisher may have pruned it meanwhile
        manifest = _read_json(zones.releases / release_id / "manifest.json")
        if not manifest or manifest.get("passed") is not True:
            raise ReleaseError(f"release '{release_id}' has no passing manifest.json")
        _verify(zones.releases / release_id, manifest)
        _point_current(zones, release_id)
        log.warning("rolled back: releases/current -> %s (build %s)", release_id, manifest.get("build_id"))
        return manifest
