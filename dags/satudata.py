"""The platform's DAGs, generated from the catalog and chained by Assets.

    ingest__<agency>__<dataset>   one per catalog dataset: extract_load >> validate_raw; emits raw__<agency>__<dataset>
    build_warehouse               on any raw asset; emits warehouse
    publish                       on warehouse: audit >> publish; emits release

Parsing imports only the catalog reader, the zones and the Airflow SDK: each task imports its room
inside its body and calls one function. A task that finds nothing new raises AirflowSkipException,
so it emits no asset event and nothing downstream runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import (
    DAG,
    Asset,
    AssetAny,
    AssetOrTimeSchedule,
    AssetWatcher,
    CronTriggerTimetable,
    DeltaTriggerTimetable,
    task,
)

from ingestion.catalog import RELEASE_ASSET, WAREHOUSE_ASSET, DatasetEntry, FileSource, load_catalog
from ingestion.zones import Zones
from orchestration.triggers import BrokerMessageTrigger, DropFolderTrigger, SourceProbeTrigger

TIMEZONE = "Asia/Makassar"  # Paser keeps WITA (UTC+8)
START_DATE = pendulum.datetime(2025, 1, 1, tz=TIMEZONE)
TAGS = ["satudata"]


def _record_error(context: dict) -> None:
    """Failure callback: keep the task's exception as XCom `error`, which `satudata run` prints."""
    exc = context.get("exception")
    cause = exc.__cause__ if exc is not None and type(exc).__name__ == "AirflowFailException" and exc.__cause__ else exc
    context["ti"].xcom_push(key="error", value=f"{type(cause).__name__}: {cause}")


@contextmanager
def _no_retry_on(*errors: type[BaseException]) -> Iterator[None]:
    """Bad data is not a passing fault: fail at once (no retry) on these errors, keeping the cause."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except errors as exc:
        raise AirflowFailException(str(exc)) from exc


# Every task is idempotent (it reconciles from the ledger), so a retry after a crash is safe.
DEFAULT_ARGS = {"on_failure_callback": _record_error, "retries": 2, "retry_delay": timedelta(seconds=5)}


INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
INTERVAL_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _timetable(when: str) -> str | DeltaTriggerTimetable | CronTriggerTimetable:
    """An interval ("30s", "5m", "1h", "1d") runs every so often; anything else is a cron or a preset."""
    match = INTERVAL.match(when)
    if match:
        return DeltaTriggerTimetable(timedelta(**{INTERVAL_UNITS[match[2]]: int(match[1])}))
    return when


def _watched_assets(entry: DatasetEntry, zones: Zones) -> list[Asset]:
    """The asset an agency's signal lands on: by the drop-folder, broker or source-probe watcher, or posted over REST."""
    trigger = entry.spec.trigger
    if trigger.by == "file_drop":
        source = entry.spec.source
        assert isinstance(source, FileSource), f"{entry.id}: by: file_drop watches a file source"
        watcher = AssetWatcher(
            name=f"drop_folder__{entry.id}",
            trigger=DropFolderTrigger(
                data_dir=str(zones.root),
                agency=entry.agency.code,
                dataset=entry.name,
                pattern=source.pattern,
                poll_seconds=trigger.poll_seconds,
            ),
        )
        return [Asset(f"drop__{entry.id}", watchers=[watcher])]
    if trigger.by == "message":
        assert trigger.connection is not None and trigger.stream is not None  # the catalog reader guarantees them
        watcher = AssetWatcher(
            name=f"broker__{entry.id}",
            trigger=BrokerMessageTrigger(
                conn_id=trigger.connection, stream=trigger.stream, dataset_id=entry.id, poll_seconds=trigger.poll_seconds,
            ),
        )
        return [Asset(f"message__{entry.id}", watchers=[watcher])]
    if trigger.by == "poll":
        watcher = AssetWatcher(
            name=f"probe__{entry.id}",
            trigger=SourceProbeTrigger(dataset_id=entry.id, poll_seconds=trigger.poll_seconds),
        )
        return [Asset(f"probe__{entry.id}", watchers=[watcher])]
    # asset_event: an agency system posts to this asset through the REST API (POST /api/v2/assets/events).
    return [Asset(f"signal__{entry.id}")]


def _schedule(entry: DatasetEntry, zones: Zones) -> Any:
    """What starts an ingest: the agency's signal (asset events), a poll, or both (`reconcile_every`)."""
    trigger = entry.spec.trigger
    if trigger.by == "schedule":
        assert trigger.schedule is not None  # the catalog reader guarantees it for by == schedule
        return _timetable(trigger.schedule)
    assets = _watched_assets(entry, zones)
    if trigger.reconcile_every is None:
        return assets
    # Signals OR the clock: a lost signal only delays a change until the next poll.
    timetable = _timetable(trigger.reconcile_every)
    if isinstance(timetable, str):
        timetable = CronTriggerTimetable(timetable, timezone=TIMEZONE)
    return AssetOrTimeSchedule(timetable=timetable, assets=AssetAny(*assets))


