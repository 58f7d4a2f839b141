"""The scheduler path, for real: api-server, scheduler, dag-processor and triggerer as processes.

A workbook dropped into drop/disdik/ must, with nobody pressing a button, be noticed by the
DropFolderTrigger (triggerer), ingested (asset-triggered run), built into the warehouse
(asset-triggered run) and published (asset-triggered run), ending in a new releases/current.
Everything listens on 127.0.0.1 only; every process started here is stopped at the end.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from ingestion.zones import Zones
from orchestration.platform import COMPONENTS, Platform
from orchestration.warm_workers import TASK_MODULES
from tests.orchestration.scheduler_support import wait_for

log = logging.getLogger(__name__)

pytestmark = pytest.mark.scheduler

STARTUP_SECONDS = 180  # DB migration + four components on a busy 2-core machine
CHAIN_SECONDS = 180  # drop -> ingest -> build_warehouse -> publish, all asset-triggered
CHAIN = ["ingest__disdik__sekolah", "build_warehouse", "publish"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def airflow(zones: Zones, tmp_path: Path) -> Iterator[Platform]:
    """The platform as `satudata up` starts it, in a private home and port, stopped at the end."""
    platform = Platform(zones, tmp_path / "airflow", port=_free_port(), extra_env={
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # test only: no login on the API
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
    })
    try:
        platform.start()
        yield platform
    finally:
        stopped = platform.stop()
        assert stopped == sorted(COMPONENTS)
        assert platform.running() == {}


def _dag_runs(airflow: Platform, dag_id: str) -> list[dict]:
    return airflow.get(f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after")["dag_runs"]


def _dags_ready(airflow: Platform) -> bool:
    dags = {d["dag_id"]: d for d in airflow.get("/api/v2/dags?limit=100")["dags"]}
    return all(dag_id in dags and not dags[dag_id]["is_paused"] for dag_id in CHAIN)


def _listening(port_of_interest: set[int] | None = None) -> list[tuple[str, int]]:
    """(address, port) of every listening IPv4/IPv6 TCP socket on this machine, from /proc/net."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port = local.rsplit(":", 1)
            if state == "0A" and (port_of_interest is None or int(port, 16) in port_of_interest):
                found.append((address, int(port, 16)))
    return found


def _finished_run(airflow: Platform, dag_id: str) -> dict | None:
    for run in _dag_runs(airflow, dag_id):
        if run["state"] == "failed":
            raise AssertionError(f"{dag_id} run {run['dag_run_id']} failed\n{airflow.logs()}")
        if run["state"] == "success":
            return run
    return None


def _at(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def test_a_dropped_workbook_is_published_by_the_scheduler(airflow: Platform, zones: Zones) -> None:
    from agency_systems.disdik import write_sekolah_workbook

    started = time.monotonic()
    airflow.wait_healthy(STARTUP_SECONDS)
    wait_for("the DAGs to be parsed and unpaused", airflow, STARTUP_SECONDS, lambda: _dags_ready(airflow))
    ready = time.monotonic()
    # Only the api-server listens, on loopback (serve-logs would bind 0.0.0.0:8793/8794).
    assert _listening({8793, 8794}) == []
    assert _listening({airflow.port}) == [("0100007F", airflow.port)]  # 127.0.0.1, little-endian hex
    assert not (zones.releases / "current").exists()

    drop = zones.drop("disdik")
    drop.mkdir(parents=True, exist_ok=True)
    dropped_at = time.time()
    write_sekolah_workbook(drop / "sekolah_2019.xlsx")

    publish_run = wait_for("a successful publish run", airflow, CHAIN_SECONDS, lambda: _finished_run(airflow, "publish"))
    done = time.monotonic()

    runs = {dag_id: _dag_runs(airflow, dag_id) for dag_id in CHAIN}
    for dag_id in CHAIN:
        assert [r["run_type"] for r in runs[dag_id]] == ["asset_triggered"], f"{dag_id}: {runs[dag_id]}"
        assert runs[dag_id][0]["state"] == "success", f"{dag_id}: {runs[dag_id][0]}"
    assert publish_run["run_type"] == "asset_triggered"

    current = zones.releases / "current"
    assert current.is_symlink()
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["passed"] is True
    assert manifest["release_id"] == os.readlink(current)
    published = [p for p in zones.releases.iterdir() if p.is_dir() and not p.is_symlink() and p.name[0].isdigit()]
    assert [p.name for p in published] == [manifest["release_id"]]

    # The scheduler imported the tasks' stacks before its LocalExecutor forked the workers.
    # and parsed the dbt project.
    assert f"warm workers: {len(TASK_MODULES) + 1} task modules imported, dbt project parsed" in \
        airflow.log_path("scheduler").read_text()

    ingest, build, publish = (runs[dag_id][0] for dag_id in CHAIN)
    log.warning(
        "real scheduler: components ready in %.1f s; drop -> ingest start %.1f s; ingest end -> build start %.1f s; "
        "build end -> publish start %.1f s; drop -> publish done %.1f s; whole test %.1f s",
        ready - started,
        _at(ingest["start_date"]) - dropped_at,
        _at(build["start_date"]) - _at(ingest["end_date"]),
        _at(publish["start_date"]) - _at(build["end_date"]),
        done - ready,
        time.monotonic() - started,
    )
