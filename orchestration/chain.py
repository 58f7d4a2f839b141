"""The in-process chain runner behind `satudata run`: the DAGs of `dags/`, walked along their Assets.

`dag.test()` runs one DAG in this process and records the asset events its tasks emit, but never
starts the DAGs scheduled on those assets. So the runner derives the order from the same DAG
definitions the scheduler uses (producers: task outlets; consumers: the DAG's asset condition),
starts the root DAGs (the ingests) unconditionally, and runs a consumer only when its asset
condition is met by events emitted during this walk. A skipped task emits nothing, so nothing
downstream of "nothing new" runs.

Needs an Airflow metadata DB: call `orchestration.airflow_env.activate()` before Airflow is imported
(`run_chain` does it when nothing has imported Airflow yet).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestion.zones import Zones
from orchestration import airflow_env

if TYPE_CHECKING:
    from airflow.sdk import DAG

log = logging.getLogger(__name__)

ERROR_XCOM_KEY = "error"  # pushed by the DAGs' failure callback: the exception of a failed task


class ChainError(RuntimeError):
    """The DAG folder does not load, or its asset graph has a cycle."""


@dataclass
class TaskOutcome:
    state: str  # success, failed, skipped, upstream_failed, ...
    value: Any = None  # the task's return value (XCom)
    error: str | None = None  # "<ExceptionType>: <message>" of a failed task


@dataclass
class DagOutcome:
    dag_id: str
    state: str  # the DagRun state, or "not_triggered" when no asset event called for it
    seconds: float = 0.0
    tasks: dict[str, TaskOutcome] = field(default_factory=dict)
    emitted: list[str] = field(default_factory=list)  # assets that got an event from this run

    @property
    def errors(self) -> dict[str, str]:
        return {task_id: t.error or t.state for task_id, t in self.tasks.items() if t.state == "failed"}


@dataclass
class ChainRun:
    dags: list[DagOutcome]
    seconds: float

    @property
    def failed(self) -> list[DagOutcome]:
        return [d for d in self.dags if d.state == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def dag(self, dag_id: str) -> DagOutcome:
        for outcome in self.dags:
            if outcome.dag_id == dag_id:
                return outcome
        raise KeyError(dag_id)


# --- the asset graph ------------------------------------------------------------------------------

def asset_names(condition: Any) -> set[str]:
    """Names of the assets in an asset condition (Asset, AssetAny, AssetAll, nested)."""
    if condition is None:
        return set()
    if hasattr(condition, "objects"):  # the SDK's AssetAny/AssetAll
        return set().union(*(asset_names(obj) for obj in condition.objects))
    name = getattr(condition, "name", None)
    return {name} if name else set()


def condition_met(condition: Any, fresh: set[str]) -> bool:
    """Whether the assets that got events (`fresh`) satisfy the condition, as the scheduler would."""
    from airflow.sdk import AssetAll

    if hasattr(condition, "objects"):
        results = [condition_met(obj, fresh) for obj in condition.objects]
        return all(results) if isinstance(condition, AssetAll) else any(results)
    return getattr(condition, "name", None) in fresh


def consumed_assets(dag: DAG) -> set[str]:
    return asset_names(getattr(dag.timetable, "asset_condition", None))


def produced_assets(dag: DAG) -> set[str]:
    return {name for task in dag.tasks for outlet in task.outlets for name in asset_names(outlet)}


def chain_order(dags: dict[str, DAG]) -> list[str]:
    """DAG ids, producers before their consumers (ties by id); raises ChainError on a cycle."""
    producers: dict[str, set[str]] = {}
    for dag_id, dag in dags.items():
        for name in produced_assets(dag):
            producers.setdefault(name, set()).add(dag_id)
    upstream = {
        dag_id: {p for name in consumed_assets(dag) for p in producers.get(name, ())} - {dag_id}
        for dag_id, dag in dags.items()
    }
    order: list[str] = []
    while len(order) < len(dags):
        ready = sorted(d for d, ups in upstream.items() if d not in order and ups <= set(order))
        if not ready:
            stuck = sorted(set(dags) - set(order))
            raise ChainError(f"the asset graph of the DAGs has a cycle among: {', '.join(stuck)}")
        order.extend(ready)
    return order


def root_dags(dags: dict[str, DAG]) -> set[str]:
    """DAGs no other DAG feeds: their schedule is a drop folder, an external signal or a cron."""
    produced = set().union(*(produced_assets(dag) for dag in dags.values()))
    return {dag_id for dag_id, dag in dags.items() if not consumed_assets(dag) & produced}


def load_dags(dags_folder: Path = airflow_env.DAGS_FOLDER) -> dict[str, DAG]:
    """Parse the DAG folder as the dag-processor would; raises ChainError on import errors."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        details = "\n".join(f"{path}: {err}" for path, err in bag.import_errors.items())
        raise ChainError(f"the DAG folder {dags_folder} does not load:\n{details}")
    return dict(bag.dags)


