"""The ways an agency's change arrives, each ending in a new release under the real scheduler.

    asset_event  the agency's system posts an event with its own token (no admin, no watcher)
    message      a "dataset changed" message on NATS JetStream; also while the triggerer is down
    schedule     a poll every few seconds: unchanged data runs nothing downstream, a change one release
    poll         the triggerer probes DPMD's database (SQLite stand-in): unchanged data starts no run at all
    file_drop    tests/orchestration/test_real_scheduler.py

Each real-scheduler test starts its own platform with a catalog variant (SATUDATA_CATALOG_DIR) in
which disdik__sekolah (dpmd__dana_desa for poll) has that trigger. The fast tests at the top check how the DAG file turns
each trigger into a schedule.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import signal
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest

from ingestion.catalog import Catalog, DatasetEntry, Trigger, load_catalog
from ingestion.zones import Zones
from orchestration import agency_tokens, broker
from orchestration.airflow_env import DAGS_FOLDER
from orchestration.chain import asset_names
from orchestration.platform import Platform
from tests.orchestration.scheduler_support import (
    CHAIN,
    CHAIN_SECONDS,
    STARTUP_SECONDS,
    PlatformFactory,
    at,
    catalog_variant,
    current_release,
    dag_runs,
    dags_ready,
    finished_runs,
    releases,
    stop_component,
    wait_for,
)

log = logging.getLogger(__name__)

DATASET = "disdik__sekolah"
WORKBOOK = "sekolah_2019.xlsx"
BROKER_CONN = "satudata_broker"


# --- how the DAG file schedules each trigger (fast, no scheduler) -------------------------------------

def _dag_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("satudata_dags_arrival", DAGS_FOLDER / "satudata.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ingest_dag(catalog: Catalog, trigger: Trigger):
    original = catalog.dataset(DATASET)
    spec = original.spec.model_copy(update={"trigger": trigger})
    return _dag_module()._ingest_dag(DatasetEntry(original.agency, original.name, spec, original.path), Zones.from_env())


@pytest.mark.parametrize(("every", "expected"), [("30s", timedelta(seconds=30)), ("5m", timedelta(minutes=5)),
                                                 ("1h", timedelta(hours=1)), ("2d", timedelta(days=2))])
def test_an_interval_schedule_polls_every_so_often(zones: Zones, catalog: Catalog, every: str, expected: timedelta) -> None:
    dag = _ingest_dag(catalog, Trigger(by="schedule", schedule=every))
    assert type(dag.timetable).__name__ == "DeltaTriggerTimetable"
    assert dag.timetable.delta == expected
    assert asset_names(getattr(dag.timetable, "asset_condition", None)) == set()


def test_a_cron_schedule_stays_a_cron(zones: Zones, catalog: Catalog) -> None:
    dag = _ingest_dag(catalog, Trigger(by="schedule", schedule="*/15 6-18 * * 1-5"))
    assert dag.timetable.expression == "*/15 6-18 * * 1-5"


def test_a_message_dataset_is_watched_on_the_broker(zones: Zones, catalog: Catalog) -> None:
    trigger = Trigger(by="message", connection="broker", stream="satudata.disdik.sekolah", poll_seconds=2)
    dag = _ingest_dag(catalog, trigger)
    (asset,) = dag.timetable.asset_condition.objects
    assert asset.name == f"message__{DATASET}"
    (watcher,) = asset.watchers
    assert watcher.trigger.serialize() == (
        "orchestration.triggers.BrokerMessageTrigger",
        {"conn_id": "broker", "stream": "satudata.disdik.sekolah", "dataset_id": DATASET, "poll_seconds": 2.0},
    )


def test_a_poll_dataset_is_watched_by_the_source_probe(zones: Zones, catalog: Catalog) -> None:
    original = catalog.dataset("dpmd__dana_desa")
    spec = original.spec.model_copy(update={"trigger": Trigger(by="poll", poll_seconds=30)})
    dag = _dag_module()._ingest_dag(DatasetEntry(original.agency, original.name, spec, original.path), zones)
    (asset,) = dag.timetable.asset_condition.objects
    assert asset.name == "probe__dpmd__dana_desa"
    (watcher,) = asset.watchers
    assert watcher.trigger.serialize() == (
        "orchestration.triggers.SourceProbeTrigger", {"dataset_id": "dpmd__dana_desa", "poll_seconds": 30.0},
    )


@pytest.mark.parametrize(("by", "every", "timetable"), [("asset_event", "10s", "DeltaTriggerTimetable"),
                                                        ("file_drop", "0 * * * *", "CronTriggerTimetable")])
def test_reconcile_every_polls_besides_the_signal(zones: Zones, catalog: Catalog, by: str, every: str, timetable: str) -> None:
    dag = _ingest_dag(catalog, Trigger(by=by, reconcile_every=every))
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert type(dag.timetable.timetable).__name__ == timetable
    assert asset_names(dag.timetable.asset_condition) == {f"{'signal' if by == 'asset_event' else 'drop'}__{DATASET}"}


def test_agencies_that_post_events_get_an_op_user(tmp_path: Path) -> None:
    variant = catalog_variant(tmp_path / "catalog", DATASET, {"by": "asset_event"})
    assert agency_tokens.agency_users(load_catalog(variant)) == ["disdik"]
    assert agency_tokens.simple_auth_users("admin", variant) == "admin:admin,disdik:op"
    assert agency_tokens.simple_auth_users("admin", None) == "admin:admin"  # the shipped catalog: file drops only


# --- the real scheduler ------------------------------------------------------------------------------

def _write_workbook(zones: Zones, flipped: int = 0) -> None:
    """Disdik's list, with `flipped` negeri schools turned swasta (a change the published mart shows)."""
    from agency_systems.disdik import load_sekolah_reference, write_sekolah_workbook

    rows = [dict(r) for r in load_sekolah_reference()]
    for row in [r for r in rows if r["status"] == "N"][:flipped]:
        row["status"] = "S"
    zones.drop("disdik").mkdir(parents=True, exist_ok=True)
    write_sekolah_workbook(zones.drop("disdik") / WORKBOOK, rows)