def _ingest_dag(entry: DatasetEntry, zones: Zones) -> DAG:
    with DAG(
        dag_id=entry.ingest_dag_id,
        description=f"{entry.agency.abbreviation}: {entry.spec.title} -> raw Parquet zone",
        schedule=_schedule(entry, zones),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[*TAGS, "ingest", entry.agency.code],
        doc_md=f"Loads `{entry.id}` (owner: {entry.spec.owner}) into `raw/{entry.agency.code}/{entry.name}/`.",
    ) as dag:

        @task(task_id="extract_load")
        def extract_load() -> list[str]:
            """Land every new delivery as a committed batch; skip when there is nothing new."""
            from airflow.sdk.exceptions import AirflowSkipException

            from ingestion.errors import RejectedFile
            from ingestion.extract import extract_load as land

            with _no_retry_on(RejectedFile):
                manifests = land(entry, Zones.from_env())
            if not manifests:
                raise AirflowSkipException(f"{entry.id}: nothing new")
            return [manifest["batch_id"] for manifest in manifests]

        # The raw asset is emitted here, not by extract_load: "raw data arrived" means it passed the boundary.
        @task(task_id="validate_raw", outlets=[Asset(entry.raw_asset)])
        def validate_raw(batch_ids: list[str]) -> list[str]:
            """Check the new batches with the dataset's raw suite; a failed suite fails at once, naming the checks."""
            from publication.errors import SuiteError
            from publication.raw_quality import RawSuiteFailed, validate_new_batches

            with _no_retry_on(RawSuiteFailed, SuiteError):
                verdicts = validate_new_batches(Zones.from_env(), entry, batch_ids)
            return [verdict.batch_id for verdict in verdicts]

        validate_raw(extract_load())  # type: ignore[arg-type]  # TaskFlow hands over the XCom at run time
    return dag


def _build_warehouse_dag(raw_assets: list[Asset]) -> DAG:
    with DAG(
        dag_id="build_warehouse",
        description="dbt build of the warehouse from the raw zone",
        schedule=AssetAny(*raw_assets),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[*TAGS, "warehouse"],
    ) as dag:

        @task(task_id="build_warehouse", outlets=[Asset(WAREHOUSE_ASSET)])
        def build_warehouse() -> str:
            """Build a new warehouse from the raw ledger; skip when its inputs are unchanged."""
            from airflow.sdk.exceptions import AirflowSkipException

            from warehouse.build import BuildFailed
            from warehouse.build import build_warehouse as build

            with _no_retry_on(BuildFailed):
                result = build(Zones.from_env(), load_catalog())
            if result is None:
                raise AirflowSkipException("warehouse inputs unchanged")
            return str(result["build_id"])

        build_warehouse()
    return dag


def _publish_dag() -> DAG:
    with DAG(
        dag_id="publish",
        description="Gates (GX quality, SDI metadata) on the current warehouse, then the atomic release",
        schedule=[Asset(WAREHOUSE_ASSET)],
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[*TAGS, "publication"],
    ) as dag:

        @task(task_id="audit")
        def audit() -> str:
            """Build and gate a release candidate; skip when the current release is up to date."""
            from airflow.sdk.exceptions import AirflowSkipException

            from publication.release import GateFailed, audit_candidate

            with _no_retry_on(GateFailed):
                candidate = audit_candidate(Zones.from_env(), load_catalog())
            if candidate is None:
                raise AirflowSkipException("the current release is built from the current warehouse")
            return str(candidate["release_id"])

        @task(task_id="publish", outlets=[Asset(RELEASE_ASSET)])
        def publish(release_id: str) -> str:
            """Make the audited candidate the current release (one atomic symlink swap)."""
            from publication.release import publish_candidate

            manifest = publish_candidate(Zones.from_env(), release_id)
            return str(manifest.get("release_id", release_id))

        publish(audit())  # type: ignore[arg-type]  # TaskFlow hands over the XCom at run time
    return dag


def _generate() -> dict[str, DAG]:
    zones = Zones.from_env()
    datasets = load_catalog().datasets  # sorted by id
    dags = [_ingest_dag(entry, zones) for entry in datasets]
    dags.append(_build_warehouse_dag([Asset(entry.raw_asset) for entry in datasets]))
    dags.append(_publish_dag())
    return {dag.dag_id: dag for dag in dags}


# Airflow discovers DAGs among the module's globals.
globals().update(_generate())
