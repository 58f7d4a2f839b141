"""Messy events under the real scheduler: a change without a signal, a burst of signals, a duplicate signal.

One platform start runs three scenarios in turn on Disdik's school list, declared `by: asset_event`
(the agency posts to the Asset `signal__disdik__sekolah` through the REST API) with
`reconcile_every: 10s`. Each scenario ends with the same published content as one clean in-process
run on the last workbook (sha256 of the mart's CSV and Parquet), and no content is landed twice:

    (a) a workbook dropped with no signal at all is picked up by the next reconcile poll;
    (b) three workbooks written in a burst, one signal each (Airflow may merge them into fewer
        runs): the release ends equal to the last workbook, each content is at most one batch;
    (c) one change whose signal is delivered twice: one batch, one release.

Downstream work reconciles from the ledger, not from the event payload; these tests hold it to that.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ingestion.catalog import Catalog, load_catalog
from ingestion.zones import Zones
from orchestration.platform import Platform
from tests.orchestration.scheduler_support import (
    CHAIN,
    STARTUP_SECONDS,
    PlatformFactory,
    at,
    catalog_variant,
    dag_runs,
    dags_ready,
    wait_for,
)

log = logging.getLogger(__name__)

pytestmark = pytest.mark.scheduler

DATASET = "disdik__sekolah"
INGEST = f"ingest__{DATASET}"
SIGNAL_ASSET = f"signal__{DATASET}"
RECONCILE = "10s"
SETTLE_SECONDS = 300  # one scenario: ingest -> build (dbt) -> audit (GX) -> publish, maybe twice
WORKBOOK = "sekolah.xlsx"  # the agency replaces its export under the same name


# --- talking to the API ---------------------------------------------------------------------------


def api(airflow: Platform, method: str, path: str, body: dict | None = None) -> Any:
    """A call to the API without a token (the platform runs with SIMPLE_AUTH_MANAGER_ALL_ADMINS)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{airflow.url}{path}", data=data, method=method, headers={
        "Accept": "application/json", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


def signal_asset_id(airflow: Platform) -> int | None:
    assets = api(airflow, "GET", f"/api/v2/assets?name_pattern={SIGNAL_ASSET}")["assets"]
    return next((a["id"] for a in assets if a["name"] == SIGNAL_ASSET), None)


def post_signal(airflow: Platform, asset_id: int, extra: dict) -> dict:
    """What the agency's system does after an export: POST /api/v2/assets/events."""
    return api(airflow, "POST", "/api/v2/assets/events", {"asset_id": asset_id, "extra": extra})


def signal_events(airflow: Platform, asset_id: int) -> list[dict]:
    return api(airflow, "GET", f"/api/v2/assets/events?asset_id={asset_id}&limit=100")["asset_events"]


def failed_runs(airflow: Platform) -> list[str]:
    return [f"{r['dag_id']} {r['dag_run_id']}" for dag_id in CHAIN for r in dag_runs(airflow, dag_id)
            if r["state"] == "failed"]


def busy(airflow: Platform, dag_ids: list[str]) -> list[str]:
    return [f"{r['dag_id']} {r['dag_run_id']}" for dag_id in dag_ids for r in dag_runs(airflow, dag_id)
            if r["state"] in ("queued", "running")]


# --- the data ---------------------------------------------------------------------------------


def school_rows() -> list[dict]:
    from agency_systems.disdik import load_sekolah_reference

    return load_sekolah_reference()


def with_status_flipped(rows: list[dict], count: int) -> list[dict]:
    """The list with `count` negeri schools of one kecamatan and jenjang turned swasta: each count
    moves `count` schools between two cells of the published mart, so every count is its own content."""
    first = next(r for r in rows if r["status"] == "N")
    same_cell = [i for i, r in enumerate(rows) if r["status"] == "N"
                 and (r["kode_kec_kemdikbud"], r["bentuk"]) == (first["kode_kec_kemdikbud"], first["bentuk"])]
    assert len(same_cell) >= count, "the reference list has too few schools in one mart cell"
    flipped = [dict(r) for r in rows]
    for i in same_cell[:count]:
        flipped[i]["status"] = "S"
    return flipped


