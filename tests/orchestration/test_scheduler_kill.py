"""The scheduler killed (SIGKILL) in the middle of a run, then restarted: the run completes, once.

The agency signals a new workbook through the REST API; as soon as a task of the chain is `running`
(polled every 0.2 s), the scheduler and every process under it (LocalExecutor workers, task
supervisors and the task processes, which sit in process groups of their own) get SIGKILL, as in
a power cut or the OOM killer. Only the scheduler is started again. The task it was running never
reported back, so the new scheduler must find it through the missing heartbeat, fail it and retry
it (the DAGs have retries=2). The end: the chain finished, one batch, no school twice, exactly one
new release.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ingestion.catalog import load_catalog
from ingestion.zones import Zones
from orchestration.platform import Platform
from tests.orchestration.scheduler_support import STARTUP_SECONDS, PlatformFactory, catalog_variant, wait_for

log = logging.getLogger(__name__)

pytestmark = pytest.mark.scheduler

DATASET = "disdik__sekolah"
CHAIN = [f"ingest__{DATASET}", "build_warehouse", "publish"]
SIGNAL_ASSET = f"signal__{DATASET}"
KILL_DURING = ("build_warehouse", "build_warehouse")  # (dag, task): the longest task, dbt in-process
CHAIN_SECONDS = 300  # signal -> publish, with a heartbeat timeout, a scheduler restart and a retry
HEARTBEAT_TIMEOUT = 20


# A task whose supervisor died is found after HEARTBEAT_TIMEOUT s without a heartbeat (default 300 s);
# queued task instances of the dead scheduler are reset once its job is 15 s stale.
KILL_ENV = {
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # test only: no token on the API
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "15",
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
}


def _api(airflow: Platform, method: str, path: str, body: dict | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{airflow.url}{path}", data=data, method=method, headers={
        "Accept": "application/json", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


def _dag_runs(airflow: Platform, dag_id: str) -> list[dict]:
    return _api(airflow, "GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=100")["dag_runs"]


def _task_instances(airflow: Platform, dag_id: str, task_id: str) -> list[dict]:
    return _api(airflow, "GET", f"/api/v2/dags/{dag_id}/dagRuns/~/taskInstances?task_id={task_id}")["task_instances"]


def _ready(airflow: Platform) -> int | None:
    """The signal asset's id once every DAG of the chain is parsed and unpaused."""
    dags = {d["dag_id"]: d for d in _api(airflow, "GET", "/api/v2/dags?limit=100")["dags"]}
    if not all(dag_id in dags and not dags[dag_id]["is_paused"] for dag_id in CHAIN):
        return None
    assets = _api(airflow, "GET", f"/api/v2/assets?name_pattern={SIGNAL_ASSET}")["assets"]
    return next((a["id"] for a in assets if a["name"] == SIGNAL_ASSET), None)