# --- running ----------------------------------------------------------------------------------------

def _outcome(dag_id: str, dag_run: Any, seconds: float) -> DagOutcome:
    """Read back what a `dag.test()` run did: task states, return values, errors, asset events."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    outcome = DagOutcome(dag_id, str(dag_run.state), seconds)
    with create_session() as session:
        for ti in dag_run.get_task_instances(session=session):
            outcome.tasks[ti.task_id] = TaskOutcome(str(ti.state))
        xcoms = session.scalars(
            select(XComModel).where(XComModel.dag_id == dag_id, XComModel.run_id == dag_run.run_id)
        )
        for xcom in xcoms:
            task = outcome.tasks.setdefault(xcom.task_id, TaskOutcome("unknown"))
            value = XComModel.deserialize_value(xcom)
            if xcom.key == "return_value":
                task.value = value
            elif xcom.key == ERROR_XCOM_KEY:
                task.error = str(value)
        events = session.execute(
            select(AssetModel.name)
            .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == dag_run.run_id)
        )
        outcome.emitted = sorted({name for (name,) in events})
    return outcome


def run_dag(dag: DAG) -> DagOutcome:
    started = time.perf_counter()
    dag_run = dag.test()
    outcome = _outcome(dag.dag_id, dag_run, time.perf_counter() - started)
    log.info(
        "%s: %s in %.1f s (%s)%s",
        dag.dag_id,
        outcome.state,
        outcome.seconds,
        ", ".join(f"{task_id} {t.state}" for task_id, t in outcome.tasks.items()),
        f" -> {', '.join(outcome.emitted)}" if outcome.emitted else "",
    )
    for task_id, error in outcome.errors.items():
        log.error("%s.%s failed: %s", dag.dag_id, task_id, error)
    return outcome


def walk(dags: dict[str, DAG], start: Iterable[str]) -> list[DagOutcome]:
    """Run `start` DAGs, then every DAG whose asset condition the emitted events satisfy, in order."""
    started = set(start)
    fresh: set[str] = set()
    outcomes = []
    for dag_id in chain_order(dags):
        dag = dags[dag_id]
        condition = getattr(dag.timetable, "asset_condition", None)
        if dag_id in started or (condition is not None and condition_met(condition, fresh)):
            outcome = run_dag(dag)
            fresh |= set(outcome.emitted)
        else:
            outcome = DagOutcome(dag_id, "not_triggered")
            log.info("%s: not triggered (no new event on %s)", dag_id, ", ".join(sorted(consumed_assets(dag))))
        outcomes.append(outcome)
    return outcomes


def run_chain(zones: Zones | None = None, *, dags_folder: Path = airflow_env.DAGS_FOLDER) -> ChainRun:
    """Run the whole platform once, in this process: every ingest, then whatever their events call for."""
    zones = zones or Zones.from_env()
    started = time.perf_counter()
    home = airflow_env.activate(zones)
    airflow_env.ensure_db(home)
    dags = load_dags(dags_folder)
    outcomes = walk(dags, root_dags(dags))
    return ChainRun(outcomes, time.perf_counter() - started)