def with_address_changed(rows: list[dict], marker: str) -> list[dict]:
    """A new delivery (new bytes, new batch) whose published mart is unchanged: the address is not published."""
    changed = [dict(r) for r in rows]
    changed[0]["alamat_jalan"] = f"{changed[0].get('alamat_jalan') or ''} ({marker})"
    return changed


def write_workbook(zones: Zones, rows: list[dict], name: str = WORKBOOK) -> str:
    """Drop a workbook into drop/disdik/ as the agency does; returns its sha256 (the ledger's identity)."""
    from agency_systems.disdik import write_sekolah_workbook

    path = write_sekolah_workbook(zones.drop("disdik") / name, rows)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published(zones: Zones) -> dict[str, str]:
    """sha256 of each published CSV and Parquet file of the current release."""
    current = zones.releases / "current"
    if not current.is_dir():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(current.iterdir()) if p.suffix in (".csv", ".parquet")}


def reference_release(root: Path, catalog: Catalog, rows: list[dict]) -> dict[str, str]:
    """What one clean run publishes for this workbook: the chain's functions in-process, no scheduler."""
    from ingestion.extract import extract_load
    from publication.release import audit_candidate, publish_candidate
    from warehouse.build import build_warehouse

    zones = Zones(root)
    root.mkdir(parents=True)
    write_workbook(zones, rows)
    entry = next(e for e in catalog.datasets if e.id == DATASET)
    assert len(extract_load(entry, zones)) == 1
    assert build_warehouse(zones, catalog) is not None
    candidate = audit_candidate(zones, catalog)
    assert candidate is not None
    publish_candidate(zones, candidate["release_id"])
    files = published(zones)
    shutil.rmtree(root)
    return files


def batches(zones: Zones, catalog: Catalog) -> list[dict]:
    from ingestion.ledger import committed_batches

    return committed_batches(zones, next(e for e in catalog.datasets if e.id == DATASET))


def release_ids(zones: Zones) -> list[str]:
    from publication.release import list_releases

    return [r["release_id"] for r in list_releases(zones)]


def assert_ledger_clean(zones: Zones, catalog: Catalog) -> None:
    """Every batch once, every content once, every school once per batch, and the build read each batch once."""
    from warehouse.build import current_build

    ledger = batches(zones, catalog)
    ids = [b["batch_id"] for b in ledger]
    shas = [b["source"]["sha256"] for b in ledger]
    assert len(set(ids)) == len(ids), ids
    assert len(set(shas)) == len(shas), f"a content was landed twice: {shas}"
    for batch in ledger:
        table = pq.read_table(zones.raw("disdik", "sekolah") / f"batch={batch['batch_id']}" / "data.parquet",
                              columns=["npsn"])
        assert pc.count_distinct(table["npsn"]).as_py() == table.num_rows, f"duplicate npsn in {batch['batch_id']}"
    build = current_build(zones)
    assert build is not None
    inputs = build["inputs"][DATASET]
    assert sorted(inputs) == sorted(set(inputs)) == sorted(ids), (inputs, ids)


# --- the test ---------------------------------------------------------------------------------