def _kill_tree(leader: int) -> list[int]:
    """SIGKILL a component's process group and every descendant (task processes have their own groups)."""
    killed: list[int] = []
    for _ in range(5):  # a worker may fork while we look: repeat until nothing is left
        try:
            tree = [psutil.Process(leader), *psutil.Process(leader).children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        tree += [p for p in psutil.process_iter() if _pgid(p.pid) == leader and p not in tree]
        if not tree:
            break
        for process in tree:
            try:
                process.send_signal(signal.SIGKILL)
                killed.append(process.pid)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(tree, timeout=5)
    return sorted(set(killed))


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def _alive_but_zombie(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_a_run_survives_a_killed_scheduler(platform_factory: PlatformFactory, zones: Zones, tmp_path: Path) -> None:
    from agency_systems.disdik import write_sekolah_workbook
    from ingestion.ledger import committed_batches
    from publication.release import current_release, list_releases
    from warehouse.build import current_build

    catalog_dir = catalog_variant(tmp_path / "catalog", DATASET, {"by": "asset_event"})
    entry = next(e for e in load_catalog(catalog_dir).datasets if e.id == DATASET)
    airflow = platform_factory(catalog_dir=catalog_dir, extra_env=KILL_ENV)
    airflow.wait_healthy(STARTUP_SECONDS)
    asset_id = wait_for("the DAGs and the signal asset", airflow, STARTUP_SECONDS, lambda: _ready(airflow))

    workbook = write_sekolah_workbook(zones.drop("disdik") / "sekolah.xlsx")
    _api(airflow, "POST", "/api/v2/assets/events", {"asset_id": asset_id, "extra": {"file": workbook.name}})

    dag_id, task_id = KILL_DURING
    victim = wait_for(f"{dag_id}.{task_id} running", airflow, CHAIN_SECONDS, every=0.2, probe=lambda: next(
        (ti for ti in _task_instances(airflow, dag_id, task_id) if ti["state"] == "running"), None))
    scheduler = airflow.running()["scheduler"]
    killed_at = time.monotonic()
    killed = _kill_tree(scheduler)
    assert scheduler in killed and len(killed) >= 3, killed  # the scheduler, its workers, the task
    assert _alive_but_zombie(killed) == [], "a process of the scheduler's tree survived SIGKILL"
    assert "scheduler" not in airflow.running()
    # Nobody told the metadata DB: the task still looks like it is running.
    still = next(ti for ti in _task_instances(airflow, dag_id, task_id) if ti["id"] == victim["id"])
    assert still["state"] == "running", still
    log.warning("killed the scheduler tree (%d processes) during %s.%s try %d",
                len(killed), dag_id, task_id, victim["try_number"])

    airflow.start_component("scheduler")

    def published() -> dict | None:
        for run in _dag_runs(airflow, "publish"):
            assert run["state"] != "failed", f"publish run {run['dag_run_id']} failed\n{airflow.logs(tail=80)}"
            if run["state"] == "success":
                return run
        return None

    wait_for("the chain to finish after the restart", airflow, CHAIN_SECONDS, published)
    recovered = time.monotonic() - killed_at

    # The killed task was failed by the heartbeat check and retried to success, in the same DAG run.
    tis = [ti for ti in _task_instances(airflow, dag_id, task_id) if ti["dag_run_id"] == victim["dag_run_id"]]
    assert len(tis) == 1 and tis[0]["state"] == "success", tis
    assert tis[0]["try_number"] > victim["try_number"], (victim, tis[0])
    for chain_dag in CHAIN:
        runs = _dag_runs(airflow, chain_dag)
        assert [r["state"] for r in runs] == ["success"], f"{chain_dag}: {runs}"

    ledger = committed_batches(zones, entry)
    assert len(ledger) == 1, ledger
    assert ledger[0]["source"]["sha256"] == hashlib.sha256(workbook.read_bytes()).hexdigest()
    data = pq.read_table(zones.raw("disdik", "sekolah") / f"batch={ledger[0]['batch_id']}" / "data.parquet")
    assert pc.count_distinct(data["npsn"]).as_py() == data.num_rows == 323
    build = current_build(zones)
    assert build is not None and build["inputs"] == {DATASET: [ledger[0]["batch_id"]]}

    releases = list_releases(zones)
    assert len(releases) == 1, [r["release_id"] for r in releases]
    current = current_release(zones)
    assert current is not None and current["release_id"] == releases[0]["release_id"]
    assert current["build_id"] == build["build_id"]
    mart = pq.read_table(zones.releases / "current" / "disdik__jumlah_sekolah_per_kecamatan.parquet")
    assert pc.sum(mart["jumlah_sekolah"]).as_py() == 323  # every school counted once
    leftovers = [p.name for p in zones.releases.iterdir() if p.name.startswith("_tmp-")]
    assert leftovers == []
    log.warning("scheduler killed during %s try %d -> chain done %.1f s later (try %d succeeded)",
                task_id, victim["try_number"], recovered, tis[0]["try_number"])
