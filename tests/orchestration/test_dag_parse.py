"""The DAG file: parses fast, imports nothing heavy, and wires the DAGs by Assets as documented."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from types import ModuleType

import pytest

from ingestion.catalog import CATALOG_DIR_ENV, DEFAULT_CATALOG_DIR, RELEASE_ASSET, WAREHOUSE_ASSET, Catalog, DatasetEntry, Trigger
from ingestion.zones import Zones
from orchestration.airflow_env import DAGS_FOLDER
from orchestration.chain import asset_names, chain_order, consumed_assets, produced_assets, root_dags

DAG_FILE = DAGS_FOLDER / "satudata.py"
HEAVY = ("pandas", "duckdb", "great_expectations", "dbt", "pyarrow", "fastexcel", "xlsxwriter")
MAX_PARSE_SECONDS = 2.0

# Times the DAG file alone: Airflow itself is already imported in the dag-processor.
PARSE_PROBE = f"""
import json, sys, time, importlib.util
import airflow.sdk, airflow.triggers.base
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("satudata_dags_probe", {str(DAG_FILE)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({{"seconds": time.perf_counter() - started,
                  "heavy": [m for m in {HEAVY!r} if m in sys.modules],
                  "dags": sorted(k for k, v in vars(module).items() if type(v).__name__ == "DAG")}}))
"""


def _load_dag_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("satudata_dags_under_test", DAG_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dags() -> dict:
    # Module scope: set up before the orchestration tests' one-agency catalog, so every agency's DAGs.
    module = _load_dag_module()
    return {name: obj for name, obj in vars(module).items() if type(obj).__name__ == "DAG"}


def test_dag_file_parses_fast_and_imports_nothing_heavy(zones: Zones, catalog: Catalog) -> None:
    env = {**os.environ, CATALOG_DIR_ENV: str(DEFAULT_CATALOG_DIR)}  # every agency's datasets
    result = subprocess.run([sys.executable, "-c", PARSE_PROBE], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["heavy"] == [], f"the DAG file imported {probe['heavy']} at parse time"
    assert probe["seconds"] < MAX_PARSE_SECONDS, f"parsing took {probe['seconds']:.2f} s"
    assert probe["dags"] == sorted(["build_warehouse", "publish", *(entry.ingest_dag_id for entry in catalog.datasets)])


def test_one_ingest_dag_per_catalog_dataset(dags: dict, catalog: Catalog) -> None:
    expected = {entry.ingest_dag_id for entry in catalog.datasets} | {"build_warehouse", "publish"}
    assert set(dags) == expected
    for entry in catalog.datasets:
        dag = dags[entry.ingest_dag_id]
        assert [task.task_id for task in dag.tasks] == ["extract_load", "validate_raw"]
        assert produced_assets(dag) == {entry.raw_asset}
        assert dag.catchup is False and dag.max_active_runs == 1


def test_file_drop_datasets_are_scheduled_on_a_drop_folder_watcher(dags: dict, catalog: Catalog) -> None:
    entry = catalog.dataset("disdik__sekolah")
    assert entry.spec.trigger.by == "file_drop"
    condition = dags[entry.ingest_dag_id].timetable.asset_condition
    (asset,) = condition.objects
    assert asset.name == f"drop__{entry.id}"
    (watcher,) = asset.watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "orchestration.triggers.DropFolderTrigger"
    assert kwargs["pattern"] == entry.spec.source.pattern
    assert kwargs["agency"] == "disdik" and kwargs["dataset"] == "sekolah"
    assert kwargs["poll_seconds"] == entry.spec.trigger.poll_seconds
    assert kwargs["data_dir"] == os.environ["SATUDATA_DATA_DIR"]


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (Trigger(by="schedule", schedule="0 6 * * 1"), "0 6 * * 1"),
        (Trigger(by="asset_event"), {"signal__disdik__sekolah"}),
    ],
)
def test_other_trigger_kinds(catalog: Catalog, trigger: Trigger, expected: object) -> None:
    module = _load_dag_module()
    original = catalog.dataset("disdik__sekolah")
    entry = DatasetEntry(original.agency, original.name, original.spec.model_copy(update={"trigger": trigger}),
                         original.path)
    dag = module._ingest_dag(entry, Zones.from_env())
    if isinstance(expected, str):
        assert dag.timetable.expression == expected
        assert consumed_assets(dag) == set()
    else:
        assert consumed_assets(dag) == expected


def test_consumers_and_the_chain_order_follow_the_assets(dags: dict, catalog: Catalog) -> None:
    raw_assets = {entry.raw_asset for entry in catalog.datasets}
    build, publish = dags["build_warehouse"], dags["publish"]
    assert consumed_assets(build) == raw_assets
    assert type(build.timetable.asset_condition).__name__ == "AssetAny"
    assert produced_assets(build) == {WAREHOUSE_ASSET}
    assert consumed_assets(publish) == {WAREHOUSE_ASSET}
    assert produced_assets(publish) == {RELEASE_ASSET}
    assert publish.get_task("audit").downstream_task_ids == {"publish"}
    assert publish.get_task("audit").outlets == []
    for dag in (build, publish):
        assert dag.max_active_runs == 1 and dag.catchup is False

    ingests = sorted(entry.ingest_dag_id for entry in catalog.datasets)
    assert chain_order(dags) == [*ingests, "build_warehouse", "publish"]
    assert root_dags(dags) == set(ingests)


def test_asset_names_walks_nested_conditions() -> None:
    from airflow.sdk import Asset

    condition = (Asset("a") | Asset("b")) & Asset("c")
    assert asset_names(condition) == {"a", "b", "c"}
    assert asset_names(None) == set()
