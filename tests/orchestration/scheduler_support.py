"""Helpers of the real-scheduler tests (the `platform_factory` fixture is in conftest.py).

`stop_component` stops one component (the triggerer, the scheduler) of a running platform and
`Platform.start_component` starts it again, for tests of what survives that.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
import urllib.error
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ingestion.catalog import DEFAULT_CATALOG_DIR
from ingestion.zones import Zones
from orchestration.platform import COMPONENTS, Platform

log = logging.getLogger(__name__)

STARTUP_SECONDS = 180  # DB migration + four components on a busy 2-core machine
CHAIN_SECONDS = 180  # signal -> ingest -> build_warehouse -> publish, all asset-triggered
CHAIN = ["ingest__disdik__sekolah", "build_warehouse", "publish"]

# Test-only settings: quicker DAG discovery; a killed worker is noticed in a minute, not five.
TEST_ENV = {
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
}

PlatformFactory = Callable[..., Platform]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_dataset(dataset: str, source: Path = DEFAULT_CATALOG_DIR) -> dict[str, Any]:
    """The agency file of `dataset` (agency__name) with that dataset only, and the publications built from it alone."""
    import yaml

    agency, name = dataset.split("__", 1)
    data = yaml.safe_load((source / f"{agency}.yml").read_text(encoding="utf-8"))
    data["datasets"] = {name: data["datasets"][name]}
    data["publications"] = {pub: spec for pub, spec in (data.get("publications") or {}).items() if spec["sources"] == [name]}
    return data


def catalog_variant(target: Path, dataset: str, trigger: dict[str, Any], source: Path = DEFAULT_CATALOG_DIR) -> Path:
    """A catalog folder in `target` with `dataset` (agency__name) alone, with another `trigger`.

    One dataset keeps the scheduler tests about one dataset: the other agencies' systems are not running there.
    """
    import yaml

    agency, _ = dataset.split("__", 1)
    target.mkdir(parents=True, exist_ok=True)
    data = one_dataset(dataset, source)
    next(iter(data["datasets"].values()))["trigger"] = trigger
    (target / f"{agency}.yml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def stop_component(platform: Platform, name: str, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> None:
    """Stop one component's process group (SIGTERM: graceful; SIGKILL: a crash) and wait until it is gone."""
    pid = platform.running()[name]
    os.killpg(pid, sig)
    deadline = time.monotonic() + timeout
    while name in platform.running():
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.2)
    # Wait for the whole group (e.g. the triggerer's runner subprocess), not only its leader.
    while _group_alive(pid) and time.monotonic() < deadline + 10:
        time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    """Whether a live (non-zombie) process is left in the process group: a zombie leader we started counts as gone."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields after "(comm)": state, ppid, pgrp, ...
            return True
    return False


# --- talking to the running platform ---------------------------------------------------------------

def dag_runs(airflow: Platform, dag_id: str, token: str | None = None) -> list[dict]:
    return airflow.get(f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=100", token)["dag_runs"]


def wait_for(what: str, airflow: Platform, timeout: float, probe: Callable[[], Any],
             allow_down: set[str] | None = None, every: float = 1.0) -> Any:
    """Poll `probe()` until it returns something truthy; fail with the component logs on timeout."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        dead = set(COMPONENTS) - set(airflow.running()) - (allow_down or set())
        assert not dead, f"{dead} exited\n{airflow.logs()}"
        try:
            result = probe()
            if result:
                return result
        except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, ValueError) as exc:
            last_error = exc
        time.sleep(every)
    raise AssertionError(
        f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})\n{airflow.logs(tail=80)}"
    )


def dags_ready(airflow: Platform, dag_ids: list[str] = CHAIN, token: str | None = None) -> bool:
    dags = {d["dag_id"]: d for d in airflow.get("/api/v2/dags?limit=100", token)["dags"]}
    return all(dag_id in dags and not dags[dag_id]["is_paused"] for dag_id in dag_ids)


def finished_runs(airflow: Platform, dag_id: str, token: str | None = None) -> list[dict]:
    """The DAG's successful runs, newest first; fails the test at the first failed run."""
    runs = dag_runs(airflow, dag_id, token)
    for run in runs:
        if run["state"] == "failed":
            raise AssertionError(f"{dag_id} run {run['dag_run_id']} failed\n{airflow.logs()}")
    return [run for run in runs if run["state"] == "success"]


def at(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def releases(zones: Zones) -> list[str]:
    """Published release ids, oldest first."""
    if not zones.releases.is_dir():
        return []
    return sorted(p.name for p in zones.releases.iterdir() if p.is_dir() and not p.is_symlink() and p.name[0].isdigit())


def current_release(zones: Zones) -> str | None:
    current = zones.releases / "current"
    return os.readlink(current) if current.is_symlink() else None