def _batches(zones: Zones) -> list[str]:
    folder = zones.raw("disdik", "sekolah")
    return sorted(p.name for p in folder.glob("batch=*")) if folder.is_dir() else []


def _task_states(airflow: Platform, dag_id: str, token: str | None = None) -> list[str]:
    """The state of the DAG's single task in each of its runs, newest first."""
    states = []
    for run in dag_runs(airflow, dag_id, token):
        tis = airflow.get(f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances", token)["task_instances"]
        states += [ti["state"] for ti in tis]
    return states


def _assert_published(zones: Zones, count: int) -> None:
    published = releases(zones)
    assert len(published) == count, published
    assert current_release(zones) == published[-1]
    manifest = json.loads((zones.releases / "current" / "manifest.json").read_text())
    assert manifest["passed"] is True and manifest["release_id"] == published[-1]


@pytest.mark.scheduler
def test_rest_an_agency_posts_an_event_with_its_own_token(platform_factory: PlatformFactory, zones: Zones,
                                                          tmp_path: Path) -> None:
    variant = catalog_variant(tmp_path / "catalog", DATASET, {"by": "asset_event"})
    airflow = platform_factory(catalog_dir=variant)  # no ALL_ADMINS: every API call needs a token
    started = time.monotonic()
    airflow.wait_healthy(STARTUP_SECONDS)
    token = agency_tokens.issue_token(airflow.url, "disdik", agency_tokens.password(airflow.home, "disdik"))
    wait_for("the DAGs", airflow, STARTUP_SECONDS, lambda: dags_ready(airflow, CHAIN, token))
    asset_id = agency_tokens.asset_id(airflow.url, token, f"signal__{DATASET}")

    # Without a token, or with a forged one, the API refuses the event.
    for forged in (None, token[:-4] + "AAAA"):
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {forged}"} if forged else {})}
        request = urllib.request.Request(f"{airflow.url}/api/v2/assets/events", method="POST", headers=headers,
                                         data=json.dumps({"asset_id": asset_id}).encode())
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 (loopback)
        assert refused.value.code in (401, 403)

    _write_workbook(zones)  # no watcher on this dataset: nothing happens until the agency says so
    posted_at = time.time()
    event = agency_tokens.post_change(airflow.url, token, DATASET, file=f"drop/disdik/{WORKBOOK}")
    assert event["asset_id"] == asset_id and event["extra"]["file"] == f"drop/disdik/{WORKBOOK}"

    publish = wait_for("the release", airflow, CHAIN_SECONDS, lambda: finished_runs(airflow, "publish", token))
    for dag_id in CHAIN:
        runs = dag_runs(airflow, dag_id, token)
        assert [(r["run_type"], r["state"]) for r in runs] == [("asset_triggered", "success")], f"{dag_id}: {runs}"
    _assert_published(zones, 1)
    assert len(_batches(zones)) == 1
    log.warning("REST: post -> release %.1f s (platform start %.1f s)",
                at(publish[0]["end_date"]) - posted_at, time.monotonic() - started)


@pytest.mark.scheduler
def test_message_every_change_arrives_also_while_the_triggerer_is_down(platform_factory: PlatformFactory,
                                                                       zones: Zones, tmp_path: Path) -> None:
    subject = f"satudata.test.{uuid.uuid4().hex[:12]}"
    conn_env = {f"AIRFLOW_CONN_{BROKER_CONN.upper()}": "nats://127.0.0.1:4222"}
    variant = catalog_variant(tmp_path / "catalog", DATASET,
                              {"by": "message", "connection": BROKER_CONN, "stream": subject, "poll_seconds": 1})
    airflow = platform_factory(catalog_dir=variant, extra_env={
        **conn_env,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # test only: read the API without a token
    })
    try:
        with pytest.MonkeyPatch.context() as env:
            for key, value in conn_env.items():
                env.setenv(key, value)  # the agency's side (this process) publishes to the same broker
            _message_scenario(airflow, zones, subject)
    finally:
        asyncio.run(_delete_stream(subject, conn_env))


def _message_scenario(airflow: Platform, zones: Zones, subject: str) -> None:
    airflow.wait_healthy(STARTUP_SECONDS)
    wait_for("the DAGs", airflow, STARTUP_SECONDS, lambda: dags_ready(airflow))
    wait_for("the broker watcher", airflow, 60, lambda: _consumer_exists(subject))

    _write_workbook(zones)
    sent_at = time.time()
    broker.publish_change(BROKER_CONN, subject, DATASET, file=f"drop/disdik/{WORKBOOK}")
    first = wait_for("the first release", airflow, CHAIN_SECONDS, lambda: finished_runs(airflow, "publish"))
    _assert_published(zones, 1)
    log.warning("message: publish -> release %.1f s", at(first[0]["end_date"]) - sent_at)

    # The triggerer goes down; the agency changes its list and says so three times meanwhile.
    stopping = time.monotonic()
    stop_component(airflow, "triggerer")
    log.warning("message: triggerer stopped in %.1f s", time.monotonic() - stopping)
    _write_workbook(zones, flipped=3)
    for n in range(3):
        broker.publish_change(BROKER_CONN, subject, DATASET, n=n)
        time.sleep(0.3)
    time.sleep(3)
    assert len(dag_runs(airflow, "ingest__disdik__sekolah")) == 1  # nobody listened...
    assert asyncio.run(_consumer_state(subject)) == (3, 0)  # ...and the broker kept all three

    restarted_at = time.time()
    airflow.start_component("triggerer")
    second = wait_for("the second release", airflow, CHAIN_SECONDS,
                      lambda: (runs := finished_runs(airflow, "publish")) and len(runs) >= 2 and runs)
    _assert_published(zones, 2)
    assert len(_batches(zones)) == 2  # no batch processed twice
    wait_for("every message acknowledged", airflow, 30, lambda: asyncio.run(_consumer_state(subject)) == (0, 0))
    ingests = dag_runs(airflow, "ingest__disdik__sekolah")
    assert {r["run_type"] for r in ingests} == {"asset_triggered"} and {r["state"] for r in ingests} == {"success"}
    log.warning("message: triggerer restart -> release %.1f s; %d ingest runs for 4 messages",
                at(second[0]["end_date"]) - restarted_at, len(ingests))


async def _consumer_state(subject: str) -> tuple[int, int]:
    nc = await broker.connect(BROKER_CONN)
    try:
        info = await nc.jetstream().consumer_info(broker.stream_name(subject), broker.consumer_name(DATASET))
        return int(info.num_pending), int(info.num_ack_pending)
    finally:
        await nc.close()


def _consumer_exists(subject: str) -> bool:
    try:
        asyncio.run(_consumer_state(subject))
    except Exception:  # noqa: BLE001 - not created yet
        return False
    return True


async def _delete_stream(subject: str, conn_env: dict[str, str]) -> None:
    import nats

    nc = await nats.connect(next(iter(conn_env.values())))
    try:
        await nc.jetstream().delete_stream(broker.stream_name(subject))
    except Exception:  # noqa: BLE001 - never created
        pass
    await nc.close()


@pytest.mark.scheduler
def test_schedule_unchanged_data_runs_nothing_downstream(platform_factory: PlatformFactory, zones: Zones,
                                                         tmp_path: Path) -> None:
    variant = catalog_variant(tmp_path / "catalog", DATASET, {"by": "schedule", "schedule": "5s"})
    _write_workbook(zones)  # already there when the first poll comes
    airflow = platform_factory(catalog_dir=variant, extra_env={"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"})
    airflow.wait_healthy(STARTUP_SECONDS)
    wait_for("the first release", airflow, STARTUP_SECONDS + CHAIN_SECONDS, lambda: finished_runs(airflow, "publish"))
    _assert_published(zones, 1)

    # Polls over unchanged data: each ingest is skipped, and nothing downstream runs.
    wait_for("two polls that found nothing new", airflow, 90,
             lambda: _task_states(airflow, "ingest__disdik__sekolah").count("skipped") >= 2)
    assert len(dag_runs(airflow, "build_warehouse")) == 1
    assert len(dag_runs(airflow, "publish")) == 1

    changed_at = time.time()
    _write_workbook(zones, flipped=2)
    second = wait_for("the release of the change", airflow, CHAIN_SECONDS,
                      lambda: (runs := finished_runs(airflow, "publish")) and len(runs) >= 2 and runs)
    _assert_published(zones, 2)
    assert len(_batches(zones)) == 2
    assert len(dag_runs(airflow, "build_warehouse")) == 2  # exactly one build for the one change
    ingests = dag_runs(airflow, "ingest__disdik__sekolah")
    assert {r["run_type"] for r in ingests} == {"scheduled"}
    log.warning("schedule: change -> release %.1f s over %d polls", at(second[0]["end_date"]) - changed_at, len(ingests))
    stop_component(airflow, "scheduler", signal.SIGTERM)  # no poll while the fixture stops the rest


@pytest.mark.scheduler
def test_poll_the_triggerer_probes_the_database_and_unchanged_data_starts_nothing(
    platform_factory: PlatformFactory, zones: Zones, tmp_path: Path
) -> None:
    from agency_systems import dpmd

    dataset, ingest = "dpmd__dana_desa", "ingest__dpmd__dana_desa"
    conn_env = dpmd.write_demo(zones)  # the SQLite stand-in of DPMD's MariaDB, as `make run` serves it
    variant = catalog_variant(tmp_path / "catalog", dataset, {"by": "poll", "poll_seconds": 1})
    airflow = platform_factory(catalog_dir=variant, extra_env={
        **conn_env, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
    })
    airflow.wait_healthy(STARTUP_SECONDS)
    # A fresh triggerer fires once: the first ingest loads the table, and the chain publishes it.
    wait_for("the first release", airflow, STARTUP_SECONDS + CHAIN_SECONDS, lambda: finished_runs(airflow, "publish"))
    _assert_published(zones, 1)

    time.sleep(6)  # ~6 probes over unchanged data: no DAG run at all, not even a skipped one
    assert len(dag_runs(airflow, ingest)) == 1
    assert len(dag_runs(airflow, "build_warehouse")) == 1

    database = Path(conn_env[dpmd.CONNECTION_ENV].removeprefix("sqlite:///"))
    changed_at = time.time()
    with sqlite3.connect(database) as db:  # a desa reports tahap II: the application bumps updated_at
        db.execute("UPDATE dana_desa SET realisasi_tahap_2 = 100000000.00, updated_at = '2026-07-01 10:00:00' "
                   "WHERE id = (SELECT min(id) FROM dana_desa WHERE tahun_anggaran = 2026 AND realisasi_tahap_2 IS NULL)")
    second = wait_for("the release of the change", airflow, CHAIN_SECONDS,
                      lambda: (runs := finished_runs(airflow, "publish")) and len(runs) >= 2 and runs)
    _assert_published(zones, 2)
    assert len(list(zones.raw("dpmd", "dana_desa").glob("batch=*"))) == 2
    ingests = dag_runs(airflow, ingest)
    assert [(r["run_type"], r["state"]) for r in ingests] == [("asset_triggered", "success")] * 2
    log.warning("poll: change -> release %.1f s", at(second[0]["end_date"]) - changed_at)