def test_messy_events_end_as_one_clean_run(platform_factory: PlatformFactory, zones: Zones, tmp_path: Path) -> None:
    catalog_dir = catalog_variant(tmp_path / "catalog", DATASET, {"by": "asset_event", "reconcile_every": RECONCILE})
    catalog = load_catalog(catalog_dir)
    rows_a = school_rows()
    rows_burst = [with_status_flipped(rows_a, n) for n in (1, 2, 3)]
    rows_d = with_address_changed(rows_burst[-1], "dikirim ulang")
    # The references are built before the platform competes for the two cores.
    reference_a = reference_release(tmp_path / "reference-a", catalog, rows_a)
    reference_burst = reference_release(tmp_path / "reference-burst", catalog, rows_burst[-1])
    assert reference_a != reference_burst and len(reference_a) == 2

    airflow = platform_factory(catalog_dir=catalog_dir, extra_env={
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # test only: no token on the API
    })
    started = time.monotonic()
    airflow.wait_healthy(STARTUP_SECONDS)
    wait_for("the DAGs to be parsed and unpaused", airflow, STARTUP_SECONDS, lambda: dags_ready(airflow))
    asset_id = wait_for("the signal asset", airflow, STARTUP_SECONDS, lambda: signal_asset_id(airflow))
    dag = api(airflow, "GET", f"/api/v2/dags/{INGEST}")
    log.info("%s timetable: %s", INGEST, dag.get("timetable_summary") or dag.get("timetable_description"))

    def settled(expected: dict[str, str], since: float) -> bool:
        """The expected content is current, nothing is running, and a reconcile poll that started
        after that has finished (so a poll that would land something again has had its chance)."""
        if published(zones) != expected or busy(airflow, CHAIN):
            return False
        return any(r["run_type"] == "scheduled" and r["state"] == "success" and at(r["start_date"]) > since
                   for r in dag_runs(airflow, INGEST))

    def settle(what: str, expected: dict[str, str]) -> None:
        reached = wait_for(f"{what}: the expected release", airflow, SETTLE_SECONDS,
                           lambda: published(zones) == expected and time.time())
        wait_for(f"{what}: a quiet reconcile poll", airflow, SETTLE_SECONDS, lambda: settled(expected, reached))
        assert failed_runs(airflow) == []

    # (a) No signal at all: only the reconcile poll can notice the workbook.
    assert batches(zones, catalog) == [] and release_ids(zones) == []
    t0 = time.monotonic()
    sha_a = write_workbook(zones, rows_a)
    settle("(a) no signal", reference_a)
    assert [b["source"]["sha256"] for b in batches(zones, catalog)] == [sha_a]
    assert len(release_ids(zones)) == 1
    assert signal_events(airflow, asset_id) == []
    assert {r["run_type"] for r in dag_runs(airflow, INGEST)} == {"scheduled"}
    log.warning("(a) no signal -> picked up and published in %.1f s", time.monotonic() - t0)

    # (b) A burst: three exports in quick succession, one signal each.
    t0 = time.monotonic()
    releases_before = release_ids(zones)
    burst_shas = []
    for n, rows in enumerate(rows_burst, start=1):
        burst_shas.append(write_workbook(zones, rows))
        post_signal(airflow, asset_id, {"agency": "disdik", "file": WORKBOOK, "export": n})
    settle("(b) burst", reference_burst)
    new = [b["source"]["sha256"] for b in batches(zones, catalog)][1:]
    assert 1 <= len(new) <= 3 and set(new) <= set(burst_shas), (new, burst_shas)
    assert new[-1] == burst_shas[-1]
    new_releases = [r for r in release_ids(zones) if r not in releases_before]
    assert 1 <= len(new_releases) <= len(new)
    assert len(signal_events(airflow, asset_id)) == 3
    log.warning("(b) burst of 3 signals -> %d batch(es), %d release(s), %d asset-triggered ingest run(s), %.1f s",
                len(new), len(new_releases),
                sum(r["run_type"] == "asset_triggered" for r in dag_runs(airflow, INGEST)), time.monotonic() - t0)

    # (c) One change, its signal delivered twice (an agency retrying a POST whose answer it lost).
    t0 = time.monotonic()
    releases_before, batches_before = release_ids(zones), len(batches(zones, catalog))
    sha_d = write_workbook(zones, rows_d)
    duplicate = {"agency": "disdik", "file": WORKBOOK, "export": 4}
    post_signal(airflow, asset_id, duplicate)
    post_signal(airflow, asset_id, duplicate)
    # The address is not published, so the mart stays that of (b): wait for the new release first.
    wait_for("(c) the change published", airflow, SETTLE_SECONDS,
             lambda: len(batches(zones, catalog)) > batches_before and len(release_ids(zones)) > len(releases_before))
    settle("(c) duplicate signal", reference_burst)
    new = [b["source"]["sha256"] for b in batches(zones, catalog)][batches_before:]
    assert new == [sha_d]
    new_releases = [r for r in release_ids(zones) if r not in releases_before]
    assert len(new_releases) == 1
    from publication.release import current_release
    from warehouse.build import current_build

    current = current_release(zones)
    build = current_build(zones)
    assert current is not None and build is not None
    assert current["release_id"] == new_releases[0] and current["build_id"] == build["build_id"]
    assert batches(zones, catalog)[-1]["batch_id"] in build["inputs"][DATASET]
    assert len(signal_events(airflow, asset_id)) == 5
    log.warning("(c) one change signalled twice -> 1 batch, 1 release, %.1f s", time.monotonic() - t0)

    assert_ledger_clean(zones, catalog)
    log.warning("messy events: three scenarios in %.1f s after start", time.monotonic() - started)
